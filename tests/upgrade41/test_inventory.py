"""Every public name of 4.1.0 is either here, under the same path, or in docs/compatibility.md."""

from __future__ import annotations

import re

import pytest

from .inventory import is_supported, public_names
from .legacy import ROOT, legacy_package_dir

TABLE_ROW = re.compile(r"^\| `([^`]+)` \| (same|changed|removed) \| (.+) \|$")


@pytest.fixture(scope="module")
def legacy_names() -> set[str]:
    return public_names(legacy_package_dir())


def compatibility_rows() -> dict[str, tuple[str, str]]:
    text = (ROOT / "docs" / "compatibility.md").read_text()
    rows = {}
    for line in text.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def test_the_inventory_reads_4_1_0(legacy_names):
    # A sample of what 4.1.0 has, so an extraction that finds nothing cannot pass.
    assert {
        "views.WebSocketView.can_join_channel",
        "views.WebSocketView.permission_denied",
        "models.ChannelPermission.Access.STAFF_ONLY",
        'WEBSOCKETS["gateway_secret"]',
        "management.commands.updateApiGatewayIntegrations",
        "migrations.0015_alter_apigateway_provisioning_status",
        "mixins.AppChannelWebSocketMixin",
        "checks.W004",
    } <= legacy_names
    assert len(legacy_names) > 300


def test_every_4_1_0_name_is_supported_or_listed(legacy_names):
    rows = compatibility_rows()
    unaccounted = sorted(n for n in legacy_names if n not in rows and not is_supported(n))
    assert unaccounted == [], "Add these to docs/compatibility.md or support them"


def test_the_table_lists_only_4_1_0_names_with_a_reason(legacy_names):
    rows = compatibility_rows()
    assert len(rows) > 80
    assert sorted(set(rows) - legacy_names) == []
    assert all(reason.strip().endswith(".") for _, reason in rows.values())


@pytest.mark.parametrize(
    "name",
    [
        "views.WebSocketView.can_join_channel",
        "views.WebSocketView.get_channel_permission",
        "views.WebSocketView.ALLOW_UNLISTED_CHANNELS",
        "views.WebSocketView.CHECK_PERMISSIONS_ON_CONNECT",
        "views.WebSocketView.SEND_EXCEPTION_MAIL",
        "views.WebSocketView.EXCEPTION_MAIL_INTERVAL",
        "models.ChannelPermissionRule.is_satisfied_by",
        "models.hash_session_key",
        "models.WebSocketSession.auth_hash",
        'WEBSOCKETS["allowed_integration_hosts"]',
        "mixins.AddWebSocketRouteToContextMixin.get_context_data",
    ],
)
def test_names_the_issue_found_missing_are_here(name):
    assert is_supported(name)


def test_unknown_names_are_not_supported():
    assert not is_supported("views.WebSocketView.no_such_hook")
    assert not is_supported('WEBSOCKETS["no_such_key"]')
    assert not is_supported("settings.NO_SUCH_SETTING")


def test_migrations_keep_4_1_0_names(legacy_names):
    migrations = ROOT / "django_aws_api_gateway_websockets" / "migrations"
    ours = {path.stem for path in migrations.glob("0*.py")}
    theirs = {n.removeprefix("migrations.") for n in legacy_names if n.startswith("migrations.0")}
    assert len(theirs) == 15
    assert theirs <= ours
