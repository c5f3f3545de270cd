"""``updateApiGatewayIntegrations [--pk N] [--dry-run]`` (4.1.0's command and arguments)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.aws.remote import ApiGatewaySyncError
from django_aws_api_gateway_websockets.aws.sync import update_integrations
from django_aws_api_gateway_websockets.models import ApiGateway


class Command(BaseCommand):
    help = (
        "Bring the request parameters of deployed API Gateways' integrations up to date (the "
        "gateway's own secret, connection id, source IP, API id), then deploy the stage."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pk", type=int, help="Only the ApiGateway with this primary key.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; change nothing."
        )

    def handle(self, *args: Any, pk: int | None = None, dry_run: bool = False, **options: Any):
        gateways = ApiGateway.objects.filter(api_created=True).order_by("pk")
        if pk is not None:
            gateways = gateways.filter(pk=pk)
        failed = []
        for gateway in gateways:
            if not gateway.is_deployed:
                self.stdout.write(f"{gateway}: not deployed; skipped.")
                continue
            try:
                changes = update_integrations(gateway, dry_run=dry_run)
            except ApiGatewaySyncError as exc:
                self.stderr.write(f"{gateway}: AWS returned {exc}")
                failed.append(gateway.api_name)
                continue
            verb = "would change" if dry_run else "changed"
            if not changes:
                self.stdout.write(f"{gateway}: up to date.")
            for change in changes:
                self.stdout.write(f"{gateway}: {verb} {change}")
        if failed:
            raise CommandError(f"Failed for: {', '.join(failed)}")
