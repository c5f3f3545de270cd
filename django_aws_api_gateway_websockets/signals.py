"""Lifecycle signals of connections, subscriptions and deliveries.

Each is sent once the database transaction that made the change has committed
(``transaction.on_commit``; at once outside a transaction), so a receiver never sees a change
that was rolled back. Receivers get keyword arguments only; ``sender`` is the model class the
event is about. Their arguments are documented in docs/channels.md ("Signals").
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from .transactions import run_after_commit

#: A connection was recorded (``$connect`` accepted). ``session``.
connected = Signal()
#: A connection stopped being connected, whatever the path. ``session``, ``reason``.
disconnected = Signal()
#: A connection ended without its ``$disconnect`` reaching Django (AWS answered 410, or it
#: outlived API Gateway's connection limit). ``session``, ``reason``. Sent after ``disconnected``.
connection_gone = Signal()
#: A connection joined a channel. ``session``, ``channel``.
subscribed = Signal()
#: A connection left a channel (not sent when the whole connection goes). ``session``, ``channel``.
unsubscribed = Signal()
#: A message event reached a handler. ``session``, ``body`` (the parsed JSON), ``handler``.
message_received = Signal()
#: The last batch of a send finished. ``report_id`` (the ``DeliveryReport``'s primary key).
delivery_finished = Signal()

# Why a connection stopped being connected (the ``reason`` argument).
REASON_DISCONNECT = "disconnect"  # its $disconnect event
REASON_GONE = "gone"  # AWS answered 410 Gone to a post or to the probe's GetConnection
REASON_EXPIRED = "expired"  # past API Gateway's connection limit, $disconnect never came
REASON_CLOSED = "closed"  # server code closed it (WebSocketSession.disconnect, the admin)
REASON_LOGIN_ENDED = "login_ended"  # logout, deactivated user, changed password
REASON_GATEWAY_DELETED = "gateway_deleted"
# The reasons that mean no $disconnect reached Django: connection_gone is sent for these.
UNANNOUNCED = frozenset({REASON_GONE, REASON_EXPIRED})


def send_after_commit(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (at once outside one).

    Nothing is registered when the signal has no receivers (the common case for most).
    """
    if not signal.has_listeners(sender):
        return
    # The same commit rule as sends (the atomic blocks of Django's test cases, which never
    # commit, count as outside a transaction).
    run_after_commit(lambda: signal.send(sender=sender, **kwargs))


def send_after_commit_call(callback: Any) -> None:
    """Run ``callback`` (which sends signals) under the same commit rule."""
    run_after_commit(callback)
