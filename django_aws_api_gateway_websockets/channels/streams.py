"""Channel offsets, epochs and bounded history, in the shared Redis (``shared_state``).

Per channel two keys share a hash tag (one Redis Cluster slot): ``meta`` (hash: ``epoch``,
``offset``) and ``log`` (a stream whose entry ids are the offsets, ``<offset>-0``). One Lua
script assigns the next offset and appends the entry, so offsets are atomic across every
process. The epoch is created with the channel's meta; when Redis loses it (restart without
persistence, eviction, expiry after ``META_TTL_SECONDS`` idle) the next publish or read
creates a new epoch, and clients holding the old one are told the stream was lost.
Redis streams beat the database in benchmarks/channels.py (docs/channels.md, "Why Redis").
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ..shared_state import connection
from .patterns import HistoryPolicy, history_policy

# The meta of a channel outlives its history: an idle channel keeps its epoch and offset
# this long after its last publish, so a client that missed nothing recovers.
META_TTL_SECONDS = 86_400
PREFIX = "ws:channel:"

# KEYS: meta, log. ARGV: new epoch, max entries, history ttl ms, meta ttl ms, now ms, id, data.
_APPEND = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('DEL', KEYS[2])
end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
if tonumber(ARGV[2]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-0',
             't', ARGV[5], 'i', ARGV[6], 'd', ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {offset, epoch}
"""

# KEYS: meta, log. ARGV: new epoch, meta ttl ms, first offset wanted (0: none).
_READ = """
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
local entries = {}
if tonumber(ARGV[3]) > 0 then
  entries = redis.call('XRANGE', KEYS[2], ARGV[3] .. '-0', '+')
end
return {meta[1], meta[2] or '0', entries}
"""


@dataclass(frozen=True)
class Entry:
    """One kept publication."""

    offset: int
    publication_id: str
    data_json: str
    published_ms: int


@dataclass(frozen=True)
class Recovery:
    """What a resubscribing client missed, or why it cannot be given.

    ``recovered`` is None when no recovery was asked, else whether ``entries`` hold every
    publication after the client's offset; ``reason`` says why not.
    """

    epoch: str
    offset: int
    recovered: bool | None
    reason: str = ""
    entries: list[Entry] = field(default_factory=list)


def keys(channel: str) -> tuple[str, str]:
    tag = f"{PREFIX}{{{channel}}}"
    return f"{tag}:meta", f"{tag}:log"


def new_epoch() -> str:
    return secrets.token_urlsafe(6)


def append(
    channel: str, publication_id: str, data_json: str, policy: HistoryPolicy | None = None
) -> tuple[int, str]:
    """Assign ``channel``'s next offset and keep the publication; return (offset, epoch)."""
    policy = policy or history_policy(channel)
    now_ms = int(time.time() * 1000)
    offset, epoch = _script(_APPEND)(
        keys=keys(channel),
        args=[
            new_epoch(),
            policy.size,
            max(1, int(policy.age_seconds * 1000)),
            META_TTL_SECONDS * 1000,
            now_ms,
            publication_id,
            data_json,
        ],
    )
    return int(offset), _text(epoch)


def position(channel: str) -> tuple[int, str]:
    """``channel``'s last offset (0 if none yet) and its epoch."""
    recovery = read(channel)
    return recovery.offset, recovery.epoch


def read(channel: str, since: int | None = None, epoch: str | None = None) -> Recovery:
    """The channel's position and, when ``since`` is given, the publications after it.

    Recovered only when the epoch is the same and the kept history holds every offset from
    ``since + 1`` to the last, none older than the channel's ``age_seconds``.
    """
    first = 0 if since is None else since + 1
    current_epoch, current, raw = _script(_READ)(
        keys=keys(channel), args=[new_epoch(), META_TTL_SECONDS * 1000, first]
    )
    current_epoch, current = _text(current_epoch), int(current)
    if since is None:
        return Recovery(current_epoch, current, None)
    if epoch != current_epoch:
        return Recovery(current_epoch, current, False, "epoch_changed")
    if since > current or since < 0:
        return Recovery(current_epoch, current, False, "unknown_offset")
    oldest_ms = int((time.time() - history_policy(channel).age_seconds) * 1000)
    entries = [e for e in map(_entry, raw) if e.published_ms >= oldest_ms]
    expected = list(range(since + 1, current + 1))
    if [e.offset for e in entries] != expected:
        return Recovery(current_epoch, current, False, "history_gap")
    return Recovery(current_epoch, current, True, entries=entries)


def _script(source: str) -> Any:
    """The script on the process's client, run by its SHA1 (EVALSHA; loaded when missing)."""
    client = connection()
    scripts = _scripts.setdefault(id(client), {})
    if source not in scripts:
        scripts[source] = client.register_script(source)
    return scripts[source]


_scripts: dict[int, dict[str, Any]] = {}


def forget(channel: str) -> None:
    """Drop the channel's history and epoch (clients then get ``epoch_changed``)."""
    connection().delete(*keys(channel))


def _entry(raw: Any) -> Entry:
    entry_id, flat = raw
    fields = {_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}
    return Entry(
        offset=int(_text(entry_id).split("-")[0]),
        publication_id=_text(fields["i"]),
        data_json=_text(fields["d"]),
        published_ms=int(fields["t"]),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
