from django.contrib import admin

from .models import ChatMessage


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ["created_on", "channel_name", "user", "short_text", "delivery_report"]
    list_filter = ["channel_name"]
    search_fields = ["text", "user__username"]
    date_hierarchy = "created_on"
    list_select_related = ["user", "delivery_report"]
    raw_id_fields = ["user", "delivery_report"]

    @admin.display(description="message")
    def short_text(self, obj: ChatMessage) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"
