"""The one rule that decides when a saved or deleted record goes to AWS, and how it goes.

A save or a delete of an ``ApiGateway`` or an ``ApiGatewayAdditionalRoute`` goes to AWS when,
and only when, all three hold:

1. its gateway is deployed (``is_deployed``: created in AWS by this package, or adopted, with a
   deployment; records made by hand, as the testing guide makes them, never are);
2. it changes what AWS holds: a field AWS holds differs from the value loaded from the
   database, a route not yet in AWS (``deployed`` False) is saved, or a route in AWS is
   deleted;
3. pushing is on: ``save(push_to_aws=...)`` / ``delete(push_to_aws=...)`` when given, else
   ``WEBSOCKETS["push_changes_to_aws"]``.

It goes once the saving transaction commits (at once when none is open), so AWS is never
called while the caller holds row locks, and a rollback never leaves AWS changed. A save with
``update_fields`` follows the same rule. A failure is recorded in the gateway's
``last_error`` and raised as ``ApiGatewaySyncError`` where the commit happened, unless
``deferred.collecting_errors()`` is active (the admin turns failures into messages).

The explicit actions (``create_gateway``, ``create_custom_domain``, ``sync_to_aws``,
``sync_from_aws``, ``rotate_gateway_secret``, the management commands and the admin actions of
the same names) always call AWS: they are the request. The model, the admin (which saves
through the model) and the commands follow this rule and no other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import transaction

from ..conf import app_settings
from . import deferred
from .remote import AWS_ERRORS, ApiGatewaySyncError, describe_error, reporting_errors

if TYPE_CHECKING:
    from ..models import ApiGateway

logger = logging.getLogger(__name__)


def push_enabled(push_to_aws: bool | None) -> bool:
    """An explicit ``push_to_aws`` wins; else ``WEBSOCKETS["push_changes_to_aws"]`` (4.x)."""
    return app_settings.push_changes_to_aws if push_to_aws is None else bool(push_to_aws)


def applies(gateway: ApiGateway | None, changes_aws: bool, push_to_aws: bool | None) -> bool:
    """The rule above: deployed, changes what AWS holds, pushing on."""
    return gateway is not None and gateway.is_deployed and changes_aws and push_enabled(push_to_aws)


def after_commit(
    record: object, gateway: ApiGateway, doing: str, operation: Callable[[], Any]
) -> None:
    """Run ``operation`` (an AWS change of ``record``, of ``gateway``) once it commits."""
    transaction.on_commit(_runner(record, gateway, doing, operation))


def after_commit_batched(
    gateway: ApiGateway,
    doing: str,
    item: Any,
    operation: Callable[[list[Any]], Any],
    record: object = None,
) -> None:
    """As ``after_commit``, once for every ``item`` of one transaction and gateway.

    A queryset delete of many routes then deploys the stage once, not once per route
    (CreateDeployment is throttled to one request every few seconds). A refusal names
    ``record`` (the route) when the batch holds one item, else the gateway.
    """
    connection = transaction.get_connection()
    batches = connection.__dict__.setdefault("_aws_push_batches", {})
    key = (doing, gateway.pk)
    batch = batches.get(key)
    # Still queued (not run, not discarded with a rolled-back transaction): join it.
    if batch is not None and any(entry[1] is batch[0] for entry in connection.run_on_commit):
        batch[1].append(item)
        return
    items = [item]

    def run_batch() -> None:
        batches.pop(key, None)
        operation(items)

    def runner() -> None:
        named = record if record is not None and len(items) == 1 else gateway
        _runner(named, gateway, doing, run_batch)()

    batches[key] = (runner, items)
    transaction.on_commit(runner)


def _runner(
    record: object, gateway: ApiGateway, doing: str, operation: Callable[[], Any]
) -> Callable[[], None]:
    """The on-commit callback: the outcome in ``last_error``, a refusal for ``deferred``."""

    def push() -> None:
        try:
            with recording_outcome(gateway), reporting_errors():
                operation()
        except ApiGatewaySyncError as error:
            logger.warning("%r: %s failed in AWS: %s", gateway.api_name, doing, error)
            raise

    return deferred.reported(record, push)


@contextmanager
def recording_outcome(gateway: ApiGateway) -> Iterator[None]:
    """An AWS call's outcome in ``gateway.last_error``: set on failure, cleared on success.

    The error itself goes on as it came (provisioning raises boto3's, sync its own).
    """
    try:
        yield
    except (*AWS_ERRORS, ApiGatewaySyncError) as error:
        gateway.record(last_error=describe_error(error)[:255])
        raise
    if gateway.last_error:
        gateway.record(last_error="")
