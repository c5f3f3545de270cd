"""Admin actions by permission; secrets never shown; the session page read-only (issues 15, 16)."""

import hashlib
from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    DeliveryReport,
    WebSocketSession,
)
from tests.support import gateway_change_form

pytestmark = pytest.mark.django_db
PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"
SECRET = "current-secret-5f2b9c0e7d4a41b8"
PREVIOUS = "previous-secret-0a9e77c3b1d64f2e"
PENDING = "pending-secret-7e1c2a9b44d05f6a"


def secrets_in(text: str) -> list[str]:
    return [secret for secret in (SECRET, PREVIOUS, PENDING) if secret in text]


GATEWAY_ACTIONS = [
    "create_api_gateway",
    "create_custom_domain",
    "sync_to_aws",
    "sync_from_aws",
    "check_api_gateway",
    "rotate_gateway_secret",
]
SESSION_ACTIONS = ["send_test_message", "disconnect_sessions"]
ALL_ACTIONS = [("apigateway", a) for a in GATEWAY_ACTIONS] + [
    ("websocketsession", a) for a in SESSION_ACTIONS
]


def url(model, view="changelist", *args):
    return reverse(f"admin:django_aws_api_gateway_websockets_{model}_{view}", args=args)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def staff_client(django_user_model, *codenames):
    """A logged-in staff user with exactly ``codenames`` (no superuser)."""
    user = django_user_model.objects.create_user(
        username="_".join(codenames)[:150] or "staff", password="x", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(django_user_model):
    return staff_client(django_user_model, "view_apigateway", "view_websocketsession")


@pytest.fixture
def aws_calls():
    """Every AWS client asked for, from any path (the contract's one seam), recorded."""
    calls = []

    def factory(*args, **kwargs):
        calls.append((args, kwargs))
        client = Mock()
        client.create_api.return_value = {"ApiId": "n1", "ApiEndpoint": "wss://n1"}
        client.create_integration.return_value = {"IntegrationId": "i"}
        client.create_deployment.return_value = {"DeploymentId": "d"}
        return client

    with patch(PATCH_CLIENT, side_effect=factory):
        yield calls


@pytest.fixture
def gateway():
    return ApiGateway.objects.create(
        api_name="Deployed",
        target_base_endpoint="https://app.example.com/ws/",
        api_id="dep123",
        api_created=True,
        deployment_id="d1",
        domain_name="ws.example.com",
        gateway_secret=SECRET,
        previous_gateway_secret=PREVIOUS,
        pending_gateway_secret=PENDING,
    )


@pytest.fixture
def session(gateway):
    return WebSocketSession.objects.create(connection_id="conn-1", api_gateway=gateway)


def offered(client, model):
    response = client.get(url(model))
    assert response.status_code == 200
    form = response.context["action_form"]
    return [name for name, _ in form.fields["action"].choices if name] if form else []


def post_action(client, model, action, obj):
    return client.post(url(model), {"action": action, "_selected_action": [obj.pk]})


def test_a_superuser_is_offered_every_action(admin_client, gateway, session):
    assert set(GATEWAY_ACTIONS) <= set(offered(admin_client, "apigateway"))
    assert set(SESSION_ACTIONS) <= set(offered(admin_client, "websocketsession"))


def test_a_viewer_is_offered_no_action(viewer, gateway, session):
    for model in ("apigateway", "websocketsession"):
        assert offered(viewer, model) == []
        assert 'name="action"' not in viewer.get(url(model)).text


@pytest.mark.parametrize(("model", "action"), ALL_ACTIONS)
def test_a_viewer_cannot_post_any_action(viewer, aws_calls, gateway, session, model, action):
    obj = gateway if model == "apigateway" else session
    response = post_action(viewer, model, action, obj)
    assert response.status_code == 403
    assert aws_calls == []
    gateway.refresh_from_db()
    assert (gateway.gateway_secret, gateway.previous_gateway_secret) == (SECRET, PREVIOUS)
    assert WebSocketSession.objects.get().connected is True
    assert not DeliveryReport.objects.exists()


@pytest.mark.parametrize(
    ("codenames", "gateway_actions", "session_actions"),
    [
        (["change_apigateway", "change_websocketsession"], [], []),
        (["manage_aws"], ["check_api_gateway"], []),
        (
            ["manage_aws", "change_apigateway"],
            GATEWAY_ACTIONS[:5],
            [],
        ),
        (["rotate_secret"], [], []),
        (["rotate_secret", "change_apigateway"], ["rotate_gateway_secret"], []),
        (["send_test_message"], [], ["send_test_message"]),
        (["disconnect_session"], [], ["disconnect_sessions"]),
    ],
)
def test_each_action_needs_its_permissions(
    django_user_model, gateway, session, codenames, gateway_actions, session_actions
):
    client = staff_client(django_user_model, "view_apigateway", "view_websocketsession", *codenames)
    assert offered(client, "apigateway") == gateway_actions
    assert offered(client, "websocketsession") == session_actions


def test_an_aws_manager_runs_the_aws_actions(django_user_model, aws_calls):
    client = staff_client(django_user_model, "view_apigateway", "change_apigateway", "manage_aws")
    new = ApiGateway.objects.create(api_name="New", target_base_endpoint="https://a.example/ws/")
    response = client.post(
        url("apigateway"),
        {"action": "create_api_gateway", "_selected_action": [new.pk]},
        follow=True,
    )
    assert messages_of(response) == ["New: API Gateway created."]
    assert aws_calls


def test_the_session_permissions_run_their_actions(django_user_model, aws_calls, session):
    client = staff_client(
        django_user_model, "view_websocketsession", "disconnect_session", "send_test_message"
    )
    response = post_action(client, "websocketsession", "disconnect_sessions", session)
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.connected is False
    assert aws_calls  # DeleteConnection


@pytest.mark.parametrize("who", ["viewer", "admin_client"])
def test_no_admin_page_shows_a_secret(request, gateway, session, who):
    client = request.getfixturevalue(who)
    pages = [
        url("apigateway"),
        url("apigateway", "change", gateway.pk),
        url("apigateway", "history", gateway.pk),
        url("websocketsession"),
        url("websocketsession", "change", session.pk),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert secrets_in(response.text) == [], page

    change = client.get(url("apigateway", "change", gateway.pk))
    for secret in (SECRET, PREVIOUS, PENDING):
        assert hashlib.sha256(secret.encode()).hexdigest()[:8] in change.text
    assert "SHA-256 fingerprint" in change.text
    assert "Gateway secret rotated on" in change.text
    form = change.context["adminform"].form
    secret_fields = {"gateway_secret", "previous_gateway_secret", "pending_gateway_secret"}
    assert not secret_fields & set(form.fields)
    assert not secret_fields & set(form.initial)


def test_the_add_form_has_no_secret_fields(admin_client):
    response = admin_client.get(url("apigateway", "add"))
    assert 'name="gateway_secret"' not in response.text
    assert 'name="previous_gateway_secret"' not in response.text


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("apigateway", "gateway_secret__startswith"),
        ("apigateway", "previous_gateway_secret__startswith"),
        ("apigateway", "pending_gateway_secret__startswith"),
        ("websocketsession", "api_gateway__gateway_secret__startswith"),
        ("websocketsession", "auth_hash__startswith"),
        ("websocketsession", "session_key_hash__startswith"),
        ("websockettoken", "session_key__startswith"),
        ("apigatewayadditionalroute", "api_gateway__gateway_secret__startswith"),
    ],
)
def test_secrets_cannot_be_probed_through_list_filters(
    viewer, admin_client, gateway, model, lookup
):
    # Row counts for ?secret__startswith=c would spell the secret out one character at a time.
    response = admin_client.get(url(model), {lookup: SECRET[:3]})
    assert response.status_code == 400


def test_the_session_page_is_read_only(admin_client, django_user_model, session):
    other = django_user_model.objects.create_user(username="other")
    assert admin_client.get(url("websocketsession", "add")).status_code == 403
    page = admin_client.get(url("websocketsession", "change", session.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert 'name="user"' not in page.text
    response = admin_client.post(
        url("websocketsession", "change", session.pk),
        {"connection_id": session.connection_id, "user": other.pk, "connected": "on"},
    )
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.user is None


def test_deleting_sessions_still_follows_the_delete_permission(django_user_model, session):
    client = staff_client(django_user_model, "view_websocketsession", "delete_websocketsession")
    assert offered(client, "websocketsession") == ["delete_selected"]
    response = client.post(url("websocketsession", "delete", session.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not WebSocketSession.objects.exists()


def test_editing_without_manage_aws_changes_nothing_in_aws(
    django_user_model, aws_calls, gateway, django_capture_on_commit_callbacks
):
    client = staff_client(
        django_user_model,
        "view_apigateway",
        "change_apigateway",
        "view_apigatewayadditionalroute",
        "add_apigatewayadditionalroute",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("apigatewayadditionalroute", "add"),
            {
                "api_gateway": gateway.pk,
                "name": "Chat",
                "route_key": "chat",
                "integration_url": "https://app.example.com/ws/chat",
                "route_response": "on",
            },
            follow=True,
        )
    assert aws_calls == []
    route = ApiGatewayAdditionalRoute.objects.get()
    assert route.deployed is False
    (message,) = messages_of(response)[:1]
    assert "AWS was not changed" in message


def test_the_gateway_page_without_manage_aws_changes_nothing_in_aws(
    django_user_model, aws_calls, gateway, django_capture_on_commit_callbacks
):
    # The gateway's own fields and an inline route: both saved here, neither pushed.
    client = staff_client(
        django_user_model,
        "view_apigateway",
        "change_apigateway",
        "view_apigatewayadditionalroute",
        "add_apigatewayadditionalroute",
    )
    change, data = gateway_change_form(
        client,
        gateway,
        **{
            "target_base_endpoint": "https://moved.example.com/ws/",
            "additional_routes-TOTAL_FORMS": "1",
            "additional_routes-INITIAL_FORMS": "0",
            "additional_routes-0-name": "Chat",
            "additional_routes-0-route_key": "chat",
            "additional_routes-0-integration_url": "https://app.example.com/ws/chat",
            "additional_routes-0-route_response": "on",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change, data, follow=True)
    assert aws_calls == []
    gateway.refresh_from_db()
    assert gateway.target_base_endpoint == "https://moved.example.com/ws/"
    assert ApiGatewayAdditionalRoute.objects.get(route_key="chat").deployed is False
    not_pushed = [m for m in messages_of(response) if "AWS was not changed" in m]
    assert sorted(m.split(":")[0] for m in not_pushed) == ["Chat", "Deployed"]


def test_the_secret_fingerprint_date_follows_every_change(gateway):
    assert gateway.gateway_secret_rotated_on is not None
    first = gateway.gateway_secret_rotated_on
    gateway = ApiGateway.objects.get(pk=gateway.pk)
    gateway.api_description = "no secret change"
    gateway.save(push_to_aws=False)
    assert gateway.gateway_secret_rotated_on == first
    gateway.gateway_secret = "another-secret-9c1d"
    gateway.save(update_fields=["gateway_secret"])
    gateway.refresh_from_db()
    assert gateway.gateway_secret_rotated_on > first


def test_aws_errors_quoting_a_secret_are_shown_without_it(admin_client, gateway):
    # AWS's validation messages may quote a request's parameters, and the secret is one.
    error = ClientError(
        {"Error": {"Code": "BadRequestException", "Message": f"Invalid mapping '{SECRET}'"}},
        "GetApi",
    )
    client = Mock()
    client.get_api.side_effect = error
    client.get_routes.side_effect = error
    with patch(PATCH_CLIENT, return_value=client):
        response = admin_client.post(
            url("apigateway"),
            {"action": "sync_to_aws", "_selected_action": [gateway.pk]},
            follow=True,
        )
    (message,) = messages_of(response)
    assert "BadRequestException" in message
    assert SECRET not in message and SECRET not in response.text
    assert "[gateway secret]" in message
