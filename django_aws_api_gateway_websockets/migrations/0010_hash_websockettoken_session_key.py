from django.db import migrations, models


def delete_tokens_holding_raw_session_keys(apps, schema_editor):
    # Tokens from before this migration hold a raw session key, which no longer matches the
    # stored hash; they live for a minute anyway. Deleting them also removes the credentials.
    tokens = apps.get_model("django_aws_api_gateway_websockets", "WebSocketToken")
    tokens.objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0009_alter_connectionratelimit_table_and_more")]

    operations = [
        migrations.RunPython(delete_tokens_holding_raw_session_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="websockettoken",
            name="session_key",
            field=models.CharField(db_index=True, help_text="Keyed hash of the Django session key.", max_length=64),
        ),
    ]
