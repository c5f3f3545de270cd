"""The demo users' passwords, kept in ``.demo/credentials.txt`` so they can be shown again.

Only the password set by the run that created (or reset) a user is known; the file keeps it
for later runs and for the banner printed when the demo stops.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

FILENAME = "credentials.txt"
HEADER = "# Demo users of manage.py rundemo (username: password). Local use only.\n"


def read(path: Path) -> dict[str, str]:
    """``username -> password`` as written by ``remember``; nothing if the file is missing."""
    if not path.exists():
        return {}
    pairs = (line.split(": ", 1) for line in path.read_text().splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2 and not pair[0].startswith("#")}


def remember(path: Path, users: Sequence[tuple[str, str | None]]) -> dict[str, str | None]:
    """Record the new passwords among ``users``; return each user's known password or None."""
    known: dict[str, str] = read(path)
    new = {username: password for username, password in users if password}
    if new:
        known.update(new)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = HEADER + "".join(f"{name}: {password}\n" for name, password in known.items())
        # Readable by this user only: these passwords sign in to the demo's admin.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        path.chmod(0o600)  # also when an older file was more open
    return {username: known.get(username) for username, _ in users}
