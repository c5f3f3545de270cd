from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0013_apigatewayadditionalroute_aws_ids")]

    operations = [
        migrations.AddField(
            model_name="websocketsession",
            name="auth_hash",
            field=models.CharField(blank=True, default="", help_text="Keyed hash of the user's login: a password change closes the connection.", max_length=64),
        ),
        migrations.AddField(
            model_name="websocketsession",
            name="session_key_hash",
            field=models.CharField(blank=True, db_index=True, default="", help_text="Keyed hash of the Django session that connected: logging out closes it.", max_length=64),
        ),
    ]
