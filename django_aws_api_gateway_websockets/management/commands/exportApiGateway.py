"""``exportApiGateway --pk N --format cloudformation|iam-policy [--output FILE]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.aws.export import cloudformation_template, iam_policy
from django_aws_api_gateway_websockets.conf import app_settings

from ._provision import gateway_or_error


class Command(BaseCommand):
    help = (
        "Write the CloudFormation template (JSON) of exactly what createApiGateway and "
        "createCustomDomain create for one ApiGateway, or the least-privilege IAM policy that "
        "the web process, the workers and provisioning need. Calls no AWS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pk", type=int, required=True, help="The ApiGateway's primary key.")
        parser.add_argument(
            "--format", choices=["cloudformation", "iam-policy"], default="cloudformation"
        )
        parser.add_argument("--output", help="Write here instead of standard output.")
        parser.add_argument(
            "--account-id",
            default="*",
            help="The AWS account in the policy's execute-api ARNs (default: any).",
        )
        parser.add_argument(
            "--region", help="The policy's Region (default: AWS_GATEWAY_REGION_NAME)."
        )

    def handle(self, *args: Any, pk: int, **options: Any) -> None:
        gateway = gateway_or_error(pk)
        if options["format"] == "cloudformation":
            if not gateway.target_base_endpoint:
                raise CommandError(f"{gateway}: a target base endpoint is required.")
            document = cloudformation_template(gateway)
        else:
            region = options.get("region") or app_settings.aws_region
            if not region:
                raise CommandError("Give --region, or set AWS_GATEWAY_REGION_NAME.")
            document = iam_policy(gateway, region, options["account_id"])
        text = json.dumps(document, indent=2) + "\n"
        if options.get("output"):
            Path(options["output"]).write_text(text)
            self.stderr.write(f"{gateway}: {options['format']} written to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
