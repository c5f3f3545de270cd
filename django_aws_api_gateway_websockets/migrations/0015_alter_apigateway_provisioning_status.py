from django.db import migrations


class Migration(migrations.Migration):
    """In 4.x this added the "creating" choice; 0012 here has it already, so nothing is left."""

    dependencies = [("django_aws_api_gateway_websockets", "0014_websocketsession_auth_hash_and_more")]

    operations = []
