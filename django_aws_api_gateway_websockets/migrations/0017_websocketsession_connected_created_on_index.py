from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0016_deliveryreport_deliverybatch")]

    # Cleanup finds disconnected and over-age sessions through this index.
    operations = [
        migrations.AddIndex(
            model_name="websocketsession",
            index=models.Index(fields=["connected", "created_on"], name="django_aws__connect_247f4e_idx"),
        ),
    ]
