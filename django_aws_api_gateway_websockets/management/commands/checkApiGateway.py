"""``checkApiGateway --pk N``: what the deployed API lacks, route by route. Changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.aws.remote import ApiGatewaySyncError
from django_aws_api_gateway_websockets.aws.sync import check

from ._provision import gateway_or_error


class Command(BaseCommand):
    help = (
        "Read a deployed API Gateway back from AWS and list, route by route, what differs "
        "either way: what AWS lacks of the records and this package's needs, and what AWS has "
        "that no record describes. Exits non-zero when anything does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pk", type=int, required=True, help="The ApiGateway's primary key.")

    def handle(self, *args: Any, pk: int, **options: Any) -> None:
        gateway = gateway_or_error(pk)
        if not gateway.is_deployed:
            raise CommandError(f"{gateway}: not deployed (run createApiGateway --pk {pk}).")
        try:
            differences = check(gateway)
        except ApiGatewaySyncError as exc:
            raise CommandError(f"{gateway}: reading API {gateway.api_id} failed ({exc}).") from exc
        if not differences:
            self.stdout.write(self.style.SUCCESS(f"{gateway} ({gateway.api_id}): all good."))
            return
        by_route: dict[str, list[str]] = {}
        for difference in differences:
            by_route.setdefault(difference.route_key or "API", []).append(difference.problem)
        self.stdout.write(f"{gateway} ({gateway.api_id}):")
        for route_key, problems in by_route.items():
            self.stdout.write(f"  {route_key}")
            for problem in problems:
                self.stdout.write(f"    - {problem}")
        raise CommandError(
            f"{len(differences)} difference(s); 'Sync to AWS' (or "
            f"updateApiGatewayIntegrations --pk {pk}) brings AWS in line with the records, "
            "'Sync from AWS' the records in line with AWS."
        )
