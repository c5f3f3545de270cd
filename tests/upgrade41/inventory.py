"""The public names of 4.1.0, read from its installed source, and whether this package has them.

A name is a module (``views``, ``management.commands.createApiGateway``,
``migrations.0010_hash_websockettoken_session_key``), something a module defines
(``models.hash_session_key``), something a class defines, nested classes included
(``views.WebSocketView.can_join_channel``, ``models.ChannelPermission.Access.STAFF_ONLY``),
a ``WEBSOCKETS`` key (``WEBSOCKETS["gateway_secret"]``), a Django setting the package reads
(``settings.AWS_REGION_NAME``) or a system check id (``checks.W004``). Names starting with
``_`` are private, except the hook 4.x documents (``_additional_connection_checks``).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "django_aws_api_gateway_websockets"
PRIVATE_HOOKS = {"_additional_connection_checks"}
CHECK_ID = re.compile(rf"^{PACKAGE}\.([EW]\d{{3}})$")


def is_public(name: str) -> bool:
    return not name.startswith("_") or name in PRIVATE_HOOKS


def module_name(package_dir: Path, path: Path) -> str:
    parts = path.relative_to(package_dir).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def class_names(prefix: str, node: ast.ClassDef) -> Iterator[str]:
    for item in node.body:
        if isinstance(item, ast.ClassDef):
            if item.name != "Meta" and is_public(item.name):
                yield f"{prefix}.{item.name}"
                yield from class_names(f"{prefix}.{item.name}", item)
        else:
            for name in defined_names(item):
                if is_public(name):
                    yield f"{prefix}.{name}"


def defined_names(node: ast.stmt) -> Iterator[str]:
    """Names a statement in a module or class body binds (not imports)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id


def settings_names(tree: ast.Module) -> Iterator[str]:
    """``settings.X`` and ``getattr(settings, "X", ...)``."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "settings"
            and node.attr.isupper()
        ):
            yield f"settings.{node.attr}"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "settings"
            and isinstance(node.args[1], ast.Constant)
        ):
            yield f"settings.{node.args[1].value}"


def websockets_keys(tree: ast.Module) -> Iterator[str]:
    """Keys of conf.py's ``DEFAULTS``, ``BOOLEAN_DEFAULTS`` and ``OPTIONAL_KEYS``."""
    for node in tree.body:
        names = list(defined_names(node))
        if not names or names[0] not in {"DEFAULTS", "BOOLEAN_DEFAULTS", "OPTIONAL_KEYS"}:
            continue
        value = node.value
        if isinstance(value, ast.Call) and value.args:  # frozenset({...})
            value = value.args[0]
        elements = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
        for element in elements:
            if isinstance(element, ast.Constant):
                yield f'WEBSOCKETS["{element.value}"]'


def public_names(package_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        module = module_name(package_dir, path)
        if module:
            names.add(module)
        if module.startswith("migrations"):
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            for name in defined_names(node):
                if is_public(name):
                    names.add(f"{module}.{name}" if module else name)
            if isinstance(node, ast.ClassDef) and is_public(node.name):
                names.update(class_names(f"{module}.{node.name}", node))
        names.update(settings_names(tree))
        if module == "conf":
            names.update(websockets_keys(tree))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = CHECK_ID.match(node.value)
                if match:
                    names.add(f"checks.{match.group(1)}")
    return names


# What this package supports

_MISSING = object()


def resolve(name: str) -> Any:
    """The object ``name`` stands for in this package, or ``_MISSING``."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join([PACKAGE, *parts[:split]]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            target = _attribute(target, attribute)
            if target is _MISSING:
                return _MISSING
        return target
    return _MISSING


def _attribute(target: Any, name: str) -> Any:
    """``target.name``, or for a class an attribute its instances get in ``__init__``."""
    value = getattr(target, name, _MISSING)
    if value is _MISSING and isinstance(target, type):
        try:
            value = getattr(target(), name, _MISSING)
        except Exception:
            value = _MISSING
    return value


def is_supported(name: str) -> bool:
    """Does this package have ``name`` under the same path?"""
    from django_aws_api_gateway_websockets.conf import AppSettings

    if name.startswith("WEBSOCKETS["):
        return name[len('WEBSOCKETS["') : -2] in AppSettings.declared()
    if name.startswith("settings."):
        setting = name.removeprefix("settings.")
        package = Path(resolve("conf").__file__).parent
        source = "\n".join(path.read_text() for path in package.rglob("*.py"))
        return f'"{setting}"' in source or f"settings.{setting}" in source
    if name.startswith("checks.") and len(name) == len("checks.E001"):
        return False  # this package's checks have ids of their own
    return resolve(name) is not _MISSING
