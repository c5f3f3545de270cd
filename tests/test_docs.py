"""The documentation stays true to the code it describes."""

from __future__ import annotations

import ast
from pathlib import Path

from django_aws_api_gateway_websockets.conf import AppSettings

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
