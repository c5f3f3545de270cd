"""The gateway admin's AWS actions, against moto."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

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
    url = reverse("admin:django_aws_api_gateway_websockets_apigateway_change", args=[deployed.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "tags"}
    data.update(
        {
            "tags": "{}",
            "target_base_endpoint": "https://moved.example.com/ws/",
            "additional_routes-TOTAL_FORMS": "0",
            "additional_routes-INITIAL_FORMS": "0",
        }
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
