"""Every gateway gets a secret; columns 4.1.0's INSERTs do not name get database defaults.

Gateways without any secret get a pending one: accepted by the views, but never taken for
the secret AWS sends until a push (``updateApiGatewayIntegrations``, Sync to AWS) has given
it to every integration and deployed. So a gateway already live in AWS is not locked out.
``db_default``: 4.1.0 processes still running mid-rollout, or after a rollback, insert
gateways and routes naming only 4.1.0's columns.
"""

import secrets

from django.db import migrations, models


def give_pending_secrets(apps, schema_editor):
    gateway_model = apps.get_model("django_aws_api_gateway_websockets", "ApiGateway")
    gateways = gateway_model.objects.using(schema_editor.connection.alias)
    unprotected = gateways.filter(gateway_secret="", pending_gateway_secret="")
    for pk in unprotected.values_list("pk", flat=True):
        # As gateway_secrets.new_secret (migrations do not import app code that may change).
        gateways.filter(pk=pk).update(pending_gateway_secret=secrets.token_urlsafe(32))


class Migration(migrations.Migration):

    dependencies = [
        ('django_aws_api_gateway_websockets', '0020_admin_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='apigateway',
            name='pending_gateway_secret',
            field=models.CharField(blank=True, db_default='', default='', editable=False, help_text='A new secret not yet known to be in AWS: accepted, and made the gateway secret once a push to every integration succeeded.', max_length=128),
        ),
        migrations.AlterField(
            model_name='apigateway',
            name='gateway_secret',
            field=models.CharField(blank=True, db_default='', default='', help_text='The secret API Gateway sends as a static header on every integration request, recorded once AWS has it.', max_length=128),
        ),
        migrations.AlterField(
            model_name='apigateway',
            name='previous_gateway_secret',
            field=models.CharField(blank=True, db_default='', default='', help_text='The secret before the last rotation, accepted until every integration sends the new one.', max_length=128),
        ),
        migrations.AlterField(
            model_name='apigatewayadditionalroute',
            name='route_response',
            field=models.BooleanField(db_default=True, default=True, help_text="Send the handler's reply back to the client (an API Gateway route response)."),
        ),
        migrations.RunPython(give_pending_secrets, migrations.RunPython.noop),
    ]
