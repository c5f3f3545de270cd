"""Periodic cleanup, shared by the beat tasks and the management commands.

Every function deletes in bounded batches by primary key (``models.deletion``), so no
statement holds locks for long however many rows are due, and running it twice removes
nothing more. ``probe_idle_sessions`` asks API Gateway about idle connections, so one whose
``$disconnect`` never came leaves presence long before the 2-hour limit.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.db.models import Q
from django.utils import timezone

from . import signals
from .aws.clients import management_client
from .aws.outcomes import Outcome, classify, error_code
from .boto3_factory import is_valid_api_id, management_endpoint
from .conf import app_settings
from .delivery import budget
from .models import (
    ConnectionRateLimit,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
    mark_gone,
)
from .models.deletion import delete_in_batches
from .models.state import API_COMPLETE

logger = logging.getLogger(__name__)


def delete_stale_sessions() -> int:
    """Sessions marked disconnected, and those older than API Gateway's connection limit.

    ``$disconnect`` is best-effort in AWS, so age is the backstop for rows it never reached:
    those are marked gone first (``mark_gone``: their signals and presence), then deleted.
    """
    cutoff = timezone.now() - timedelta(seconds=app_settings.connection_max_age_seconds)
    mark_gone(WebSocketSession.objects.filter(created_on__lt=cutoff), signals.REASON_EXPIRED)
    stale = WebSocketSession.objects.filter(Q(connected=False) | Q(created_on__lt=cutoff))
    return delete_in_batches(stale, "stale WebSocket sessions")


def probe_idle_sessions() -> int:
    """Ask API Gateway about connected sessions idle for ``presence_probe_idle_seconds``;
    mark those it reports gone (``REASON_GONE``) and return how many were.

    GetConnection (``GET @connections/{id}``) answers 410 ``GoneException`` for a connection
    that no longer exists ("Use @connections commands in your backend service",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html;
    boto3's get_connection, whose errors include GoneException,
    https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/apigatewaymanagementapi/client/get_connection.html).
    Live ones get ``updated_on`` touched (one UPDATE a batch), so they are asked again only
    after another idle period. Only sessions of a deployed gateway are asked (``is_deployed``:
    an API id and a deployment): records made by hand (the testing guide's) have no API in
    AWS, and the ``clearWebSocketSessions`` command (4.x: deletion only) never asks. Any
    other answer leaves the session as it is, logged; a throttled one ends the run, which
    spares the account's request budget (the next run carries on). Every call draws from the
    account's budget that the sends' posts draw from (``delivery.budget``): AWS throttles
    every API of an account and Region together, so a probe run slows the posts of a
    broadcast instead of competing with them, and its 429 slows them too.
    """
    now = timezone.now()
    idle = now - timedelta(seconds=app_settings.presence_probe_idle_seconds)
    # API Gateway answers 410 until $connect has returned (gone_grace_seconds, delivery).
    connecting = now - timedelta(seconds=app_settings.gone_grace_seconds)
    candidates = (
        WebSocketSession.objects.filter(
            connected=True,
            updated_on__lt=idle,
            created_on__lt=connecting,
            api_gateway__provisioning_status__in=API_COMPLETE,
        )
        # ApiGateway.is_deployed in SQL: records made by hand have no API in AWS to ask.
        .exclude(api_gateway__api_id__isnull=True)
        .exclude(api_gateway__api_id="")
        .exclude(api_gateway__deployment_id__isnull=True)
        .exclude(api_gateway__deployment_id="")
        .order_by("pk")
    )
    size = app_settings.cleanup_batch_size
    cursor = 0
    total = 0
    while True:
        batch = list(
            candidates.filter(pk__gt=cursor).values_list(
                "pk", "connection_id", "api_gateway__api_id", "api_gateway__stage_name"
            )[:size]
        )
        if not batch:
            return total
        cursor = batch[-1][0]
        gone: list[int] = []
        alive: list[int] = []
        throttled = False
        for pk, connection_id, api_id, stage in batch:
            if not is_valid_api_id(api_id) or stage is None:
                continue
            outcome = _probe(management_endpoint(api_id, stage), connection_id)
            if outcome is Outcome.GONE:
                gone.append(pk)
            elif outcome is Outcome.DELIVERED:
                alive.append(pk)
            elif outcome is Outcome.THROTTLED:
                throttled = True
                break
        if alive:
            WebSocketSession.objects.filter(pk__in=alive, connected=True).update(
                updated_on=timezone.now()
            )
        if gone:
            total += mark_gone(WebSocketSession.objects.filter(pk__in=gone), signals.REASON_GONE)
        if throttled or len(batch) < size:
            if total:
                logger.info("Presence probe: %d connections gone", total)
            return total


def _probe(endpoint: str, connection_id: str) -> Outcome:
    """What GetConnection says of one connection (``DELIVERED``: it is there)."""
    client = management_client(endpoint)
    spend = budget.for_poster(client)
    spend.take()
    try:
        client.get_connection(ConnectionId=connection_id)
    except (ClientError, BotoCoreError) as exc:
        outcome = classify(exc)
        if outcome is Outcome.THROTTLED:
            spend.throttled()
        if outcome is not Outcome.GONE:
            logger.warning(
                "Presence probe of %s: %s (%s); left as it is",
                connection_id,
                error_code(exc),
                outcome.value,
            )
        return outcome
    return Outcome.DELIVERED


def token_cleanup_age(max_age_seconds: int | None = None) -> int:
    """The age past which unused tokens are deleted: ``max_age_seconds`` (default
    ``token_max_age_seconds``), but never less than ``token_expiry_seconds``, so that a token
    still valid for connecting is never deleted (as 4.x's command made sure)."""
    age = app_settings.token_max_age_seconds if max_age_seconds is None else max_age_seconds
    return max(age, app_settings.token_expiry_seconds)


def delete_expired_tokens(max_age_seconds: int | None = None) -> int:
    """Connect tokens that were used, or are older than ``token_cleanup_age(max_age_seconds)``."""
    return WebSocketToken.cleanup_expired(token_cleanup_age(max_age_seconds))


def delete_old_rate_limits(days: int | None = None) -> int:
    """Connection attempts older than ``days``."""
    age = app_settings.rate_limit_retention_days if days is None else days
    return ConnectionRateLimit.cleanup_old_records(age)


def delete_old_reports(days: int | None = None) -> int:
    """Finished delivery reports older than ``days``."""
    age = app_settings.report_retention_days if days is None else days
    cutoff = timezone.now() - timedelta(days=age)
    old = DeliveryReport.objects.filter(finished__isnull=False, created_on__lt=cutoff)
    return delete_in_batches(old, "old delivery reports")
