"""The gateway admin's AWS actions, against moto."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from tests.support import gateway_change_form

pytestmark = pytest.mark.django_db


def act(admin_client, action, gateway):
    response = admin_client.post(
        reverse("admin:django_aws_api_gateway_websockets_apigateway_changelist"),
        {"action": action, "_selected_action": [gateway.pk]},
        follow=True,
    )
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def deployed(aws, gateway):
    gateway.create_gateway()
    gateway.refresh_from_db()
    return gateway


def test_check_action(admin_client, aws, deployed):
    assert act(admin_client, "check_api_gateway", deployed) == [
        "Moto: the deployed API has everything this package needs."
    ]
    route = aws.routes(deployed.api_id)["$default"]
    (response,) = aws.client.get_route_responses(ApiId=deployed.api_id, RouteId=route["RouteId"])[
        "Items"
    ]
    aws.client.delete_route_response(
        ApiId=deployed.api_id, RouteId=route["RouteId"], RouteResponseId=response["RouteResponseId"]
    )
    assert act(admin_client, "check_api_gateway", deployed) == [
        "Moto: $default: route has no $default route response."
    ]


def test_check_action_on_a_record_made_by_hand(admin_client, api_gateway):
    assert act(admin_client, "check_api_gateway", api_gateway) == [
        "Test API: not deployed in AWS yet."
    ]


def test_sync_actions(admin_client, aws, deployed):
    assert act(admin_client, "sync_to_aws", deployed) == ["Moto: already up to date."]
    aws.client.update_api(ApiId=deployed.api_id, Description="changed in AWS")
    assert act(admin_client, "sync_from_aws", deployed) == ["Moto: updated api_description."]
    aws.faults.add("GetApi", "AccessDeniedException", 403)
    (message,) = act(admin_client, "sync_to_aws", deployed)
    assert message == (
        "Moto: syncing to AWS failed (ApiGatewaySyncError: AccessDeniedException: "
        "AccessDeniedException injected by the test)."
    )


def test_rotate_action(admin_client, aws, deployed):
    old = deployed.gateway_secret
    (message,) = act(admin_client, "rotate_gateway_secret", deployed)
    assert message.startswith("Moto: new secret sent to AWS")
    deployed.refresh_from_db()
    assert deployed.previous_gateway_secret == old


def test_editing_a_deployed_gateway_pushes_after_saving(
    admin_client, aws, deployed, django_capture_on_commit_callbacks
):
    url, data = gateway_change_form(
        admin_client, deployed, target_base_endpoint="https://moved.example.com/ws/"
    )
    # The push runs when the admin's transaction commits (here: when the capture ends).
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert len(callbacks) == 1
    route = aws.routes(deployed.api_id)["$connect"]
    assert aws.integration(deployed.api_id, route)["IntegrationUri"].startswith("https://moved.")


@pytest.mark.django_db(transaction=True)
def test_a_route_aws_refuses_is_kept_and_reported(admin_client, aws, deployed):
    # Committed for real: the push runs when the admin's own transaction commits.
    aws.faults.add("GetRoutes", "AccessDeniedException", 403)
    response = admin_client.post(
        reverse("admin:django_aws_api_gateway_websockets_apigatewayadditionalroute_add"),
        {
            "api_gateway": deployed.pk,
            "name": "Chat",
            "route_key": "chat",
            "integration_url": "https://app.example.com/ws/chat",
            "route_response": "on",
        },
        follow=True,
    )
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if "AWS" in str(m)]
    assert "saved, but AWS refused the change (AccessDeniedException" in message
    assert ApiGatewayAdditionalRoute.objects.get().deployed is False
    assert ApiGateway.objects.get().pk == deployed.pk


@pytest.mark.django_db(transaction=True)
def test_a_route_edit_aws_refuses_is_a_message_not_a_500(admin_client, aws, gateway):
    # transaction=True: the admin's own transaction commits inside the view, so the push
    # deferred to the commit runs there, as in production.
    gateway.create_gateway()
    gateway.refresh_from_db()
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="Chat", route_key="chat", integration_url=CHAT_URL
    )
    assert route.deployed
    aws.faults.add("GetRoutes", "AccessDeniedException", 403)
    aws.faults.add("GetRoute", "AccessDeniedException", 403)
    change = reverse(
        "admin:django_aws_api_gateway_websockets_apigatewayadditionalroute_change",
        args=[route.pk],
    )
    response = admin_client.post(
        change,
        {
            "api_gateway": gateway.pk,
            "name": "Chat renamed",
            "route_key": "chat",
            "integration_url": "https://app.example.com/ws/chat2",
            "route_response": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if "AWS" in str(m)]
    assert message.startswith("Chat renamed: saved, but AWS refused the change (")
    assert "AccessDeniedException" in message
    route.refresh_from_db()
    assert (route.name, route.integration_url) == (
        "Chat renamed",
        "https://app.example.com/ws/chat2",
    )
    integration = aws.integration(gateway.api_id, aws.routes(gateway.api_id)["chat"])
    assert integration["IntegrationUri"] == CHAT_URL  # AWS kept what it had


CHAT_URL = "https://app.example.com/ws/chat"


def staff(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(username=name, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_the_custom_permissions_run_their_aws_actions(django_user_model, aws, deployed):
    rotator = staff(django_user_model, "rotator", "view_apigateway", "change_apigateway")
    assert "rotate_gateway_secret" not in rotator.get(CHANGELIST).text
    rotator = staff(
        django_user_model, "rotator2", "view_apigateway", "change_apigateway", "rotate_secret"
    )
    old = deployed.gateway_secret
    (message,) = act(rotator, "rotate_gateway_secret", deployed)
    assert message.startswith("Moto: new secret sent to AWS")
    deployed.refresh_from_db()
    assert deployed.previous_gateway_secret == old
    assert deployed.gateway_secret_rotated_on is not None
    # No AWS action beyond the permission held.
    refused = rotator.post(CHANGELIST, {"action": "sync_to_aws", "_selected_action": [deployed.pk]})
    assert refused.status_code == 403

    checker = staff(django_user_model, "checker", "view_apigateway", "manage_aws")
    assert act(checker, "check_api_gateway", deployed) == [
        "Moto: the deployed API has everything this package needs."
    ]


CHANGELIST = reverse("admin:django_aws_api_gateway_websockets_apigateway_changelist")
