"""Channel subscriptions, viewable: which connection is in which channel beyond its first.

Read-only: subscriptions change through ``channels.subscribe``/``unsubscribe``, which send
the signals and presence events a row edited here would skip.
"""

from __future__ import annotations

from django.contrib import admin

from ..models import ChannelSubscription
from .base import ReadOnlyAdmin


@admin.register(ChannelSubscription)
class ChannelSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["channel", "session", "created_on"]
    list_filter = ["created_on"]
    search_fields = ["channel", "session__connection_id"]
    list_select_related = ["session"]
