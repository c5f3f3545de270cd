"""runlocalgateway reads the ApiGateway record it stands in for."""

import pytest
from django.core.management import CommandError

from django_aws_api_gateway_websockets.management.commands.runlocalgateway import (
    Command,
    build_config,
)
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

pytestmark = pytest.mark.django_db


def find(**options):
    return Command()._find_record({"pk": None, "api_id": None, **options})


@pytest.fixture
def gateway_with_route(api_gateway):
    # Not created in AWS, so adding a route makes no AWS call.
    api_gateway.api_created = False
    api_gateway.save()
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=api_gateway,
        name="Chat",
        route_key="chat",
        integration_url="https://testserver/ws/chat",
    )
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=api_gateway,
        name="Typing",
        route_key="typing",
        integration_url="https://testserver/ws/typing",
        route_response=False,
    )
    return api_gateway


def test_single_record_is_used(gateway_with_route):
    record, hint = find()
    assert record == {
        "api_id": "abc123",
        "stage": "test",
        "target_base_url": "https://testserver/ws/",
        "routes": {
            "chat": "https://testserver/ws/chat",
            "typing": "https://testserver/ws/typing",
        },
        "routes_without_response": {"typing"},
        # Never pushed to AWS: the secret it was given when created, which the views accept.
        "secret": gateway_with_route.pending_gateway_secret,
    }
    assert len(record["secret"]) >= 43
    assert hint == ""


def test_the_records_secret_is_sent(gateway_with_route):
    gateway_with_route.gateway_secret = "own-secret"
    gateway_with_route.save()
    record, _ = find()
    config = build_config(
        {"host": "127.0.0.1", "port": 0}, record, secret_header="X-S", secrets=["settings"]
    )
    assert (config.secret_header, config.secret) == ("X-S", "own-secret")
    assert config.relays_reply("chat") and not config.relays_reply("typing")


def test_by_pk_and_by_api_id(gateway_with_route):
    assert find(pk=gateway_with_route.pk)[0]["api_id"] == "abc123"
    assert find(api_id="abc123")[0]["stage"] == "test"
    assert find(api_id="unknown") == (None, "")
    with pytest.raises(CommandError, match="No ApiGateway with pk=999"):
        find(pk=999)


def test_several_records_need_a_choice(gateway_with_route):
    ApiGateway.objects.create(api_name="Second", api_id="def456")
    assert find() == (None, "Several ApiGateway records exist: choose one with --pk or --api-id.")


def test_no_record():
    assert find() == (None, "")
