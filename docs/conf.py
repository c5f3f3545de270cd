"""Sphinx configuration: ``sphinx-build -W --keep-going -b html docs docs/_build/html``."""

from __future__ import annotations

import sys
from pathlib import Path

import django
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# autodoc imports the app's modules, which need configured settings and a loaded registry.
settings.configure(
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django_aws_api_gateway_websockets",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    USE_TZ=True,
)
django.setup()

project = "django-gateway-sockets"
author = "django-gateway-sockets maintainers"
copyright = "the django-gateway-sockets maintainers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# pypi.md is the wheel's long description, not a page of the site.
exclude_patterns = ["_build", "pypi.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
# Links to "page.md#a-heading" resolve for headings down to this level.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "exclude-members": "DoesNotExist, MultipleObjectsReturned",
}
# Only what this package documents: overrides such as Model.save() without a docstring of
# their own are left out instead of repeating Django's.
autodoc_inherit_docstrings = False
# No intersphinx: CI reaches package registries only, not other projects' inventories.

html_theme = "furo"
html_title = "django-gateway-sockets"
