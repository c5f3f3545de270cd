"""The runlocalgateway command's option handling (no database needed)."""

from __future__ import annotations

import io
import logging
import re
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management.base import CommandError

from django_aws_api_gateway_websockets.localgateway import GatewayConfig
from django_aws_api_gateway_websockets.management.commands.runlocalgateway import (
    LOGGER_NAME,
    Command,
    banner,
    build_config,
    record_values,
)

RECORD = {
    "api_id": "rec123",
    "stage": "production",
    "target_base_url": "https://example.ngrok.app/ws",
    "routes": {"chat": "https://example.ngrok.app/chat/"},
}


@pytest.fixture(autouse=True)
def _restore_gateway_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """handle() configures the gateway's logger; keep that from leaking into other tests."""
    logger = logging.getLogger(LOGGER_NAME)
    monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))


def options(**given: Any) -> dict[str, Any]:
    """Options as argparse hands them over: every option present, unset ones None."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 8001,
        "pk": None,
        "api_id": None,
        "stage": None,
        "target": None,
        "latency_ms": None,
        "throttle_rate": None,
        "gone_rate": None,
        "idle_timeout": None,
        "max_lifetime": None,
        "enable_controls": None,
        "verbosity": 1,
    }
    values.update(given)
    return values


def test_record_values_are_used_when_no_option_overrides_them() -> None:
    config = build_config(options(), RECORD)
    assert config.api_id == "rec123"
    assert config.stage == "production"
    assert config.target_base_url == "https://example.ngrok.app/ws/"
    assert config.routes == {"chat": "https://example.ngrok.app/chat/"}
    assert (config.host, config.port) == ("127.0.0.1", 8001)
    assert (config.idle_timeout, config.max_lifetime) == (600.0, 7200.0)
    assert (config.latency_ms, config.throttle_rate, config.gone_rate) == (0.0, 0.0, 0.0)
    assert config.secret is None
    assert config.enable_controls is False
    assert (config.api_id_header, config.source_ip_header) == ("X-Gateway-Api-Id", "X-Source-Ip")


def test_header_names_and_controls_are_passed_on() -> None:
    headers = {"api_id_header": "X-Api", "source_ip_header": "X-Client"}
    config = build_config(options(enable_controls=True), RECORD, headers=headers)
    assert (config.api_id_header, config.source_ip_header) == ("X-Api", "X-Client")
    assert config.enable_controls is True
    assert "Test controls:       ON" in "\n".join(banner(config, 8001))


def test_options_override_the_record() -> None:
    config = build_config(
        options(
            host="127.0.0.2",
            port=9000,
            stage="dev",
            target="http://127.0.0.1:8000/ws/",
            latency_ms=25.0,
            throttle_rate=0.1,
            gone_rate=0.2,
            idle_timeout=30.0,
            max_lifetime=60.0,
        ),
        RECORD,
    )
    assert config.api_id == "rec123"
    assert (config.host, config.port, config.stage) == ("127.0.0.2", 9000, "dev")
    assert config.target_base_url == "http://127.0.0.1:8000/ws/"
    assert (config.latency_ms, config.throttle_rate, config.gone_rate) == (25.0, 0.1, 0.2)
    assert (config.idle_timeout, config.max_lifetime) == (30.0, 60.0)
    assert config.routes == RECORD["routes"]


def test_without_a_record_all_three_identity_options_are_required() -> None:
    with pytest.raises(CommandError) as excinfo:
        build_config(options(api_id="abc"), None)
    message = str(excinfo.value)
    assert "--stage" in message
    assert "--target" in message
    assert "--api-id" not in message

    config = build_config(options(api_id="abc", stage="dev", target="http://127.0.0.1:8000/ws"))
    assert (config.api_id, config.stage, config.routes) == ("abc", "dev", {})
    assert config.target_base_url == "http://127.0.0.1:8000/ws/"


def test_a_record_missing_its_api_id_needs_the_option() -> None:
    with pytest.raises(CommandError, match="--api-id"):
        build_config(options(), {**RECORD, "api_id": ""})


def test_invalid_values_become_command_errors() -> None:
    with pytest.raises(CommandError, match="throttle_rate"):
        build_config(options(throttle_rate=3.0), RECORD)


def test_first_gateway_secret_is_sent() -> None:
    config = build_config(
        options(), RECORD, secret_header="X-Gateway-Secret", secrets=["current", "previous"]
    )
    assert (config.secret_header, config.secret) == ("X-Gateway-Secret", "current")
    no_secret = build_config(options(), RECORD, secret_header="X-Gateway-Secret", secrets=[])
    assert no_secret.secret is None
    assert no_secret.secret_header is None


def test_record_values_reads_the_model_fields() -> None:
    routes = [
        SimpleNamespace(route_key="chat", integration_url="http://h/chat/", route_response=True),
        SimpleNamespace(
            route_key="typing", integration_url="http://h/typing/", route_response=False
        ),
    ]
    gateway = SimpleNamespace(
        api_id="xyz",
        stage_name="prod",
        target_base_endpoint="http://h/ws/",
        gateway_secret="s3",
        additional_routes=SimpleNamespace(all=lambda: routes),
    )
    assert record_values(gateway) == {
        "api_id": "xyz",
        "stage": "prod",
        "target_base_url": "http://h/ws/",
        "routes": {"chat": "http://h/chat/", "typing": "http://h/typing/"},
        "routes_without_response": {"typing"},
        "secret": "s3",
    }


def test_banner_gives_the_websocket_url_and_management_endpoint_template() -> None:
    config = GatewayConfig(api_id="abc", stage="dev", target_base_url="http://127.0.0.1:8000/ws/")
    text = "\n".join(banner(config, 8123))
    assert "ws://127.0.0.1:8123/dev" in text
    assert 'WEBSOCKETS["management_endpoint"] = "http://127.0.0.1:8123/{stage}"' in text
    assert "Test controls:       off (--enable-controls for tests and benchmarks)" in text


def test_command_defaults_bind_loopback() -> None:
    parser = Command().create_parser("manage.py", "runlocalgateway")
    parsed = vars(parser.parse_args([]))
    assert (parsed["host"], parsed["port"], parsed["enable_controls"]) == ("127.0.0.1", 8001, None)
    assert vars(parser.parse_args(["--enable-controls"]))["enable_controls"] is True
    parsed = vars(parser.parse_args(["--api-id", "a", "--latency-ms", "5", "--gone-rate", "0.5"]))
    assert (parsed["api_id"], parsed["latency_ms"], parsed["gone_rate"]) == ("a", 5.0, 0.5)
    with pytest.raises(CommandError):
        parser.parse_args(["--pk", "1", "--api-id", "a"])


def _serve_briefly(real_serve: Any) -> Any:
    """A stand-in for ``serve`` that binds for real, then stops as soon as it is ready."""

    async def fake(app: Any, host: str, port: int, stop: Any, on_ready: Any, **kwargs: Any) -> None:
        def ready(bound: int) -> None:
            on_ready(bound)
            stop.set()

        await real_serve(app, host, port, stop, ready, **kwargs)

    return fake


def test_handle_serves_prints_the_banner_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_aws_api_gateway_websockets import localgateway

    monkeypatch.setattr(Command, "_find_record", lambda self, options: (RECORD, ""))
    monkeypatch.setattr(localgateway, "serve", _serve_briefly(localgateway.serve))
    out, err = io.StringIO(), io.StringIO()
    command = Command(stdout=out, stderr=err)
    command.handle(**options(port=0, verbosity=0, target="http://127.0.0.1:9/ws/"))
    text = out.getvalue()
    assert re.search(r"ws://127\.0\.0\.1:\d+/production", text)
    assert re.search(r'"http://127\.0\.0\.1:\d+/\{stage\}"', text)
    assert "Local gateway stopped." in text


def test_handle_turns_ctrl_c_into_a_clean_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_aws_api_gateway_websockets import localgateway

    async def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Command, "_find_record", lambda self, options: (RECORD, ""))
    monkeypatch.setattr(localgateway, "serve", interrupted)
    out = io.StringIO()
    Command(stdout=out, stderr=io.StringIO()).handle(**options(verbosity=0))
    assert "Local gateway stopped." in out.getvalue()


def test_handle_reports_a_busy_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Command, "_find_record", lambda self, options: (RECORD, ""))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"127.0.0.1:{port}"):
            Command(stdout=io.StringIO(), stderr=io.StringIO()).handle(
                **options(port=port, verbosity=0)
            )


def test_handle_explains_how_to_choose_among_several_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hint = "Several ApiGateway records exist: choose one with --pk or --api-id."
    monkeypatch.setattr(Command, "_find_record", lambda self, options: (None, hint))
    with pytest.raises(CommandError) as excinfo:
        Command(stdout=io.StringIO(), stderr=io.StringIO()).handle(**options(verbosity=0))
    assert "--api-id, --stage, --target" in str(excinfo.value)
    assert hint in str(excinfo.value)


def test_logging_is_shown_at_info_unless_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", False)  # So hasHandlers() ignores pytest's.
    Command()._configure_logging(verbosity=1)
    assert logger.level == logging.INFO
    assert len(logger.handlers) == 1

    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setattr(logger, "handlers", [])
    Command()._configure_logging(verbosity=0)
    assert logger.level == logging.WARNING
    assert logger.handlers == []


def test_handle_warns_when_no_record_has_the_api_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a matching record Django refuses every connect: say so at start-up."""
    from django_aws_api_gateway_websockets import localgateway

    monkeypatch.setattr(Command, "_find_record", lambda self, options: (None, ""))
    monkeypatch.setattr(localgateway, "serve", _serve_briefly(localgateway.serve))
    err = io.StringIO()
    Command(stdout=io.StringIO(), stderr=err).handle(
        **options(port=0, verbosity=0, api_id="local", stage="local", target="http://x/ws/")
    )
    assert "No ApiGateway record has api_id 'local'" in err.getvalue()
    assert "Unknown API Gateway." in err.getvalue()
