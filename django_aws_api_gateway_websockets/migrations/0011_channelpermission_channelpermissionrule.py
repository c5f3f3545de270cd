import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_aws_api_gateway_websockets", "0010_hash_websockettoken_session_key"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChannelPermission",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel_name", models.CharField(help_text="The channel this rule governs.", max_length=128, unique=True, validators=[django.core.validators.RegexValidator("^[a-zA-Z0-9_-]+$", "Letters, digits, '_' and '-' only.")])),
                ("access", models.CharField(choices=[("allow_all", "Allow all"), ("superuser_only", "Super admin only"), ("staff_only", "Staff only"), ("permissions", "Requires Django permissions")], default="allow_all", help_text="Who may join. With permissions, a user needs every permission of any one rule.", max_length=16)),
                ("description", models.CharField(blank=True, default="", max_length=255)),
                ("created_on", models.DateTimeField(auto_now_add=True)),
                ("updated_on", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["channel_name"]},
        ),
        migrations.CreateModel(
            name="ChannelPermissionRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel_permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="rules", to="django_aws_api_gateway_websockets.channelpermission")),
                ("permissions", models.ManyToManyField(blank=True, help_text="The user needs all of these.", related_name="channel_permission_rules", to="auth.permission")),
            ],
            options={"ordering": ["pk"]},
        ),
    ]
