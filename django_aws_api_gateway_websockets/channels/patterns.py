"""Per-channel settings chosen by name patterns (``fnmatch``: ``room-*``, ``*``)."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from ..conf import app_settings


@dataclass(frozen=True)
class HistoryPolicy:
    """How much of a channel's stream is kept: at most ``size`` messages of at most
    ``age_seconds``; ``size`` 0 keeps none (offsets are still assigned)."""

    size: int
    age_seconds: float


NO_HISTORY = HistoryPolicy(0, 0)


def matches(channel: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(channel, pattern) for pattern in patterns)


def history_policy(channel: str) -> HistoryPolicy:
    """The first ``WEBSOCKETS["channel_history"]`` entry whose pattern matches ``channel``."""
    for pattern, policy in app_settings.channel_history.items():
        if fnmatchcase(channel, pattern):
            return HistoryPolicy(int(policy["size"]), float(policy["age_seconds"]))
    return NO_HISTORY


def has_presence_events(channel: str) -> bool:
    """Whether join/leave events are sent for ``channel`` (``presence_channels``, opt-in)."""
    patterns = app_settings.presence_channels
    return bool(patterns) and matches(channel, patterns)
