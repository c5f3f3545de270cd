from django.conf import settings
from django.db import models


class ChatMessage(models.Model):
    """One message said in a chat room (a channel)."""

    channel_name = models.CharField(max_length=128, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.TextField(max_length=2000)
    created_on = models.DateTimeField(auto_now_add=True)
    # The fan-out of this message to the room; lets the page show its sender the delivery
    # report of their own sends (and only theirs). Reports are pruned after some days.
    delivery_report = models.ForeignKey(
        "django_aws_api_gateway_websockets.DeliveryReport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_on"]
        indexes = [models.Index(fields=["channel_name", "-created_on"])]
        permissions = [("can_use_chat", "Can post chat messages")]

    def __str__(self) -> str:
        return f"{self.user} in {self.channel_name}: {self.text[:40]}"
