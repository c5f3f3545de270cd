from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_aws_api_gateway_websockets.cleanup import (
    delete_expired_tokens,
    delete_old_rate_limits,
    token_cleanup_age,
)
from django_aws_api_gateway_websockets.conf import app_settings


class Command(BaseCommand):
    help = "Delete used or expired connect tokens and old connection-attempt rows, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--token-age",
            type=int,
            default=app_settings.token_max_age_seconds,
            help="Delete tokens older than this many seconds (used ones go at any age; unused "
            'ones never before WEBSOCKETS["token_expiry_seconds"], while they are still valid).',
        )
        parser.add_argument(
            "--rate-limit-age",
            type=int,
            default=app_settings.rate_limit_retention_days,
            help="Delete connection attempts older than this many days.",
        )

    def handle(self, *args: Any, token_age: int, rate_limit_age: int, **options: Any) -> None:
        tokens = delete_expired_tokens(token_age)
        self.stdout.write(
            self.style.SUCCESS(
                f"Successfully deleted {tokens} used or expired WebSocket tokens "
                f"(older than {token_cleanup_age(token_age)}s)"
            )
        )
        attempts = delete_old_rate_limits(rate_limit_age)
        self.stdout.write(
            self.style.SUCCESS(
                f"Successfully deleted {attempts} old rate limit records "
                f"(older than {rate_limit_age} days)"
            )
        )
