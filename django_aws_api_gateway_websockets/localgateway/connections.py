"""The connections the gateway knows about: real sockets and virtual ids."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from .ids import utcnow


class ConnectionGone(Exception):
    """The socket closed before a frame could be written to it."""


@dataclass(frozen=True)
class ClientInfo:
    """Who is behind a connection, as API Gateway reports it to the integration."""

    connection_id: str
    source_ip: str
    user_agent: str
    # The port the browser reached the gateway on, for X-Forwarded-Port.
    gateway_port: int


@dataclass(eq=False)
class LiveConnection:
    """An open browser WebSocket held by the gateway."""

    client: ClientInfo
    ws: web.WebSocketResponse
    connected_at: datetime = field(default_factory=utcnow)
    last_active_at: datetime = field(default_factory=utcnow)
    # Monotonic clocks drive the timeouts so wall-clock jumps cannot close sockets.
    opened_monotonic: float = field(default_factory=time.monotonic)
    last_frame_monotonic: float = field(default_factory=time.monotonic)
    # Management POSTs and route responses can write concurrently; the lock keeps
    # frames whole and in arrival order.
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set by the ``drop`` control to lose this connection's ``$disconnect``, as AWS may
    # (its delivery is best-effort): Django then learns of the end only from a 410.
    lose_disconnect: bool = False

    @property
    def connection_id(self) -> str:
        return self.client.connection_id

    def touch(self) -> None:
        """Record a frame from the client (resets the idle timeout)."""
        self.last_active_at = utcnow()
        self.last_frame_monotonic = time.monotonic()

    def seconds_left(self, idle_timeout: float, max_lifetime: float) -> float:
        """Seconds until the idle or lifetime limit closes this connection."""
        now = time.monotonic()
        idle_deadline = self.last_frame_monotonic + idle_timeout
        lifetime_deadline = self.opened_monotonic + max_lifetime
        return min(idle_deadline, lifetime_deadline) - now

    async def send(self, data: bytes) -> None:
        """Write ``data`` to the browser, raising ConnectionGone if the socket is closed."""
        async with self.send_lock:
            if self.ws.closed:
                raise ConnectionGone(self.connection_id)
            try:
                await send_payload(self.ws, data)
            except (ConnectionError, RuntimeError) as exc:
                # aiohttp raises these when the peer vanished mid-write.
                raise ConnectionGone(self.connection_id) from exc

    async def close(self, code: int, reason: str = "") -> None:
        """Close the socket; the handler that owns it then sends ``$disconnect``."""
        if not self.ws.closed:
            await self.ws.close(code=code, message=reason.encode())


@dataclass(eq=False)
class VirtualConnection:
    """An id registered through the control API that accepts messages with no socket.

    Benchmarks use these to measure delivery without opening thousands of sockets.
    """

    connection_id: str
    connected_at: datetime = field(default_factory=utcnow)


async def send_payload(ws: web.WebSocketResponse, data: bytes) -> None:
    """Send ``data`` as a text frame, or a binary frame if it is not UTF-8.

    RFC 6455 requires text frames to be valid UTF-8, so bytes that are not cannot
    be sent as text without corrupting them.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        await ws.send_bytes(data)
    else:
        await ws.send_str(text)
