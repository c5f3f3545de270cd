"""One budget of Management API posts per AWS account and Region, shared through Redis.

AWS throttles every API of an account in a Region together: 10,000 requests per second with
a burst of 5,000, shared by REST, HTTP and WebSocket APIs and ``@connections`` calls
("Amazon API Gateway quotas", account-level throttling:
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). Every post of every
worker on every host draws from one limiter (``WEBSOCKETS["post_rate_limit"]`` per second,
``WEBSOCKETS["post_rate_burst"]``), kept in the shared Redis (``shared_state``) so that a
broadcast never spends the budget of the account's other APIs.

The limiter is GCRA (a token bucket expressed as one "theoretical arrival time") in a Lua
script, so each reservation is atomic across processes. A process reserves a few posts at
a time and spaces them locally, one round trip per ``CHUNK`` posts. A 429 from AWS means the
account's budget is spent anyway (other APIs, other tools): the limiter pauses everyone for a
moment and lowers its rate, which recovers over a few seconds (backpressure for the whole pool,
not only for the recipient that saw it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any

from .. import metrics, shared_state
from ..conf import app_settings

logger = logging.getLogger(__name__)

# Posts reserved per round trip to Redis, and how old a reserved slot may get before it is
# dropped (using it later would let a burst exceed the budget).
CHUNK = 8
STALE_SECONDS = 0.1
# After a Redis error the limiter is skipped this long: delivery fails open, never shut.
OUTAGE_SECONDS = 5.0

# KEYS[1]: the budget's hash. ARGV: rate/s, burst, posts to reserve (0: a 429 was seen).
# Returns {seconds until the first reserved post, seconds between the next ones}.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'at', 'penalized')
local tat = math.max(tonumber(s[1]) or now, now)
local at = tonumber(s[3]) or now
-- the rate lowered by 429s climbs back by 10% of the limit a second
local factor = math.min(1, (tonumber(s[2]) or 1) + (now - at) * 0.1)
local penalized = tonumber(s[4]) or 0
local tau = burst / rate
local result
if n == 0 then
  -- one penalty per 250 ms however many posts saw the same exhausted budget
  if now - penalized > 0.25 then
    factor = math.max(0.25, factor * 0.85)
    penalized = now
    -- no burst left, and a pause of 50 posts' worth before anyone posts again
    tat = math.max(tat, now + tau) + 50 / rate
  end
  result = {'0', '0'}
else
  local interval = 1 / (rate * factor)
  result = {tostring(tat - tau - now), tostring(interval)}
  tat = tat + n * interval
end
redis.call('HSET', KEYS[1], 'tat', tostring(tat), 'factor', tostring(factor),
  'at', tostring(now), 'penalized', tostring(penalized))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now + tau) * 1000) + 60000)
return result
"""


class Budget:
    """This process's share of one account's budget: reserved slots, handed to threads."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = threading.Lock()
        self.slots: deque[float] = deque()  # monotonic times at which a post may go
        self.skip_until = 0.0

    def take(self) -> None:
        """Wait until this thread may make one post."""
        rate = app_settings.post_rate_limit
        if not rate:
            return
        with self.lock:
            now = time.monotonic()
            while self.slots and self.slots[0] < now - STALE_SECONDS:
                self.slots.popleft()
            if not self.slots:
                self._reserve(rate, now)
            at = self.slots.popleft() if self.slots else now
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def throttled(self) -> None:
        """AWS answered 429: slow every worker down for a while."""
        rate = app_settings.post_rate_limit
        if not rate:
            return
        with self.lock:
            self.slots.clear()  # reserved at the rate AWS just refused
            self._call(rate, 0)

    def _reserve(self, rate: float, now: float) -> None:
        answer = self._call(rate, CHUNK)
        if answer is None:
            return
        first, interval = (float(value) for value in answer)
        self.slots.extend(now + max(0.0, first + i * interval) for i in range(CHUNK))

    def _call(self, rate: float, posts: int) -> Any:
        if time.monotonic() < self.skip_until:
            return None
        try:
            return _script()(keys=[self.key], args=[rate, app_settings.post_rate_burst, posts])
        except Exception as exc:  # any Redis trouble: post unlimited meanwhile
            self.skip_until = time.monotonic() + OUTAGE_SECONDS
            logger.warning("Post budget unavailable (%s); posting without it for a while", exc)
            return None


_lock = threading.Lock()
_budgets: dict[str, Budget] = {}
_scripts: dict[int, Any] = {}


def _forget() -> None:
    """A forked child (a prefork worker) keeps no slots or locks of its parent."""
    global _lock
    _lock = threading.Lock()
    _budgets.clear()
    _scripts.clear()


os.register_at_fork(after_in_child=_forget)


def _script() -> Any:
    client = shared_state.connection()
    with _lock:
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(SCRIPT)
    return script


# Reads what each budget allows now, without reserving anything (the tokens gauge).
# Returns a flat list: key, tokens, key, tokens, ...
TOKENS_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tau = burst / rate
local out = {}
for _, key in ipairs(KEYS) do
  local s = redis.call('HMGET', key, 'tat', 'factor', 'at')
  local tat = math.max(tonumber(s[1]) or now, now)
  local factor = math.min(1, (tonumber(s[2]) or 1) + (now - (tonumber(s[3]) or now)) * 0.1)
  local tokens = math.max(0, math.min(burst, (now + tau - tat) * rate * factor))
  table.insert(out, key)
  table.insert(out, tostring(tokens))
end
return out
"""
KEY_PREFIX = "websockets:post-budget:"


def tokens() -> list[tuple[float, dict[str, str]]]:
    """Posts each account's budget allows right now, by Region (the rate limiter's gauge)."""
    rate = app_settings.post_rate_limit
    if not rate:
        return []
    client = shared_state.connection()
    keys = sorted(key.decode() for key in client.scan_iter(match=f"{KEY_PREFIX}*", count=100))
    if not keys:
        return []
    answer = client.eval(TOKENS_SCRIPT, len(keys), *keys, rate, app_settings.post_rate_burst)
    pairs = zip(answer[::2], answer[1::2], strict=True)
    return [(float(value), {metrics.REGION: key.decode().split(":")[2]}) for key, value in pairs]


def budget_key(region: str | None, access_key: str | None) -> str:
    """The Redis key of one account's budget in one Region."""
    account = app_settings.post_rate_key or access_key or "default"
    return f"{KEY_PREFIX}{region or 'default'}:{account}"


def for_poster(poster: Any) -> Budget:
    """The budget the posts of ``poster`` (a boto3 client or a ``DirectPoster``) draw from."""
    client = getattr(poster, "client", poster)
    meta = getattr(client, "meta", None)
    region = getattr(meta, "region_name", None)
    credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    access_key = getattr(credentials, "access_key", None)
    key = budget_key(
        region if isinstance(region, str) else None,
        access_key if isinstance(access_key, str) else None,
    )
    with _lock:
        budget = _budgets.get(key)
        if budget is None:
            budget = _budgets[key] = Budget(key)
        return budget
