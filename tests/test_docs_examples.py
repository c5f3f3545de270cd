"""The docs' example views, run as written: bad input gets a 4xx, never a 500.

Each view is taken from its Markdown code block (the one defining ``ChatView`` and its URLs), so the
page and this test cannot drift apart.
"""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import api_gateway_headers, capture_messages

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["quickstart.md", "views.md", "pypi.md"]
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

pytestmark = pytest.mark.django_db


def example_view_module(page: str) -> types.ModuleType:
    """The page's code block that defines ``ChatView`` and its URLs, run as a URLconf module."""
    blocks = CODE_BLOCK.findall((DOCS / page).read_text())
    (code,) = [b for b in blocks if "class ChatView" in b and "urlpatterns" in b]
    name = f"tests._docs_example_{page.removesuffix('.md')}"
    module = types.ModuleType(name)
    exec(compile(code, f"docs/{page}", "exec"), module.__dict__)
    sys.modules[name] = module
    return module


@pytest.fixture(params=PAGES)
def example(request, settings):
    module = example_view_module(request.param)
    settings.ROOT_URLCONF = module.__name__
    yield module
    sys.modules.pop(module.__name__, None)


@pytest.fixture
def poster(client, websocket_session, django_user_model):
    # A superuser holds every permission, ``chat.can_post`` included: bad input reaches
    # the handler instead of stopping at the permission check.
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=admin)

    def post(raw: str):
        return client.post(
            "/ws/default", data=raw, content_type="application/json", **api_gateway_headers()
        )

    return post


BAD_BODIES = [
    {"action": "no_such_action"},
    {"action": "dispatch"},
    {"action": "chat_message"},
    {"action": "chat_message", "message": None},
    {"action": "chat_message", "message": 42},
    {"action": "chat_message", "message": ["a"]},
    {"action": "chat_message", "message": "   "},
    {"action": ["chat_message"]},
    {"handler": {"x": 1}},
]
BAD_RAW = [
    '{"action": "chat_message", "message": NaN}',
    '{"action": "chat_message", "message": Infinity}',
    '{"action": "chat_message", "message": -Infinity}',
    '{"action": "chat_message", "message": 1e999}',
    '{"action": "chat_message", "message": "\\ud800"}',
    '{"action": "chat_message", "\\udfff": "x"}',
    "[]",
    "not json",
]


@pytest.mark.parametrize("raw", [json.dumps(b) for b in BAD_BODIES] + BAD_RAW)
def test_the_docs_example_view_answers_bad_input_with_a_4xx(example, poster, raw):
    with capture_messages() as outbox:
        response = poster(raw)
    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    assert "error" in response.json()
    assert outbox == []


def test_the_docs_example_view_sends_a_good_message(example, poster):
    with capture_messages() as outbox:
        response = poster(json.dumps({"action": "chat_message", "message": "hi"}))
    assert response.status_code == 200
    assert [m.data["message"] for m in outbox] == ["hi"]
