"""Models: AWS client helpers, gateway provisioning, tokens and rate limits."""

from datetime import timedelta
from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError
from django.core.exceptions import ValidationError
from django.utils import timezone

from django_aws_api_gateway_websockets import boto3_factory as factory
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
    get_boto3_client,
    get_region_name,
)

PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


# Region and client


def test_region_prefers_gateway_region(settings):
    settings.AWS_GATEWAY_REGION_NAME = "eu-west-2"
    settings.AWS_REGION_NAME = "us-west-1"
    assert get_region_name() == "eu-west-2"
    settings.AWS_GATEWAY_REGION_NAME = ""
    assert get_region_name() == "us-west-1"


def test_region_missing_is_an_error(settings):
    settings.AWS_GATEWAY_REGION_NAME = None
    settings.AWS_REGION_NAME = None
    with pytest.raises(RuntimeError, match="AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME"):
        get_region_name()


def test_client_from_profile(settings):
    settings.AWS_IAM_PROFILE = "deploy"
    with patch.object(factory.boto3, "Session") as session:
        get_boto3_client("apigatewaymanagementapi", endpoint_url="http://x")
    session.assert_called_once_with(profile_name="deploy")
    session.return_value.client.assert_called_once_with(
        "apigatewaymanagementapi", endpoint_url="http://x"
    )


def test_client_from_keys(settings):
    with patch.object(factory.boto3, "client") as client:
        get_boto3_client()
    client.assert_called_once_with(
        "apigatewayv2",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_client_from_ambient_credentials(settings):
    settings.AWS_ACCESS_KEY_ID = None
    with patch.object(factory.boto3, "client") as client:
        get_boto3_client("apigatewayv2")
    client.assert_called_once_with("apigatewayv2", region_name="us-east-1")


def test_management_endpoint_template(settings):
    gateway = ApiGateway(api_id="abc123", stage_name="prod")
    assert gateway.management_endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    settings.WEBSOCKETS = {"management_endpoint": "http://127.0.0.1:8001/{stage}"}
    assert gateway.management_endpoint == "http://127.0.0.1:8001/prod"


# ApiGateway


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["https://testserver/ws/", "http://web:8000/ws/", "https://example.com/ws/"]
)
def test_target_base_endpoint_accepts_any_valid_url(url):
    gateway = ApiGateway.objects.create(api_name="A", target_base_endpoint=url)
    assert gateway.target_base_endpoint == url


@pytest.mark.django_db
def test_target_base_endpoint_gets_a_trailing_slash():
    gateway = ApiGateway.objects.create(api_name="A", target_base_endpoint="https://testserver/ws")
    assert gateway.target_base_endpoint == "https://testserver/ws/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"target_base_endpoint": "ftp://testserver/ws/"}, "target_base_endpoint"),
        ({"target_base_endpoint": "not a url"}, "target_base_endpoint"),
        ({"domain_name": "-bad-.example.com"}, "domain_name"),
        ({"api_name": "semi;colon"}, "api_name"),
    ],
)
def test_gateway_validation(fields, bad):
    with pytest.raises(ValidationError) as error:
        ApiGateway.objects.create(**{"api_name": "A", **fields})
    assert bad in error.value.message_dict


def aws_client():
    client = Mock()
    client.create_api.return_value = {"ApiId": "new123", "ApiEndpoint": "wss://new123.example"}
    client.create_integration.side_effect = [{"IntegrationId": f"i{n}"} for n in range(10)]
    client.create_deployment.return_value = {"DeploymentId": "dep1"}
    client.create_route.side_effect = [{"RouteId": f"r{n}"} for n in range(10)]
    client.create_domain_name.return_value = {
        "DomainNameConfigurations": [
            {"ApiGatewayDomainName": "d-1.execute-api.example", "HostedZoneId": "Z2OJLYMUO9EFXC"}
        ]
    }
    client.create_api_mapping.return_value = {"ApiMappingId": "map1"}
    for listing in ("get_routes", "get_integrations", "get_api_mappings"):
        getattr(client, listing).return_value = {"Items": []}
    client.get_api.return_value = {}
    client.get_stage.return_value = {"StageName": "prod", "DeploymentId": "dep0"}
    return client


@pytest.fixture
def new_gateway(db):
    return ApiGateway.objects.create(
        api_name="New", target_base_endpoint="https://app.example.com/ws/", stage_name="prod"
    )


def test_create_gateway(new_gateway):
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=new_gateway,
        name="Chat",
        route_key="chat",
        integration_url="https://app.example.com/ws/chat",
    )
    client = aws_client()
    with patch(PATCH_CLIENT, return_value=client):
        assert new_gateway.create_gateway() is True
    new_gateway.refresh_from_db()
    assert (new_gateway.api_id, new_gateway.api_created, new_gateway.deployment_id) == (
        "new123",
        True,
        "dep1",
    )
    routes = [c.kwargs["RouteKey"] for c in client.create_route.call_args_list]
    assert routes == ["$connect", "$disconnect", "$default", "chat"]
    uris = [c.kwargs["IntegrationUri"] for c in client.create_integration.call_args_list]
    assert uris[0] == "https://app.example.com/ws/connect"
    assert uris[3] == "https://app.example.com/ws/chat"
    # The gateway's own secret, generated and stored, is what every integration sends.
    assert len(new_gateway.gateway_secret) >= 43
    for call in client.create_integration.call_args_list:
        assert call.kwargs["RequestParameters"] == {
            "integration.request.header.connectionId": "context.connectionId",
            "integration.request.header.X-Source-Ip": "context.identity.sourceIp",
            "integration.request.header.X-Gateway-Api-Id": "context.apiId",
            "integration.request.header.X-Gateway-Secret": f"'{new_gateway.gateway_secret}'",
        }
    # Replies reach the client only through a route response: $default and chat have one.
    replying = [c.kwargs["RouteId"] for c in client.create_route_response.call_args_list]
    assert replying == ["r2", "r3"]
    assert {c.kwargs["RouteResponseKey"] for c in client.create_route_response.call_args_list} == {
        "$default"
    }
    selection = [
        c.kwargs.get("RouteResponseSelectionExpression") for c in client.create_route.call_args_list
    ]
    assert selection == [None, None, "$default", "$default"]
    assert new_gateway.additional_routes.get().deployed is True
    client.create_stage.assert_called_once_with(ApiId="new123", StageName="prod", Description="")
    client.create_deployment.assert_called_once()


def test_create_gateway_keeps_a_secret_it_has(new_gateway):
    new_gateway.gateway_secret = "kept-secret"
    new_gateway.save()
    client = aws_client()
    with patch(PATCH_CLIENT, return_value=client):
        new_gateway.create_gateway()
    params = client.create_integration.call_args.kwargs["RequestParameters"]
    assert params["integration.request.header.X-Gateway-Secret"] == "'kept-secret'"


def test_create_gateway_twice_does_nothing(new_gateway):
    new_gateway.api_created = True
    client = aws_client()
    with patch(PATCH_CLIENT, return_value=client):
        assert new_gateway.create_gateway() is False
    client.create_api.assert_not_called()


def test_create_gateway_needs_a_target(db):
    gateway = ApiGateway.objects.create(api_name="NoTarget")
    with pytest.raises(ValueError, match="target base endpoint"):
        gateway.create_gateway()


def test_route_added_to_a_created_gateway_is_deployed(
    new_gateway, django_capture_on_commit_callbacks
):
    ApiGateway.objects.filter(pk=new_gateway.pk).update(
        api_created=True, api_id="abc", deployment_id="dep0"
    )
    new_gateway.refresh_from_db()
    client = aws_client()
    with patch(PATCH_CLIENT, return_value=client), django_capture_on_commit_callbacks(execute=True):
        route = ApiGatewayAdditionalRoute.objects.create(
            api_gateway=new_gateway,
            name="Extra",
            route_key="extra",
            integration_url="https://app.example.com/ws/extra",
        )
    route.refresh_from_db()
    new_gateway.refresh_from_db()
    assert route.deployed is True
    assert new_gateway.deployment_id == "dep1"
    assert client.create_route.call_args.kwargs["RouteKey"] == "extra"
    client.create_route_response.assert_called_once_with(
        ApiId="abc", RouteId="r0", RouteResponseKey="$default"
    )


def test_route_added_to_a_gateway_made_by_hand_calls_no_aws(api_gateway):
    """A record made by hand (api_created=True, never deployed) is the testing guide's."""
    client = aws_client()
    with patch(PATCH_CLIENT, return_value=client):
        route = ApiGatewayAdditionalRoute.objects.create(
            api_gateway=api_gateway, name="Chat", route_key="chat", integration_url="https://t/ws/c"
        )
    assert client.mock_calls == []
    assert route.deployed is False


def test_create_custom_domain(new_gateway):
    new_gateway.api_created = True
    new_gateway.api_id = "abc"
    new_gateway.domain_name = "ws.example.com"
    new_gateway.certificate_arn = "arn:aws:acm:cert"
    new_gateway.save()
    client = aws_client()
    with patch(PATCH_CLIENT, return_value=client):
        assert new_gateway.create_custom_domain() is True
        assert new_gateway.create_custom_domain() is False
    new_gateway.refresh_from_db()
    assert new_gateway.api_gateway_domain_name == "d-1.execute-api.example"
    assert new_gateway.api_mapping_id == "map1"
    # HostedZoneId is API Gateway's answer (the alias target's zone), never sent.
    assert new_gateway.hosted_zone_id == "Z2OJLYMUO9EFXC"
    config = client.create_domain_name.call_args.kwargs["DomainNameConfigurations"][0]
    assert config == {
        "CertificateArn": "arn:aws:acm:cert",
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "needs to be created"),
        ({"api_created": True}, "domain name is required"),
        ({"api_created": True, "domain_name": "ws.example.com"}, "Certificate ARN"),
    ],
)
def test_create_custom_domain_preconditions(new_gateway, fields, message):
    for name, value in fields.items():
        setattr(new_gateway, name, value)
    with pytest.raises(ValueError, match=message):
        new_gateway.create_custom_domain()


# Tokens


@pytest.mark.django_db
def test_token_expires(websocket_token, websocket_client, settings):
    session_key = websocket_client.session.session_key
    WebSocketToken.objects.filter(pk=websocket_token.pk).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    assert WebSocketToken.validate_and_consume(websocket_token.token, session_key) is None
    settings.WEBSOCKETS = {"token_expiry_seconds": 120}
    user = WebSocketToken.validate_and_consume(websocket_token.token, session_key)
    assert user == websocket_token.user


@pytest.mark.django_db
def test_token_needs_matching_session(websocket_token):
    assert WebSocketToken.validate_and_consume(websocket_token.token, "other") is None
    assert WebSocketToken.validate_and_consume(websocket_token.token, "") is None
    assert WebSocketToken.validate_and_consume("", "any-session") is None


@pytest.mark.django_db
def test_token_rate_limit(websocket_user):
    for _ in range(3):
        WebSocketToken.generate_token(websocket_user, "s")
    assert WebSocketToken.check_rate_limit(websocket_user, max_tokens_per_minute=4) is True
    assert WebSocketToken.check_rate_limit(websocket_user, max_tokens_per_minute=3) is False


@pytest.mark.django_db
def test_token_str_shows_a_fingerprint_of_the_hash_never_the_token(websocket_token):
    stored = WebSocketToken.objects.get(pk=websocket_token.pk)
    assert str(stored) == f"token {stored.token[:8]}…"
    assert websocket_token.token[:8] not in str(stored)


# Rate limits


@pytest.mark.django_db
def test_rate_limit_window(websocket_user):
    old = ConnectionRateLimit.record_attempt("10.0.0.1", websocket_user)
    ConnectionRateLimit.objects.filter(pk=old.pk).update(
        attempt_time=timezone.now() - timedelta(minutes=10)
    )
    ConnectionRateLimit.record_attempt("10.0.0.1", websocket_user, successful=False)
    assert ConnectionRateLimit.check_rate_limit("10.0.0.1", max_attempts=2) == (True, 1)


@pytest.mark.django_db
def test_rate_limit_by_user_across_addresses(websocket_user):
    ConnectionRateLimit.record_attempt("10.0.0.1", websocket_user)
    ConnectionRateLimit.record_attempt("10.0.0.2", websocket_user)
    assert ConnectionRateLimit.check_rate_limit("10.0.0.3", websocket_user, 2) == (False, 2)
    assert ConnectionRateLimit.check_rate_limit("10.0.0.3", None, 2) == (True, 0)


@pytest.mark.django_db
def test_anonymous_attempts_store_no_user(django_user_model):
    from django.contrib.auth.models import AnonymousUser

    attempt = ConnectionRateLimit.record_attempt("10.0.0.1", AnonymousUser())
    assert attempt.user is None
    assert str(attempt).startswith("10.0.0.1 at ")


# Strings and report arithmetic


@pytest.mark.django_db
def test_strings(websocket_session, api_gateway):
    route = ApiGatewayAdditionalRoute(api_gateway=api_gateway, name="Chat", route_key="chat")
    assert [str(api_gateway), str(websocket_session), str(route)] == [
        "Test API",
        "connection-1",
        "Chat",
    ]


def test_connected_is_a_queryset_method_on_the_manager(websocket_session):
    WebSocketSession.objects.create(connection_id="gone-1", connected=False)

    connected = WebSocketSession.objects.connected()

    assert list(connected.values_list("connection_id", flat=True)) == ["connection-1"]
    assert list(connected.filter(channel_name="general").connected()) == [websocket_session]


def test_report_progress():
    report = DeliveryReport(recipients=0, planned=False)
    assert (report.recipients_known, report.progress) == (False, 0.0)
    report.planned = True
    assert report.progress == 1.0
    report.recipients, report.delivered, report.gone, report.failed = 10, 5, 2, 1
    assert (report.settled, report.progress) == (8, 0.8)


@pytest.mark.django_db
def test_session_disconnect_closes_through_the_gateway(websocket_session):
    client = Mock()
    with patch(PATCH_CLIENT, return_value=client):
        websocket_session.disconnect()
    client.delete_connection.assert_called_once_with(ConnectionId="connection-1")
    assert WebSocketSession.objects.get().connected is False


@pytest.mark.django_db
def test_session_disconnect_of_a_gone_connection(websocket_session):
    client = Mock()
    client.delete_connection.side_effect = ClientError(
        {"Error": {"Code": "GoneException"}}, "DeleteConnection"
    )
    with patch(PATCH_CLIENT, return_value=client):
        websocket_session.disconnect()
    assert WebSocketSession.objects.get().connected is False


@pytest.mark.django_db
def test_session_disconnect_error_propagates(websocket_session):
    client = Mock()
    client.delete_connection.side_effect = ClientError(
        {"Error": {"Code": "ForbiddenException"}}, "DeleteConnection"
    )
    with patch(PATCH_CLIENT, return_value=client), pytest.raises(ClientError):
        websocket_session.disconnect()
    assert WebSocketSession.objects.get().connected is True
