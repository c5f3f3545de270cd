from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class DjangoAwsApiGatewayWebsocketsConfig(AppConfig):
    name = "django_aws_api_gateway_websockets"
    verbose_name = "Django AWS ApiGateway Websockets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        if apps.is_installed("django_celery_beat"):
            post_migrate.connect(install_schedules_after_migrate, dispatch_uid=self.name)


def install_schedules_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    # post_migrate fires once per app; by django_celery_beat's turn its tables exist.
    if sender.name == "django_celery_beat":
        from .schedules import install_default_schedules

        install_default_schedules()
