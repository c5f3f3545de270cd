"""``importApiGateway --api-id X --stage S [--name N] [--domain-name D]``: record an API that
exists in AWS."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.aws.adopt import adopt
from django_aws_api_gateway_websockets.aws.remote import ApiGatewaySyncError
from django_aws_api_gateway_websockets.models import ApiGateway


class Command(BaseCommand):
    help = (
        "Record in Django a WebSocket API that exists in AWS (created from exportApiGateway's "
        "template, say): reads the API, its deployed stage, routes, integrations and the "
        "gateway secret back from AWS and stores them with their ids. Changes nothing in AWS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api-id", required=True, help="The API's id in AWS.")
        parser.add_argument("--stage", required=True, help="The deployed stage's name.")
        parser.add_argument("--name", help="The record's api_name (default: the API's Name).")
        parser.add_argument("--default-channel-name", default="", help="As on the record.")
        parser.add_argument(
            "--domain-name",
            default="",
            help="The custom domain mapped to the stage, if any: recorded with its mapping.",
        )

    def handle(self, *args: Any, api_id: str, stage: str, **options: Any) -> None:
        try:
            gateway, changes = adopt(
                ApiGateway,
                api_id,
                stage,
                domain_name=options.get("domain_name") or "",
                api_name=options.get("name"),
                default_channel_name=options.get("default_channel_name") or "",
            )
        except (ValueError, ApiGatewaySyncError) as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError(f"API {api_id} cannot be recorded: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"{gateway}: recorded API {api_id} (pk {gateway.pk}).")
        )
        for change in changes:
            self.stdout.write(f"  {change}")
        self.stdout.write(f"checkApiGateway --pk {gateway.pk} shows whatever still differs.")
