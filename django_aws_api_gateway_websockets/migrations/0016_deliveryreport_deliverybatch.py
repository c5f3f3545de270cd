# The first migration of this package's own: 0001-0015 follow 4.x.

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0015_alter_apigateway_provisioning_status")]

    operations = [
        migrations.CreateModel(
            name="DeliveryReport",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("description", models.CharField(blank=True, default="", max_length=255)),
                ("payload", models.TextField(help_text="The JSON posted to each connection.")),
                ("selection", models.JSONField(help_text="Which sessions receive it, resolved by the worker.")),
                ("planned", models.BooleanField(default=False, help_text="Every recipient has been assigned to a batch.")),
                ("plan_cursor", models.BigIntegerField(default=0)),
                ("batches_pending", models.IntegerField(default=0)),
                ("recipients", models.PositiveIntegerField(default=0)),
                ("delivered", models.PositiveIntegerField(default=0)),
                ("gone", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("retried", models.PositiveIntegerField(default=0)),
                ("created_on", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("started", models.DateTimeField(blank=True, null=True)),
                ("finished", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_on"],
                "indexes": [models.Index(fields=["finished", "created_on"], name="django_aws__finishe_fba80c_idx")],
            },
        ),
        migrations.CreateModel(
            name="DeliveryBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_ids", models.JSONField()),
                ("pending", models.JSONField(help_text="Session ids still to post on the next attempt.")),
                ("attempt", models.PositiveSmallIntegerField(default=0)),
                ("done", models.BooleanField(default=False)),
                ("delivered", models.PositiveIntegerField(default=0)),
                ("gone", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("updated_on", models.DateTimeField(auto_now=True)),
                ("report", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="batches", to="django_aws_api_gateway_websockets.deliveryreport")),
            ],
            options={
                "verbose_name_plural": "delivery batches",
                "indexes": [models.Index(fields=["done", "updated_on"], name="django_aws__done_6c0b87_idx")],
            },
        ),
    ]
