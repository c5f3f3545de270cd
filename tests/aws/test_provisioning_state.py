"""One provisioning state (``provisioning_status``), its claim, its errors, 4.1.0's leftovers."""

import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets.aws.remote import ApiGatewaySyncError
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

pytestmark = pytest.mark.django_db


def columns(gateway):
    return ApiGateway.objects.filter(pk=gateway.pk).values_list(
        "provisioning_status", "api_created", "custom_domain_created"
    )[0]


def test_the_flags_mirror_the_one_state(db):
    # The testing guide's record made by hand: a flag given moves the status.
    gateway = ApiGateway.objects.create(api_name="Hand", api_id="abc123", api_created=True)
    assert (gateway.provisioning_status, gateway.api_created) == ("deployed", True)
    assert columns(gateway) == ("deployed", True, False)
    assert ApiGateway.objects.filter(api_created=True).get() == gateway  # 4.1.0's query
    assert gateway.is_deployed is False  # no deployment: nothing is ever pushed for it
    gateway.provisioning_status = "mapped"
    assert (gateway.api_created, gateway.custom_domain_created) == (True, True)
    gateway.save()
    assert columns(gateway) == ("mapped", True, True)
    gateway.api_created = False
    gateway.save(update_fields=["api_created"])  # written with the status it moved
    assert columns(gateway) == ("pending", False, False)


def test_a_loaded_status_stands(db):
    gateway = ApiGateway.objects.create(api_name="Loaded")
    ApiGateway.objects.filter(pk=gateway.pk).update(
        provisioning_status="routes_created", api_created=False
    )
    gateway = ApiGateway.objects.get(pk=gateway.pk)
    assert (gateway.provisioning_status, gateway.api_created) == ("routes_created", True)


def test_two_runs_create_one_api(aws, gateway):
    stale = ApiGateway.objects.get(pk=gateway.pk)  # loaded by a second request, still pending
    assert gateway.create_gateway() is True
    with pytest.raises(ValueError, match="another run is creating this API"):
        stale.create_gateway()
    assert len(aws.client.get_apis()["Items"]) == 1


def test_a_run_that_holds_the_claim_keeps_others_out(aws, gateway):
    ApiGateway.objects.filter(pk=gateway.pk).update(provisioning_status="creating")
    gateway.refresh_from_db()
    with pytest.raises(ValueError, match="another run"):
        gateway.create_gateway()
    assert aws.client.get_apis()["Items"] == []


def test_a_failed_create_api_gives_the_claim_back(aws, gateway):
    aws.faults.add("CreateApi", "BadRequestException", 400)
    with pytest.raises(ClientError):
        gateway.create_gateway()
    gateway.refresh_from_db()
    assert gateway.provisioning_status == "pending"
    assert gateway.last_error == "BadRequestException: BadRequestException injected by the test"
    assert gateway.create_gateway() is True
    gateway.refresh_from_db()
    assert (gateway.provisioning_status, gateway.last_error) == ("deployed", "")


def test_last_error_follows_sync(aws, gateway):
    gateway.create_gateway()
    gateway.refresh_from_db()
    aws.faults.add("GetRoutes", "AccessDeniedException", 403)
    with pytest.raises(ApiGatewaySyncError):
        gateway.sync_to_aws()
    assert ApiGateway.objects.get(pk=gateway.pk).last_error.startswith("AccessDeniedException")
    gateway.sync_to_aws()
    assert ApiGateway.objects.get(pk=gateway.pk).last_error == ""


def test_route_ids_are_stored(aws, gateway):
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="Chat", route_key="chat", integration_url="https://a.example/c"
    )
    gateway.create_gateway()
    route.refresh_from_db()
    remote = aws.routes(gateway.api_id)["chat"]
    assert route.route_id == remote["RouteId"]
    assert route.integration_id == remote["Target"].removeprefix("integrations/")
    assert route.deployed is True


def test_a_gateway_41_left_half_provisioned_is_finished(aws, gateway):
    """4.1.0 stopped after its routes (status ``routes_created``): no stage, no deployment."""
    api = aws.client.create_api(
        Name="Moto", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    ApiGateway.objects.filter(pk=gateway.pk).update(
        api_id=api["ApiId"], provisioning_status="routes_created", api_created=True
    )
    gateway = ApiGateway.objects.get(pk=gateway.pk)
    gateway.api_description = "a full save"
    gateway.save()
    assert columns(gateway)[0] == "routes_created"  # not flipped to deployed
    assert (gateway.needs_api_creation, gateway.is_deployed) == (True, False)
    assert gateway.create_gateway() is True
    gateway.refresh_from_db()
    assert gateway.provisioning_status == "deployed" and gateway.is_deployed
    assert len(aws.client.get_apis()["Items"]) == 1
    assert sorted(aws.routes(gateway.api_id)) == ["$connect", "$default", "$disconnect"]
    stage = aws.client.get_stage(ApiId=gateway.api_id, StageName="prod")
    assert stage["DeploymentId"] == gateway.deployment_id


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_create_one_api(aws, gateway):
    """Two requests at once (threads, each its own connection): one claim wins."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    barrier = Barrier(2)

    def run():
        mine = ApiGateway.objects.get(pk=gateway.pk)
        barrier.wait()
        try:
            return mine.create_gateway()
        except ValueError as exc:
            return str(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: run(), range(2)))
    assert outcomes.count(True) == 1
    assert "another run is creating this API" in next(o for o in outcomes if o is not True)
    assert len(aws.client.get_apis()["Items"]) == 1
