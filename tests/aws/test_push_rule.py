"""The one rule deciding when a change goes to AWS (``aws.push``), for model, admin and commands."""

import pytest
from django.core.exceptions import ValidationError

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from tests.support import gateway_change_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(aws, gateway):
    gateway.create_gateway()
    return ApiGateway.objects.get(pk=gateway.pk)


def new_route(gateway, key="chat", **kwargs):
    url = f"https://app.example.com/ws/{key}"
    return ApiGatewayAdditionalRoute(
        api_gateway=gateway, name=key, route_key=key, integration_url=url, **kwargs
    )


def test_a_save_with_update_fields_follows_the_rule(
    aws, deployed, django_capture_on_commit_callbacks
):
    deployed.api_description = "pushed though update_fields was given"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deployed.save(update_fields=["api_description"])
    assert len(callbacks) == 1
    api = aws.client.get_api(ApiId=deployed.api_id)
    assert api["Description"] == "pushed though update_fields was given"
    # ... and it is validated like any save.
    deployed.api_name = "not/valid"
    with pytest.raises(ValidationError, match="letters, digits"):
        deployed.save(update_fields=["api_name"])


def test_a_new_route_waits_for_the_commit(aws, deployed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        route = new_route(deployed)
        route.save()
        # Inside the caller's transaction, AWS has not been called.
        assert "chat" not in aws.routes(deployed.api_id)
    assert len(callbacks) == 1
    callbacks[0]()
    assert "chat" in aws.routes(deployed.api_id)


def test_push_off_means_no_route_is_created(
    aws, deployed, settings, django_capture_on_commit_callbacks
):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "push_changes_to_aws": False}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        route = new_route(deployed)
        route.save()
    assert callbacks == []
    assert "chat" not in aws.routes(deployed.api_id)
    assert ApiGatewayAdditionalRoute.objects.get().deployed is False
    # Sync to AWS, an explicit action, creates it and records its ids.
    deployed.sync_to_aws()
    route.refresh_from_db()
    remote = aws.routes(deployed.api_id)["chat"]
    assert (route.deployed, route.route_id) == (True, remote["RouteId"])


def test_a_change_aws_does_not_hold_is_not_pushed(
    aws, deployed, django_capture_on_commit_callbacks
):
    deployed.default_channel_name = "lobby"  # Django's own: nothing in AWS changes
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deployed.save()
    assert callbacks == []


def test_the_admin_decides_by_the_same_rule(
    admin_client, aws, deployed, django_capture_on_commit_callbacks
):
    url, data = gateway_change_form(admin_client, deployed, default_channel_name="lobby")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert admin_client.post(url, data).status_code == 302
    assert callbacks == []  # a field AWS does not hold: the model's rule pushes nothing
    data["api_description"] = "from the admin"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert admin_client.post(url, data).status_code == 302
    assert len(callbacks) == 1
    assert aws.client.get_api(ApiId=deployed.api_id)["Description"] == "from the admin"


def test_a_changed_stage_description_is_deployed(aws, deployed, django_capture_on_commit_callbacks):
    before = len(aws.deployments(deployed.api_id))
    deployed.stage_description = "second release"
    with django_capture_on_commit_callbacks(execute=True):
        deployed.save()
    stage = aws.client.get_stage(ApiId=deployed.api_id, StageName="prod")
    assert stage["Description"] == "second release"
    deployments = aws.deployments(deployed.api_id)
    assert len(deployments) == before + 1
    deployed.refresh_from_db()
    assert stage["DeploymentId"] == deployed.deployment_id
    latest = aws.client.get_deployment(ApiId=deployed.api_id, DeploymentId=deployed.deployment_id)
    assert latest["Description"] == "second release"


def test_a_save_of_some_fields_is_judged_on_those_fields(gateway, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "allowed_integration_hosts": ["other.example"]}
    gateway.gateway_secret = "rotated-" * 5
    gateway.save(update_fields=["gateway_secret"])  # its target host is not judged here
    gateway.target_base_endpoint = "https://app.example.com/ws/"
    with pytest.raises(ValidationError, match="allowed_integration_hosts"):
        gateway.save(update_fields=["target_base_endpoint"])
    with pytest.raises(ValidationError, match="allowed_integration_hosts"):
        gateway.save()


def test_routes_saved_together_deploy_once(aws, deployed, django_capture_on_commit_callbacks):
    deployments = len(aws.deployments(deployed.api_id))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for key in ("chat", "notify", "typing"):
            new_route(deployed, key).save()
    assert len(callbacks) == 1
    assert {"chat", "notify", "typing"} <= set(aws.routes(deployed.api_id))
    assert len(aws.deployments(deployed.api_id)) == deployments + 1
    remote = aws.routes(deployed.api_id)
    for route in ApiGatewayAdditionalRoute.objects.all():
        assert (route.deployed, route.route_id) == (True, remote[route.route_key]["RouteId"])
