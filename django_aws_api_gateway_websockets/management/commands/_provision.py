"""What the gateway commands share: find the gateway by pk, call AWS, report."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.models import ApiGateway


def gateway_or_error(pk: int) -> ApiGateway:
    gateway = ApiGateway.objects.filter(pk=pk).first()
    if gateway is None:
        raise CommandError(f"No ApiGateway with pk {pk}.")
    return gateway


class ProvisionCommand(BaseCommand):
    method: str
    what: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pk", type=int, required=True, help="The ApiGateway's primary key.")

    def handle(self, *args: Any, pk: int, **options: Any) -> None:
        gateway = gateway_or_error(pk)
        try:
            created = getattr(gateway, self.method)()
        except ValueError as exc:
            raise CommandError(f"{gateway}: {exc}") from exc
        if created:
            self.stdout.write(self.style.SUCCESS(f"{gateway}: {self.what} created."))
        else:
            self.stdout.write(f"{gateway}: {self.what} already existed; nothing done.")
