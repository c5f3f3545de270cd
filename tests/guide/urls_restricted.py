from django.urls import path

from tests.guide.views import RestrictedWebSocketView

urlpatterns = [path("ws/<slug:route>", RestrictedWebSocketView.as_view())]
