from django.apps import AppConfig


class WebsocketsConfig(AppConfig):
    name = "websockets"
    verbose_name = "Chat demo"
    default_auto_field = "django.db.models.BigAutoField"
