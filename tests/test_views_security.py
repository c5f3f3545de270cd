"""What the event views require and refuse: headers, gateway secrets, client IPs, bad input.

Every request here is built as API Gateway would send it, or as an attacker who can reach
the Django URL directly would: the views must accept the first and refuse the second.
"""

import json
from unittest.mock import patch

import pytest
from django.http import JsonResponse
from django.test import Client
from django.urls import path

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.testing import api_gateway_headers
from django_aws_api_gateway_websockets.views import WebSocketView
from django_aws_api_gateway_websockets.views import origin as origin_module
from tests.guide.test_views import api_gateway_connect_headers as guide_api_gateway_connect_headers

# The testing guide's $connect headers (its own helper, as a user's test defines it).
guide_connect_headers = guide_api_gateway_connect_headers

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class EchoView(WebSocketView):
    USE_WS_TOKEN = False

    def default(self, request, *args, **kwargs):
        return JsonResponse({"user": str(request.user), "body": self.body})


class TokenView(EchoView):
    USE_WS_TOKEN = True


class UserAgentCheckingView(EchoView):
    CHECK_CONNECT_USERAGENT = True


class PinnedView(EchoView):
    aws_api_gateway_id = "abc123"


urlpatterns = [
    path("ws/<slug:route>", EchoView.as_view()),
    path("token-ws/<slug:route>", TokenView.as_view()),
    path("ua-ws/<slug:route>", UserAgentCheckingView.as_view()),
    path("pinned-ws/<slug:route>", PinnedView.as_view()),
]

# What a gateway provisioned by this package sends with a message event: the integration's
# mapped headers and nothing else.
MAPPED_MESSAGE_HEADERS = {
    "HTTP_CONNECTIONID": "connection-1",
    "HTTP_X_GATEWAY_API_ID": "abc123",
}
# The same for $connect, plus the browser's own handshake headers.
MAPPED_CONNECT_HEADERS = {
    "HTTP_CONNECTIONID": "connection-2",
    "HTTP_X_GATEWAY_API_ID": "abc123",
    "HTTP_X_SOURCE_IP": "203.0.113.7",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
    "HTTP_COOKIE": "csrftoken=x",
    "HTTP_ORIGIN": "http://testserver",
    "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
    "HTTP_SEC_WEBSOCKET_VERSION": "13",
}


def message(client, headers, body=None, url="/ws/default", raw=None):
    data = raw if raw is not None else json.dumps(body or {"action": "default"})
    return client.post(url, data=data, content_type="application/json", **headers)


def connect(client, headers, url="/ws/connect?channel=general"):
    # Django's test client with no data, as a user would write it: API Gateway sends no
    # body with $connect and the view must not read one.
    return client.post(url, **headers)


def with_secret(headers, secret):
    return {**headers, "HTTP_X_GATEWAY_SECRET": secret}


@pytest.fixture
def secured_gateway(api_gateway):
    api_gateway.gateway_secret = "current-secret"
    api_gateway.previous_gateway_secret = "previous-secret"
    api_gateway.pending_gateway_secret = "pending-secret"
    api_gateway.save()
    return api_gateway


# Headers: only what correctness and security need


def test_a_message_needs_only_the_mapped_headers(client, websocket_session):
    response = message(client, MAPPED_MESSAGE_HEADERS)
    assert response.status_code == 200


def test_a_connect_needs_only_the_mapped_and_browser_headers(client, api_gateway):
    response = connect(client, MAPPED_CONNECT_HEADERS)
    assert response.status_code == 200
    attempt = ConnectionRateLimit.objects.get()
    assert (attempt.ip_address, attempt.successful) == ("203.0.113.7", True)


def test_disconnect_needs_only_the_mapped_headers(client, websocket_session):
    assert client.post("/ws/disconnect", **MAPPED_MESSAGE_HEADERS).status_code == 200
    websocket_session.refresh_from_db()
    assert websocket_session.connected is False


def test_the_testing_guide_headers_still_work(client, websocket_session):
    assert connect(client, guide_connect_headers(connection_id="c-2")).status_code == 200
    assert message(client, api_gateway_headers()).status_code == 200
    assert client.post("/ws/disconnect", **api_gateway_headers()).status_code == 200


def test_the_mapped_api_id_header_wins_over_the_legacy_one(client, websocket_session):
    headers = {**MAPPED_MESSAGE_HEADERS, "HTTP_X_AMZN_APIGATEWAY_API_ID": "zzz999"}
    assert message(client, headers).status_code == 200


def test_header_names_follow_the_settings(client, websocket_session, settings):
    settings.WEBSOCKETS = {"api_id_header": "X-Api", "source_ip_header": "X-Client"}
    headers = {"HTTP_CONNECTIONID": "connection-1", "HTTP_X_API": "abc123"}
    assert message(client, headers).status_code == 200
    connect_headers = {**MAPPED_CONNECT_HEADERS, "HTTP_X_API": "abc123", "HTTP_X_CLIENT": "::1"}
    del connect_headers["HTTP_X_GATEWAY_API_ID"], connect_headers["HTTP_X_SOURCE_IP"]
    assert connect(client, connect_headers).status_code == 200
    assert ConnectionRateLimit.objects.get().ip_address == "::1"


def test_without_an_api_id_the_mapped_header_is_named(client, websocket_session):
    response = message(client, {"HTTP_CONNECTIONID": "connection-1"})
    assert response.json() == {"error": "Missing headers: X-Gateway-Api-Id."}


def test_user_agent_is_not_checked_by_default(client, websocket_session):
    headers = {**MAPPED_MESSAGE_HEADERS, "HTTP_USER_AGENT": "curl/8.0"}
    assert message(client, headers).status_code == 200
    assert connect(client, MAPPED_CONNECT_HEADERS).status_code == 200


def test_connect_user_agent_check_can_be_turned_on(client, api_gateway):
    response = connect(client, MAPPED_CONNECT_HEADERS, "/ua-ws/connect")
    assert (response.status_code, response.json()) == (400, {"error": "Unexpected User-Agent."})
    headers = {**MAPPED_CONNECT_HEADERS, "HTTP_USER_AGENT": "AmazonAPIGateway_abc123"}
    assert connect(client, headers, "/ua-ws/connect").status_code == 200


# Client IP for rate limits


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # The mapped source IP wins over anything forwarded.
        ({"HTTP_X_FORWARDED_FOR": "10.0.0.1"}, "203.0.113.7"),
        # Gateways provisioned before: the entry API Gateway appended, not the client's.
        ({"HTTP_X_SOURCE_IP": "", "HTTP_X_FORWARDED_FOR": "198.51.100.1, 192.0.2.4"}, "192.0.2.4"),
        ({"HTTP_X_SOURCE_IP": "2001:db8::7"}, "2001:db8::7"),
    ],
)
def test_client_ip(client, api_gateway, extra, expected):
    assert connect(client, {**MAPPED_CONNECT_HEADERS, **extra}).status_code == 200
    assert ConnectionRateLimit.objects.get().ip_address == expected


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"HTTP_X_SOURCE_IP": "not-an-ip"}, "No IP address in X-Source-Ip."),
        (
            {"HTTP_X_SOURCE_IP": "", "HTTP_X_FORWARDED_FOR": "1.2.3.4, junk"},
            "No IP address in X-Forwarded-For.",
        ),
        ({"HTTP_X_SOURCE_IP": ""}, "Missing headers: X-Source-Ip."),
    ],
)
def test_an_unusable_client_ip_is_refused(client, api_gateway, extra, problem):
    response = connect(client, {**MAPPED_CONNECT_HEADERS, **extra})
    assert (response.status_code, response.json()) == (400, {"error": problem})
    assert not WebSocketSession.objects.exists()
    assert not ConnectionRateLimit.objects.exists()


# Gateway secrets


@pytest.mark.parametrize(
    ("secret", "status"),
    [
        (None, 403),
        ("wrong", 403),
        ("current-secret", 200),
        ("previous-secret", 200),
        ("pending-secret", 200),
    ],
)
def test_every_event_needs_the_gateways_secret(client, secured_gateway, secret, status):
    def headers(base):
        return base if secret is None else with_secret(base, secret)

    assert connect(client, headers(MAPPED_CONNECT_HEADERS)).status_code == status
    WebSocketSession.objects.get_or_create(
        connection_id="connection-1", defaults={"api_gateway": secured_gateway}
    )
    assert message(client, headers(MAPPED_MESSAGE_HEADERS)).status_code == status
    assert client.post("/ws/disconnect", **headers(MAPPED_MESSAGE_HEADERS)).status_code == status
    assert WebSocketSession.objects.get(connection_id="connection-1").connected is (status != 200)


MISSING_SECRET = {
    "error": "Missing gateway secret: events without one are refused unless "
    "WEBSOCKETS['allow_unsigned_events'] is True."
}


def test_refusals_name_the_secret_and_the_setting(client, secured_gateway):
    assert connect(client, MAPPED_CONNECT_HEADERS).json() == MISSING_SECRET
    response = connect(client, with_secret(MAPPED_CONNECT_HEADERS, "wrong"))
    assert response.json() == {"error": "Invalid gateway secret."}


def test_every_new_gateway_has_a_secret_accepted_before_aws_has_it(client, settings):
    settings.WEBSOCKETS = {"allow_unsigned_events": False}
    gateway = ApiGateway.objects.create(api_name="New", api_id="abc123")
    # Pending: accepted, but not taken for what AWS sends until a push succeeded.
    assert len(gateway.pending_gateway_secret) >= 43 and gateway.gateway_secret == ""
    headers = with_secret(MAPPED_CONNECT_HEADERS, gateway.pending_gateway_secret)
    assert connect(client, headers).status_code == 200
    other = ApiGateway.objects.create(api_name="Other", api_id="other1")
    assert other.pending_gateway_secret not in ("", gateway.pending_gateway_secret)


def test_unsigned_events_are_refused_unless_the_project_opts_out(
    client, websocket_session, settings
):
    settings.WEBSOCKETS = {"allow_unsigned_events": False}
    assert connect(client, MAPPED_CONNECT_HEADERS).json() == MISSING_SECRET
    assert message(client, MAPPED_MESSAGE_HEADERS).json() == MISSING_SECRET
    response = client.post("/ws/disconnect", **MAPPED_MESSAGE_HEADERS)
    assert (response.status_code, response.json()) == (403, MISSING_SECRET)
    websocket_session.refresh_from_db()
    assert websocket_session.connected is True  # a forged $disconnect loses nothing
    assert not WebSocketSession.objects.filter(connection_id="connection-2").exists()
    settings.WEBSOCKETS = {"allow_unsigned_events": True}
    assert message(client, MAPPED_MESSAGE_HEADERS).status_code == 200


def test_opting_out_never_opens_a_gateway_aws_sends_a_secret_to(client, secured_gateway, settings):
    settings.WEBSOCKETS = {"allow_unsigned_events": True}
    assert connect(client, MAPPED_CONNECT_HEADERS).status_code == 403


def test_the_pytest_plugin_allows_unsigned_events_for_the_session(client, websocket_session):
    # The guide's examples: a gateway made with objects.create(...), events with no secret.
    assert websocket_session.api_gateway.pending_gateway_secret
    assert message(client, api_gateway_headers()).status_code == 200


def test_settings_secrets_are_accepted_for_every_gateway(client, secured_gateway, settings):
    settings.WEBSOCKETS = {"gateway_secrets": ["shared-secret"]}
    headers = with_secret(MAPPED_CONNECT_HEADERS, "shared-secret")
    assert connect(client, headers).status_code == 200


def test_settings_secrets_protect_gateways_without_their_own(client, websocket_session, settings):
    settings.WEBSOCKETS = {"gateway_secrets": ["shared-secret"]}
    assert message(client, MAPPED_MESSAGE_HEADERS).status_code == 403
    assert message(client, with_secret(MAPPED_MESSAGE_HEADERS, "shared-secret")).status_code == 200


def test_another_gateways_secret_is_refused(client, secured_gateway):
    ApiGateway.objects.create(api_name="Other", api_id="other1", gateway_secret="other-secret")
    assert connect(client, with_secret(MAPPED_CONNECT_HEADERS, "other-secret")).status_code == 403


def test_every_candidate_is_compared(client, secured_gateway, settings):
    settings.WEBSOCKETS = {"gateway_secrets": ["shared-secret"]}
    compared = []
    real = origin_module.hmac.compare_digest

    def spy(given, secret):
        compared.append(secret)
        return real(given, secret)

    with patch.object(origin_module.hmac, "compare_digest", spy):
        response = connect(client, with_secret(MAPPED_CONNECT_HEADERS, "current-secret"))
        assert response.status_code == 200
    assert compared == [b"current-secret", b"pending-secret", b"previous-secret", b"shared-secret"]


def test_unknown_connection_ids_are_not_revealed_without_the_secret(client, secured_gateway):
    headers = {**MAPPED_MESSAGE_HEADERS, "HTTP_CONNECTIONID": "never-connected"}
    assert message(client, headers).json() == MISSING_SECRET
    response = message(client, with_secret(headers, "current-secret"))
    assert response.json() == {"error": "Unknown connection id."}


def test_an_unknown_gateway_without_the_secret_is_refused_for_the_secret(
    client, secured_gateway, settings
):
    settings.WEBSOCKETS = {"gateway_secrets": ["shared-secret"]}
    headers = {**MAPPED_CONNECT_HEADERS, "HTTP_X_GATEWAY_API_ID": "zzz999"}
    assert connect(client, headers).json() == MISSING_SECRET
    response = connect(client, with_secret(headers, "shared-secret"))
    assert response.json() == {"error": "Unknown API Gateway."}


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_without_the_secret_known_and_unknown_ids_get_one_answer(
    client, secured_gateway, settings, secret
):
    settings.WEBSOCKETS = {"allow_unsigned_events": False}
    WebSocketSession.objects.create(connection_id="connection-1", api_gateway=secured_gateway)

    def headers(base, **changes):
        changed = {**base, **changes}
        return changed if secret is None else with_secret(changed, secret)

    answers = set()
    for api_id in ("abc123", "zzz999"):
        for url in ("/ws/connect", "/pinned-ws/connect"):
            response = connect(
                client, headers(MAPPED_CONNECT_HEADERS, HTTP_X_GATEWAY_API_ID=api_id), url
            )
            answers.add((response.status_code, response.content))
        for connection_id in ("connection-1", "never-connected"):
            for url in ("/ws/default", "/ws/disconnect", "/pinned-ws/default"):
                changed = headers(
                    MAPPED_MESSAGE_HEADERS,
                    HTTP_X_GATEWAY_API_ID=api_id,
                    HTTP_CONNECTIONID=connection_id,
                )
                response = message(client, changed, url=url)
                answers.add((response.status_code, response.content))
    assert len(answers) == 1
    assert answers.pop()[0] == 403


def test_a_secret_costs_no_query(client, websocket_session, django_assert_num_queries):
    ApiGateway.objects.filter(pk=websocket_session.api_gateway_id).update(gateway_secret="s")
    # One SELECT of session + gateway + user, one UPDATE of the request count.
    with django_assert_num_queries(2):
        assert message(client, with_secret(MAPPED_MESSAGE_HEADERS, "s")).status_code == 200


# Sessions already disconnected


def test_messages_for_a_disconnected_session_are_refused(client, websocket_session):
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(connected=False)
    response = message(client, MAPPED_MESSAGE_HEADERS, {"action": "default"})
    assert (response.status_code, response.json()) == (410, {"error": "Connection is closed."})
    websocket_session.refresh_from_db()
    assert websocket_session.request_count == 1
    # A late $disconnect for it is still answered: API Gateway may send one after a 410.
    assert client.post("/ws/disconnect", **MAPPED_MESSAGE_HEADERS).status_code == 200


# Rate limiting counts refusals


def test_failed_token_checks_count_towards_the_rate_limit(client, api_gateway, settings):
    settings.WEBSOCKETS = {"rate_limit_max_attempts": 3}
    statuses = []
    for number in range(5):
        headers = {**MAPPED_CONNECT_HEADERS, "HTTP_CONNECTIONID": f"c{number}"}
        statuses.append(connect(client, headers, "/token-ws/connect?ws_token=guess").status_code)
    assert statuses == [403, 403, 403, 429, 429]
    assert (
        ConnectionRateLimit.objects.filter(ip_address="203.0.113.7", successful=False).count() == 5
    )


def test_a_spent_token_counts_against_its_user(client, api_gateway, websocket_user, settings):
    settings.WEBSOCKETS = {"rate_limit_max_attempts": 2}
    client.force_login(websocket_user)
    session_key = client.session.session_key
    token = WebSocketToken.generate_token(websocket_user, session_key).token
    cookie = {"HTTP_COOKIE": f"sessionid={session_key}"}
    url = f"/token-ws/connect?ws_token={token}"
    assert connect(client, {**MAPPED_CONNECT_HEADERS, **cookie}, url).status_code == 200
    reuse = {**MAPPED_CONNECT_HEADERS, **cookie, "HTTP_CONNECTIONID": "c-9"}
    assert connect(client, reuse, url).status_code == 403
    failed = ConnectionRateLimit.objects.get(successful=False)
    assert failed.user == websocket_user
    # Two failed attempts for the user (the success does not count), the second from
    # another address: the user is over the limit from a third address too.
    elsewhere = {**reuse, "HTTP_X_SOURCE_IP": "192.0.2.99"}
    assert connect(client, elsewhere, url).status_code == 403
    third = {**reuse, "HTTP_X_SOURCE_IP": "192.0.2.100"}
    assert connect(client, third, url).status_code == 429


# Bad bodies never reach a 500


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("[" * 20_000 + "]" * 20_000, "Body is nested deeper than 64 levels."),
        (
            '{"action": "default", "x": ' + "[" * 65 + "]" * 65 + "}",
            "Body is nested deeper than 64 levels.",
        ),
        ('{"a": ' * 20_000, "Body is nested deeper than 64 levels."),
        ('{"action": 1' + "9" * 5000 + "}", "Body is not valid JSON."),
        ('{"action": "default"', "Body is not valid JSON."),
    ],
)
def test_bodies_that_break_parsers_are_refused(client, websocket_session, raw, problem):
    client.raise_request_exception = True
    response = message(client, MAPPED_MESSAGE_HEADERS, raw=raw)
    assert (response.status_code, response.json()) == (400, {"error": problem})


def test_nesting_up_to_the_limit_and_brackets_in_strings_are_fine(client, websocket_session):
    nested = "[" * 63 + "]" * 63
    text = '"[{' + "[" * 500 + '\\" {"'
    raw = f'{{"action": "default", "deep": {nested}, "text": {text}}}'
    response = message(client, MAPPED_MESSAGE_HEADERS, raw=raw)
    assert response.status_code == 200
    assert response.json()["body"]["text"].startswith("[{[[[")


# Friendly to tests written with Django's client


def test_connect_and_disconnect_ignore_the_body(client, api_gateway):
    headers = guide_connect_headers(connection_id="connection-1")
    # No data=: the test client sends an empty multipart form, not JSON.
    assert client.post("/ws/connect?channel=general", **headers).status_code == 200
    response = client.post("/ws/disconnect", data={"anything": "x"}, **api_gateway_headers())
    assert response.status_code == 200
    assert WebSocketSession.objects.get().connected is False


def test_message_events_act_as_the_sessions_user_never_the_cookies(
    client, websocket_session, websocket_user, django_user_model
):
    owner = django_user_model.objects.create_user(username="owner")
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=owner)
    client.force_login(websocket_user)
    assert message(client, api_gateway_headers()).json()["user"] == "owner"
    # A connection without a user acts as the request's login: on AWS, where message events
    # carry no cookie, that is anonymous; a test client's force_login is honoured.
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=None)
    assert message(client, api_gateway_headers()).json()["user"] == "websocket-user"


def test_a_fresh_client_sees_the_same_user(websocket_session):
    assert message(Client(), api_gateway_headers()).json()["user"] == "AnonymousUser"


# JSON the json module accepts and JSON does not: refused at parse, naming the problem


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"action": "default", "x": NaN}', "Body contains NaN, which is not JSON."),
        ('{"action": "default", "x": Infinity}', "Body contains Infinity, which is not JSON."),
        ('{"action": "default", "x": [-Infinity]}', "Body contains -Infinity, which is not JSON."),
        ('{"action": "default", "x": 1e999}', "Body contains a number out of range: 1e999."),
        ('{"action": "default", "x": -1E+400}', "Body contains a number out of range: -1E+400."),
        (
            '{"action": "default", "x": ["\\ud800"]}',
            "Body contains a lone surrogate (\\ud800-\\udfff), which is not text.",
        ),
        (
            '{"action": "default", "\\udc00x": 1}',
            "Body contains a lone surrogate (\\ud800-\\udfff), which is not text.",
        ),
        (b'{"action": "default", "x": "\xed\xa0\x80"}', "Body is not valid UTF-8."),
    ],
)
def test_json_that_is_not_json_is_refused_at_parse(client, websocket_session, raw, reason):
    response = message(client, MAPPED_MESSAGE_HEADERS, raw=raw)
    assert (response.status_code, response.json()) == (400, {"error": reason})


def test_json_that_is_json_is_still_accepted(client, websocket_session):
    raw = '{"action": "default", "x": [1.5e300, -0.0, "\\ud83d\\ude00", "\\\\ud800"]}'
    response = message(client, MAPPED_MESSAGE_HEADERS, raw=raw)
    assert response.status_code == 200
    assert response.json()["body"]["x"] == [1.5e300, -0.0, "😀", "\\ud800"]
