from django.urls import path

from tests.guide.views import ChatWebSocketView

urlpatterns = [path("ws/<slug:route>", ChatWebSocketView.as_view())]
