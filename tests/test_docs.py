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


# Every page reads as Markdown on GitHub: links and anchors by GitHub's rules, no empty pages

ROOT = DOCS.parent
FENCE = re.compile(r"^( *)(```|~~~).*?^\1\2[^\n]*$", flags=re.M | re.S)
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# Links to the README from docs pages are absolute: Sphinx does not build the README.
README_URL = "https://github.com/django-gateway-sockets/django-gateway-sockets/blob/main/README.md"


def github_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces
    to hyphens, a repeated heading numbered from -1."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def relative_links(page: Path) -> list[str]:
    """Link targets of a page outside code, that are not URLs."""
    text = re.sub(r"`[^`\n]*`", "", FENCE.sub("", page.read_text()))
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]


def test_github_anchors_follow_githubs_rules(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# How this maps to AWS\n## `WEBSOCKETS`\n## Tips\n## Tips\n```\n# no\n```\n")
    assert github_anchors(page) == {"how-this-maps-to-aws", "websockets", "tips", "tips-1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_and_anchor_resolves_on_github(page: Path) -> None:
    dead = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            dead.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in github_anchors(destination):
            dead.append(f"{target}: no such heading")
    assert dead == []


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_no_page_shows_only_what_sphinx_includes(page: Path) -> None:
    text = page.read_text()
    assert "{literalinclude}" not in text
    prose = [
        line
        for line in FENCE.sub("", text).splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert prose, f"{page.name} has no text of its own outside Sphinx directives"
    for anchor in re.findall(rf"\({re.escape(README_URL)}#([\w-]+)\)", text):
        assert anchor in github_anchors(ROOT / "README.md"), anchor
    for section in re.findall(r"```\{include\} \.\./README\.md\n:start-after: <!-- (\w+):", text):
        # What Sphinx includes from the README, GitHub readers reach by a link to it.
        assert re.search(rf"\({re.escape(README_URL)}#[\w-]+\)", text), f"{page.name}: {section}"


def guide_definitions() -> tuple[dict[str, list[str]], str]:
    """The guide tests' top-level definitions (AST, annotations dropped) and their text."""
    sources = [*sorted((ROOT / "tests" / "guide").glob("*.py"))]
    sources += [ROOT / "tests" / "urls.py", ROOT / "tests" / "typed_examples.py"]
    definitions: dict[str, list[str]] = {}
    texts = []
    for path in sources:
        source = path.read_text()
        texts.append(" ".join(source.split()))
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                definitions.setdefault(node.name, []).append(unannotated(node))
    return definitions, "\n".join(texts)


def unannotated(node: ast.AST) -> str:
    for child in ast.walk(node):
        if isinstance(child, ast.arg):
            child.annotation = None
        if isinstance(child, ast.FunctionDef):
            child.returns = None
    return ast.dump(node)


def test_every_example_of_the_testing_guide_is_code_its_tests_run() -> None:
    definitions, texts = guide_definitions()
    blocks = python_blocks("testing.md")
    assert len(blocks) >= 20
    for block in blocks:
        for node in ast.parse(block).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                assert unannotated(node) in definitions.get(node.name, []), node.name
            else:
                segment = " ".join((ast.get_source_segment(block, node) or "").split())
                assert segment in texts, segment


def test_the_deliberate_differences_from_4_1_0_are_documented_with_their_reason() -> None:
    changes = (DOCS / "changes-from-41.md").read_text()
    table = changes.split("## Deliberate differences", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 5  # the header and the four differences
    for what in ("410", "createApiGateway", "`+` and `/`", "its own random secret"):
        (row,) = [row for row in rows if what in row]
        assert row.rstrip(" |").split("|")[-1].strip(), f"no reason given for {what}"
    compatibility = (DOCS / "compatibility.md").read_text()
    for name in (
        "views.WebSocketView.session_not_found",
        "views.WebSocketView.dispatch",
        "management.commands.createApiGateway",
    ):
        assert f"| `{name}` | changed | Deliberate: " in compatibility, name
