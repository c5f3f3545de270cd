"""How a gateway secret is made: the value API Gateway sends with every event it forwards.

Low in the layers: the model's default, provisioning, syncing and rotation all make secrets
the same way, and none of them needs another's module for it.
"""

from __future__ import annotations

import secrets


def new_secret() -> str:
    """A gateway secret: URL-safe characters only, so it sits in a '...' static value as is."""
    return secrets.token_urlsafe(32)
