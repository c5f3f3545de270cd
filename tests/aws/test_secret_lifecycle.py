"""A gateway's secret from creation to rotation, against moto, with AWS failing pushes.

"What AWS sends" is what the integrations carried at the last deployment that succeeded:
API Gateway sends what the deployed stage holds, and a failed push changes nothing there.
"""

import json

import pytest
from django.core.management import call_command

from django_aws_api_gateway_websockets.aws.remote import ApiGatewaySyncError
from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import api_gateway_headers

from .test_sync import OLD_PARAMETERS, legacy_gateway

pytestmark = pytest.mark.django_db

OWN = "integration.request.header.X-Gateway-Secret"
LEGACY = "integration.request.header.X-Ws-Gateway-Secret"
LEGACY_SECRET = "L" * 40


def sent(aws, gateway, parameter=OWN):
    """The secret every integration carries (one value, or the test fails)."""
    values = {
        aws.integration(gateway.api_id, route)["RequestParameters"].get(parameter)
        for route in aws.routes(gateway.api_id).values()
    }
    assert len(values) == 1, values
    value = values.pop()
    return value.strip("'") if value else value


def event(client, gateway, **secret_headers):
    """A message event as API Gateway forwards it, with the given secret header(s)."""
    WebSocketSession.objects.get_or_create(
        connection_id="connection-1", defaults={"api_gateway": gateway}
    )
    headers = {**api_gateway_headers(api_id=gateway.api_id), **secret_headers}
    body = json.dumps({"action": "ping"})
    return client.post("/ws/default", body, content_type="application/json", **headers)


@pytest.mark.parametrize(
    "failures",
    [
        ("CreateDeployment", "CreateDeployment"),  # integrations changed, never deployed
        ("UpdateIntegration", "CreateDeployment"),  # nothing changed, then not deployed
    ],
)
def test_two_failed_rotations_in_a_row_never_lock_the_gateway_out(
    aws, gateway, client, settings, failures
):
    settings.WEBSOCKETS = {"allow_unsigned_events": False}
    gateway.create_gateway()
    gateway.refresh_from_db()
    deployed = gateway.gateway_secret  # what the stage sends
    assert deployed and sent(aws, gateway) == deployed

    for operation in failures:
        aws.faults.add(operation, "BadRequestException", 400)
        with pytest.raises(ApiGatewaySyncError):
            gateway.rotate_gateway_secret()
        gateway.refresh_from_db()
        assert event(client, gateway, HTTP_X_GATEWAY_SECRET=deployed).status_code == 200
        # Whatever reached the integrations part-way is accepted as well.
        assert event(client, gateway, HTTP_X_GATEWAY_SECRET=sent(aws, gateway)).status_code == 200
    # The record still says AWS sends the deployed secret; the new one is only pending.
    assert gateway.gateway_secret == deployed
    rotated = gateway.pending_gateway_secret  # one new secret, however many attempts
    assert rotated not in ("", deployed)

    assert "every integration sends the new gateway secret" in gateway.sync_to_aws()
    gateway.refresh_from_db()
    assert (gateway.gateway_secret, gateway.previous_gateway_secret) == (rotated, deployed)
    assert gateway.pending_gateway_secret == ""
    assert sent(aws, gateway) == rotated
    for secret in (rotated, deployed):
        assert event(client, gateway, HTTP_X_GATEWAY_SECRET=secret).status_code == 200
    assert event(client, gateway, HTTP_X_GATEWAY_SECRET="forged").status_code == 403


def test_a_promotion_always_deploys(aws, gateway):
    """Integrations changed by a push whose deployment failed are deployed by the next."""
    gateway.create_gateway()
    aws.faults.add("CreateDeployment", "BadRequestException", 400)
    with pytest.raises(ApiGatewaySyncError):
        gateway.rotate_gateway_secret()
    before = len(aws.deployments(gateway.api_id))
    changes = gateway.sync_to_aws()  # no integration differs any more
    assert changes == ["deployed stage 'prod'", "every integration sends the new gateway secret"]
    assert len(aws.deployments(gateway.api_id)) == before + 1


def test_with_4_1_0s_secret_configured_integrations_carry_it_in_4_1_0s_header(
    aws, gateway, client, settings
):
    settings.WEBSOCKETS = {"gateway_secret": LEGACY_SECRET}
    gateway.create_gateway()
    gateway.refresh_from_db()
    # Both versions accept: 4.1.0 checks its header, this package either.
    assert sent(aws, gateway, LEGACY) == LEGACY_SECRET
    assert sent(aws, gateway) == gateway.gateway_secret
    assert event(client, gateway, HTTP_X_WS_GATEWAY_SECRET=LEGACY_SECRET).status_code == 200
    assert event(client, gateway, HTTP_X_GATEWAY_SECRET=gateway.gateway_secret).status_code == 200


def test_a_4_1_0_gateway_keeps_working_through_upgrade_rotation_and_switch(
    aws, client, settings, capsys
):
    """4.1.0 provisioned it with its configured secret; then the documented upgrade path."""
    settings.WEBSOCKETS = {"gateway_secret": LEGACY_SECRET}
    gateway = legacy_gateway(aws)
    for route in aws.routes(gateway.api_id).values():
        integration = aws.integration(gateway.api_id, route)
        aws.client.update_integration(
            ApiId=gateway.api_id,
            IntegrationId=integration["IntegrationId"],
            RequestParameters={**OLD_PARAMETERS, LEGACY: f"'{LEGACY_SECRET}'"},
        )
    assert event(client, gateway, HTTP_X_WS_GATEWAY_SECRET=LEGACY_SECRET).status_code == 200

    call_command("updateApiGatewayIntegrations", pk=gateway.pk)
    gateway.refresh_from_db()
    assert sent(aws, gateway, LEGACY) == LEGACY_SECRET  # 4.1.0 processes still accept
    own = gateway.gateway_secret
    assert own and sent(aws, gateway) == own

    # 4.1.0's rotation procedure: the new secret first, the old one kept, then the command.
    rotated = "R" * 40
    settings.WEBSOCKETS = {"gateway_secret": [rotated, LEGACY_SECRET]}
    call_command("updateApiGatewayIntegrations", pk=gateway.pk)
    assert sent(aws, gateway, LEGACY) == rotated
    for secret in (rotated, LEGACY_SECRET):
        assert event(client, gateway, HTTP_X_WS_GATEWAY_SECRET=secret).status_code == 200

    # The switch, once no 4.1.0 process remains: the key removed, its header dropped.
    settings.WEBSOCKETS = {"allow_unsigned_events": False}
    assert event(client, gateway, HTTP_X_GATEWAY_SECRET=own).status_code == 200
    assert event(client, gateway, HTTP_X_WS_GATEWAY_SECRET=rotated).status_code == 403
    call_command("updateApiGatewayIntegrations", pk=gateway.pk)
    assert "4.1.0's gateway secret header" in capsys.readouterr().out
    assert sent(aws, gateway, LEGACY) is None
    assert sent(aws, gateway) == own
