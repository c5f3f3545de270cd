"""The views API Gateway posts WebSocket events to, and the connect-token view."""

from .events import WebSocketView
from .responses import error
from .tokens import WebSocketTokenView

__all__ = ["WebSocketTokenView", "WebSocketView", "error"]
