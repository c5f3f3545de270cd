"""Admin pages for gateways, sessions, channel rules, tokens, rate-limit rows and reports."""

from . import connections, gateways, reports

__all__ = ["connections", "gateways", "reports"]
