from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from django_aws_api_gateway_websockets.cleanup import delete_stale_sessions


class Command(BaseCommand):
    help = (
        "Delete sessions marked disconnected and those older than API Gateway's connection "
        "limit, in bounded batches (the same work as the cleanup_sessions task)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = delete_stale_sessions()
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} stale WebSocket sessions"))
