"""The shipped Grafana dashboard queries only metrics the package reports, and all of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django_aws_api_gateway_websockets import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def prometheus(name: str) -> str:
    return name.replace(".", "_")


def series() -> dict[str, set[str]]:
    """Each instrument's Prometheus series, as OpenTelemetry's Prometheus exporter names them."""
    named = {name: {f"{prometheus(name)}_total"} for name in metrics.COUNTERS}
    for name in metrics.HISTOGRAMS:
        named[name] = {f"{prometheus(name)}_seconds_{part}" for part in ("bucket", "sum", "count")}
    for name in metrics.GAUGES:
        named[name] = {prometheus(name)}
    return named


def queried() -> set[str]:
    labels = {prometheus(attribute) for attribute in metrics.ATTRIBUTES}
    expressions = [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
    ]
    found = {name for expr in expressions for name in re.findall(r"\bwebsockets_\w+", expr)}
    return found - labels


def test_every_query_names_a_reported_metric():
    reported = set().union(*series().values())
    assert queried() <= reported, queried() - reported


def test_every_reported_metric_has_a_panel():
    missing = [name for name, names in series().items() if not names & queried()]
    assert missing == []
