from django.db import migrations, models

from ._operations import RemoveIndexIfPresent


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0007_connectionratelimit_websockettoken")]

    operations = [
        migrations.AlterModelTable(
            name="connectionratelimit", table="django_aws_api_gateway_websockets_connectionratelimit"
        ),
        migrations.AlterModelTable(
            name="websockettoken", table="django_aws_api_gateway_websockets_websockettoken"
        ),
        RemoveIndexIfPresent(model_name="connectionratelimit", name="connection__ip_addr_636400_idx"),
        RemoveIndexIfPresent(model_name="connectionratelimit", name="connection__user_id_fa2960_idx"),
        migrations.AddIndex(
            model_name="connectionratelimit",
            index=models.Index(fields=["ip_address", "attempt_time"], name="idx_ip_attempt_time"),
        ),
        migrations.AddIndex(
            model_name="connectionratelimit",
            index=models.Index(fields=["user", "attempt_time"], name="idx_user_attempt_time"),
        ),
        migrations.AddIndex(
            model_name="websockettoken",
            index=models.Index(fields=["token", "used"], name="idx_websocket_tokens_used"),
        ),
    ]
