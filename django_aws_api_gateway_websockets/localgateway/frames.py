"""API Gateway's frame size limit: a client frame over 32 KB closes the connection (1009).

"Quotas for configuring and running a WebSocket in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html):
frames up to 32 KB, messages up to 128 KB; "If a larger message (or larger frame size) is
received, the connection is closed with code 1009." aiohttp limits whole messages only, so
the frame headers are read here, on the raw bytes, before aiohttp's parser sees them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.http_websocket import WebSocketError

# Opcodes of data frames (RFC 6455, section 5.2); control frames are at most 125 bytes.
_DATA_OPCODES = frozenset({0x0, 0x1, 0x2})


class FrameScanner:
    """Follows frame boundaries in a client's byte stream and reports oversized frames."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._header = bytearray()
        self._payload_left = 0

    def oversized_frame_in(self, data: bytes) -> bool:
        """Consume ``data``; True as soon as a data frame declares a payload over the limit."""
        position = 0
        while position < len(data):
            if self._payload_left:
                step = min(self._payload_left, len(data) - position)
                self._payload_left -= step
                position += step
                continue
            self._header.append(data[position])
            position += 1
            parsed = _parse_header(self._header)
            if parsed is None:
                continue
            opcode, length = parsed
            if opcode in _DATA_OPCODES and length > self.max_frame_bytes:
                return True
            self._header.clear()
            self._payload_left = length
        return False


def _parse_header(header: bytearray) -> tuple[int, int] | None:
    """``(opcode, payload length)`` once ``header`` holds a whole frame header, else None."""
    if len(header) < 2:
        return None
    length_code = header[1] & 0x7F
    extended = {126: 2, 127: 8}.get(length_code, 0)
    masked = 4 if header[1] & 0x80 else 0
    if len(header) < 2 + extended + masked:
        return None
    length = int.from_bytes(header[2 : 2 + extended]) if extended else length_code
    return header[0] & 0x0F, length


class _GuardedParser:
    """aiohttp's frame parser behind a :class:`FrameScanner`."""

    def __init__(self, parser: Any, scanner: FrameScanner, queue: Any) -> None:
        self._parser = parser
        self._scanner = scanner
        self._queue = queue
        self._refused = False

    def feed_eof(self) -> None:
        self._parser.feed_eof()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._refused:
            return True, b""
        if self._scanner.oversized_frame_in(bytes(data)):
            self._refused = True
            # What aiohttp's own parser does with a message over its limit: the next
            # receive() closes the socket with this code.
            limit = self._scanner.max_frame_bytes
            error = WebSocketError(WSCloseCode.MESSAGE_TOO_BIG, f"Frame over {limit} bytes")
            self._queue.set_exception(error)
            return True, b""
        return self._parser.feed_data(data)


class FrameLimitedWebSocketResponse(web.WebSocketResponse):
    """A server WebSocket that closes with 1009 on any client frame over ``max_frame_bytes``."""

    def __init__(self, *, max_frame_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_frame_bytes = max_frame_bytes

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        # The 101 answer is still buffered here (prepare() drains it next), so a client that
        # waits for it, as RFC 6455 requires, has sent no frame to the parser being wrapped.
        handler: Any = request.protocol
        handler._payload_parser = _GuardedParser(
            handler._payload_parser, FrameScanner(self._max_frame_bytes), self._reader
        )
