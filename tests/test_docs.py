"""The documentation stays true to the code it describes."""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from django_aws_api_gateway_websockets.conf import AppSettings
from django_aws_api_gateway_websockets.testing import (
    api_gateway_connect_headers,
    api_gateway_headers,
    capture_messages,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


def documented_websockets_settings() -> dict[str, object]:
    """Each key of the `WEBSOCKETS` table in docs/settings.md, with the default it shows.

    A row may document several keys at once: "`a` / `b` | 1 / 2 | ...".
    """
    text = (DOCS / "settings.md").read_text()
    section = text.split("## `WEBSOCKETS`", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, object] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        keys, defaults = (cell.strip() for cell in line.strip("|").split("|")[:2])
        for key, default in zip(keys.split(" / "), defaults.split(" / "), strict=True):
            documented[key.strip("`")] = ast.literal_eval(default.strip("`"))
    return documented


def test_every_declared_setting_is_documented_with_its_default() -> None:
    declared = {name: setting.default for name, setting in AppSettings.declared().items()}

    assert documented_websockets_settings() == declared


def python_blocks(page: str) -> list[str]:
    """The code of each fenced Python block of a docs page, dedented."""
    text = (DOCS / page).read_text()
    return [
        textwrap.dedent(block)
        for block in re.findall(r"^( *)```python\n(.*?)^\1```", text, flags=re.M | re.S)
        for block in [block[1]]
    ]


@pytest.fixture
def quickstart_urls(settings) -> Iterator[types.ModuleType]:
    """The quickstart's view and URLs, exactly as the page shows them, as the URLconf."""
    (code,) = [block for block in python_blocks("quickstart.md") if "class ChatView" in block]
    module = types.ModuleType("quickstart_urls")
    exec(compile(code, "docs/quickstart.md", "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    yield module
    del sys.modules[module.__name__]


@pytest.mark.django_db
def test_try_it_locally_connects_and_sends_as_the_quickstart_says(
    quickstart_urls, django_user_model, settings
) -> None:
    """A new project: the page's record, a logged-in user, a token, a connect, a message."""
    settings.AWS_GATEWAY_REGION_NAME = None  # locally, none is needed
    settings.WEBSOCKETS = {"management_endpoint": "http://127.0.0.1:8001/{stage}"}
    (record,) = [block for block in python_blocks("quickstart.md") if "ApiGateway.objects" in block]
    exec(record, {})
    user = django_user_model.objects.create_user(username="new", password="x")
    client = Client()
    client.force_login(user)
    token = client.post("/api/ws-token/").json()["token"]

    headers = api_gateway_connect_headers(api_id="local", connection_id="c-1")
    connected = client.post(f"/ws/connect?ws_token={token}", **headers)
    assert connected.status_code == 200, connected.content
    with capture_messages() as outbox:
        sent = client.post(
            "/ws/default",
            data=json.dumps({"action": "chat_message", "message": "hi"}),
            content_type="application/json",
            **api_gateway_headers(api_id="local", connection_id="c-1"),
        )
    assert sent.status_code == 200, sent.content
    assert outbox.to("c-1")[0]["message"] == "hi"
    assert outbox[0].endpoint == "http://127.0.0.1:8001/local"
