"""Which sessions a send is for, in a form small enough to travel to the worker.

A selection never holds the recipients themselves: the worker resolves it page by page, so
queueing a send costs the same for one recipient as for a million. It holds no code either:
a queryset travels as the SQL of its primary-key subquery and that query's parameters,
which a worker can only run as ``pk IN (subquery)`` — no pickle, nothing tied to the
Django version that built it.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

Selection = dict[str, Any]
_QS = TypeVar("_QS", bound=QuerySet[Any])

_SALT = "django_aws_api_gateway_websockets.selection"
# Django's default; named because the signature is checked apart from the value it signs.
_SEPARATOR = ":"

# Query parameters JSON cannot carry as they are, tagged so the worker rebuilds the same
# value (a datetime compared as a string would not match on every database): tag -> (type,
# to text, from text), most specific type first (a datetime is also a date).
_TAGGED: dict[str, tuple[type, Callable[[Any], str], Callable[[str], Any]]] = {
    "datetime": (datetime.datetime, datetime.datetime.isoformat, datetime.datetime.fromisoformat),
    "date": (datetime.date, datetime.date.isoformat, datetime.date.fromisoformat),
    "time": (datetime.time, datetime.time.isoformat, datetime.time.fromisoformat),
    "decimal": (decimal.Decimal, str, decimal.Decimal),
    "uuid": (uuid.UUID, str, uuid.UUID),
}


def structured(
    filters: dict[str, Any], excludes: dict[str, Any], channel: str | None = None
) -> Selection:
    """A selection of plain field lookups, readable in the admin; ``channel``: its members
    (connect-time channel or subscription, each connection once; ``in_channel``).
    """
    selection: Selection = {"filter": filters, "exclude": excludes}
    if channel is not None:
        selection["channel"] = channel
    return selection


def nobody() -> Selection:
    """A selection of no session (a queryset that can match nothing, such as ``pk__in=[]``)."""
    return structured({"pk__in": []}, {})


def from_queryset(queryset: QuerySet) -> Selection:
    """A selection carrying the SQL and parameters of ``queryset``'s primary keys.

    Signed with ``SECRET_KEY``, so that a worker runs only subqueries this app compiled.
    A queryset Django knows to be empty compiles to no SQL at all: it selects nobody.
    """
    query = queryset if queryset.query.is_sliced else queryset.order_by()
    try:
        sql, params = query.values("pk").query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return nobody()
    encoded = [_encode(value) for value in params]
    signature = signing.Signer(salt=_SALT, sep=_SEPARATOR).signature(_canonical(sql, encoded))
    return {"sql": sql, "params": encoded, "signature": signature}


def apply(selection: Selection, sessions: _QS) -> _QS:
    """Narrow ``sessions`` (all of them) to ``selection``'s query or lookups.

    Its channel, when it names one, is the sessions' own filter (``selected``, which applies
    ``WebSocketSessionQuerySet.in_channel`` after this).

    ``signing.BadSignature`` when a query's signature matches neither ``SECRET_KEY`` nor
    any of ``SECRET_KEY_FALLBACKS`` (Django's ``Signer`` checks both): it can never be run.
    """
    if "sql" in selection:
        sql, params = selection["sql"], selection["params"]
        signed = f"{_canonical(sql, params)}{_SEPARATOR}{selection.get('signature', '')}"
        try:
            signing.Signer(salt=_SALT, sep=_SEPARATOR).unsign(signed)
        except signing.BadSignature:
            raise signing.BadSignature(
                "The selection's query was not signed by this app with SECRET_KEY or any "
                "of SECRET_KEY_FALLBACKS."
            ) from None
        return sessions.filter(pk__in=RawSQL(sql, [_decode(value) for value in params]))
    return sessions.filter(**selection["filter"]).exclude(**selection["exclude"])


def describe(selection: Selection) -> str:
    """A short human description for reports and logs."""
    if "sql" in selection:
        return f"queryset: {selection['sql']}"[:255]
    parts = [f"channel={selection['channel']}"] if "channel" in selection else []
    parts += [f"{k}={v}" for k, v in selection["filter"].items()]
    parts = parts or ["everyone"]
    parts += [f"not {k}={v}" for k, v in selection["exclude"].items()]
    return ", ".join(parts)[:255]


def _canonical(sql: str, params: list[Any]) -> str:
    return json.dumps([sql, params], sort_keys=True, separators=(",", ":"))


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    for tag, (kind, to_text, _) in _TAGGED.items():
        if isinstance(value, kind):
            return {tag: to_text(value)}
    raise TypeError(
        f"Cannot send to this queryset: its query has a {type(value).__name__} parameter, "
        "which cannot travel to the worker. Filter on plain values instead."
    )


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        return _TAGGED[tag][2](text)
    return value
