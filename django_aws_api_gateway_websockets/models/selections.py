"""Which sessions a send is for, in a form small enough to travel to the worker.

A selection never holds the recipients themselves: the worker resolves it page by page, so
queueing a send costs the same for one recipient as for a million.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core import signing
from django.db.models import QuerySet

Selection = dict[str, Any]

_SALT = "django_aws_api_gateway_websockets.selection"


def structured(filters: dict[str, Any], excludes: dict[str, Any]) -> Selection:
    """A selection of plain field lookups, readable in the admin."""
    return {"filter": filters, "exclude": excludes}


def from_queryset(queryset: QuerySet) -> Selection:
    """A selection carrying a signed pickle of the queryset's query, as Django allows.

    The signature (``SECRET_KEY``) keeps anyone who can write to the broker from making a
    worker unpickle data of their own.
    """
    if queryset.query.is_sliced or queryset.query.distinct_fields:
        # Keyset pagination needs to add ``pk > cursor``, which a sliced query refuses.
        queryset = queryset.model._default_manager.filter(pk__in=queryset.values("pk"))
    pickled = base64.b64encode(pickle.dumps(queryset.order_by().query)).decode("ascii")
    return {"query": signing.Signer(salt=_SALT).sign(pickled), "sql": str(queryset.query)[:500]}


def apply(selection: Selection, sessions: QuerySet) -> QuerySet:
    """Narrow ``sessions`` (all of them) to what ``selection`` stands for."""
    if "query" in selection:
        pickled = signing.Signer(salt=_SALT).unsign(selection["query"])
        sessions.query = pickle.loads(base64.b64decode(pickled))
        return sessions
    return sessions.filter(**selection["filter"]).exclude(**selection["exclude"])


def describe(selection: Selection) -> str:
    """A short human description for reports and logs."""
    if "query" in selection:
        return f"queryset: {selection['sql']}"[:255]
    parts = [f"{k}={v}" for k, v in selection["filter"].items()] or ["everyone"]
    parts += [f"not {k}={v}" for k, v in selection["exclude"].items()]
    return ", ".join(parts)[:255]
