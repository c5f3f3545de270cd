from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate


class DjangoAwsApiGatewayWebsocketsConfig(AppConfig):
    name = "django_aws_api_gateway_websockets"
    verbose_name = "Django AWS ApiGateway Websockets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .channels import receivers  # noqa: F401  (presence events follow the signals)
        from .gauges import register as register_gauges
        from .tasks import warm_up_publishing

        register_gauges()
        warm_up_publishing()

        if apps.is_installed("django_celery_beat"):
            post_migrate.connect(install_schedules_after_migrate, dispatch_uid=self.name)


def install_schedules_after_migrate(
    sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any
) -> None:
    # post_migrate fires once per installed app after every migrate, even one that migrated
    # only other apps (``migrate django_aws_api_gateway_websockets``, as when upgrading from
    # 4.x): install only once django_celery_beat's tables exist on the default database.
    if sender.name != "django_celery_beat" or using != DEFAULT_DB_ALIAS:
        return
    from django_celery_beat.models import PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return
    from .schedules import install_default_schedules

    install_default_schedules()
