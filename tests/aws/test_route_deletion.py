"""Deleting an additional route removes it from AWS (route, route response, integration)."""

import pytest
from django.contrib.messages import get_messages

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from tests.support import gateway_change_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(aws, gateway):
    for key in ("chat", "notify"):
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway,
            name=key,
            route_key=key,
            integration_url=f"https://app.example.com/ws/{key}",
        )
    gateway.create_gateway()
    return ApiGateway.objects.get(pk=gateway.pk)


def assert_gone(aws, gateway, key, integration_id):
    assert key not in aws.routes(gateway.api_id)
    integrations = aws.client.get_integrations(ApiId=gateway.api_id)["Items"]
    assert integration_id not in {i["IntegrationId"] for i in integrations}
    stage = aws.client.get_stage(ApiId=gateway.api_id, StageName="prod")
    assert stage["DeploymentId"] == ApiGateway.objects.get(pk=gateway.pk).deployment_id


def test_instance_delete(aws, deployed, django_capture_on_commit_callbacks):
    route = deployed.additional_routes.get(route_key="chat")
    deployments = len(aws.deployments(deployed.api_id))
    with django_capture_on_commit_callbacks(execute=True):
        route.delete()
    assert_gone(aws, deployed, "chat", route.integration_id)
    assert "notify" in aws.routes(deployed.api_id)
    assert len(aws.deployments(deployed.api_id)) == deployments + 1
    # sync_from_aws no longer finds it to add back.
    assert not any("added from AWS" in change for change in deployed.sync_from_aws())
    assert not deployed.additional_routes.filter(route_key="chat").exists()


def test_queryset_delete(aws, deployed, django_capture_on_commit_callbacks):
    ids = dict(deployed.additional_routes.values_list("route_key", "integration_id"))
    deployments = len(aws.deployments(deployed.api_id))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ApiGatewayAdditionalRoute.objects.filter(api_gateway=deployed).delete()
    assert len(callbacks) == 1  # both routes in one batch: one deployment
    for key, integration_id in ids.items():
        assert_gone(aws, deployed, key, integration_id)
    assert len(aws.deployments(deployed.api_id)) == deployments + 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_delete_leaves_aws_and_the_next_one_works(aws, deployed):
    from django.db import transaction

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        deployed.additional_routes.get(route_key="chat").delete()
        raise Undo
    assert "chat" in aws.routes(deployed.api_id)
    route = deployed.additional_routes.get(route_key="chat")
    with transaction.atomic():
        route.delete()
    assert_gone(aws, deployed, "chat", route.integration_id)


def test_delete_push_to_aws_false_keeps_aws(aws, deployed, django_capture_on_commit_callbacks):
    route = deployed.additional_routes.get(route_key="chat")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        route.delete(push_to_aws=False)  # 4.1.0's keyword
    assert callbacks == []
    assert "chat" in aws.routes(deployed.api_id)


def test_deleting_the_gateway_record_leaves_its_api(
    aws, deployed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deployed.delete()
    assert callbacks == []
    assert {"chat", "notify"} <= set(aws.routes(deployed.api_id))


@pytest.mark.django_db(transaction=True)
def test_admin_inline_delete(admin_client, aws, deployed):
    route = deployed.additional_routes.get(route_key="chat")
    other = deployed.additional_routes.get(route_key="notify")
    url, data = gateway_change_form(
        admin_client,
        deployed,
        **{
            "additional_routes-TOTAL_FORMS": "2",
            "additional_routes-INITIAL_FORMS": "2",
            "additional_routes-0-id": str(route.pk),
            "additional_routes-0-api_gateway": str(deployed.pk),
            "additional_routes-0-name": route.name,
            "additional_routes-0-route_key": route.route_key,
            "additional_routes-0-integration_url": route.integration_url,
            "additional_routes-0-route_response": "on",
            "additional_routes-0-DELETE": "on",
            "additional_routes-1-id": str(other.pk),
            "additional_routes-1-api_gateway": str(deployed.pk),
            "additional_routes-1-name": other.name,
            "additional_routes-1-route_key": other.route_key,
            "additional_routes-1-integration_url": other.integration_url,
            "additional_routes-1-route_response": "on",
        },
    )
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert not [str(m) for m in get_messages(response.wsgi_request) if "AWS" in str(m)]
    assert_gone(aws, deployed, "chat", route.integration_id)
    assert "notify" in aws.routes(deployed.api_id)
