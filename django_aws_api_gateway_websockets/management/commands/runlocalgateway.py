"""Run the local API Gateway stand-in in front of this Django project."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

if TYPE_CHECKING:
    from django_aws_api_gateway_websockets.localgateway import GatewayConfig

LOGGER_NAME = "django_aws_api_gateway_websockets.localgateway"

# Options that, when given, replace the record's (or the dataclass's) value as they are.
_PLAIN_OVERRIDES = (
    "host",
    "port",
    "latency_ms",
    "throttle_rate",
    "gone_rate",
    "idle_timeout",
    "max_lifetime",
    "enable_controls",
)


def record_values(gateway: Any) -> dict[str, Any]:
    """The parts of an ``ApiGateway`` record the local gateway needs, as plain values."""
    routes = list(gateway.additional_routes.all())
    return {
        "api_id": gateway.api_id,
        "stage": gateway.stage_name,
        "target_base_url": gateway.target_base_endpoint,
        "routes": {route.route_key: route.integration_url for route in routes},
        "routes_without_response": {r.route_key for r in routes if not r.route_response},
        # What AWS would send: the current secret, else (never pushed) the pending one.
        "secret": gateway.gateway_secret or gateway.pending_gateway_secret,
    }


def build_config(
    options: Mapping[str, Any],
    record: Mapping[str, Any] | None = None,
    *,
    secret_header: str | None = None,
    secrets: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    keys: tuple[str, str] | None = None,
) -> GatewayConfig:
    """Combine command options with a record's values (options win) into a GatewayConfig.

    ``record`` is the output of :func:`record_values` or None; ``headers`` the names of the
    mapped API id and source IP headers (``api_id_header``, ``source_ip_header``). The
    gateway sends the record's own secret, else the first of ``secrets``. ``keys`` (access key
    id, secret access key) are those Management API calls must be signed with, by default
    the local keys the app's clients use for a loopback endpoint. Raises CommandError
    naming every missing option when neither source supplies api id, stage or target.
    """
    from django_aws_api_gateway_websockets.localgateway import GatewayConfig

    record = record or {}
    api_id = options.get("api_id") or record.get("api_id")
    stage = options.get("stage") or record.get("stage")
    target = options.get("target") or record.get("target_base_url")
    if not (api_id and stage and target):
        missing = [
            flag
            for flag, value in (("--api-id", api_id), ("--stage", stage), ("--target", target))
            if not value
        ]
        source = (
            "The ApiGateway record does not" if record else "Without an ApiGateway record, you must"
        )
        raise CommandError(f"{source} provide {', '.join(missing)}.")

    overrides: dict[str, Any] = {
        name: options[name] for name in _PLAIN_OVERRIDES if options.get(name) is not None
    }
    # API Gateway sends one secret; the settings' list holds several only to allow
    # rotation on the Django side, and the first one is the current.
    secret = record.get("secret") or (secrets[0] if secrets else None)
    key_options: dict[str, Any] = (
        {"access_key_id": keys[0], "secret_access_key": keys[1]} if keys else {}
    )
    try:
        return GatewayConfig(
            api_id=api_id,
            stage=stage,
            target_base_url=target,
            routes=dict(record.get("routes") or {}),
            routes_without_response=frozenset(record.get("routes_without_response") or ()),
            secret_header=secret_header if secret else None,
            secret=secret,
            **dict[str, Any](headers or {}),
            **overrides,
            **key_options,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def management_keys() -> tuple[str, str] | None:
    """The keys this project's clients sign with (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).

    None without both: the app's clients then sign loopback calls with the local keys,
    which the gateway accepts by default.
    """
    from django_aws_api_gateway_websockets.conf import app_settings

    key_id, secret = app_settings.aws_access_key_id, app_settings.aws_secret_access_key
    return (key_id, secret) if key_id and secret else None


def banner(config: GatewayConfig, port: int) -> list[str]:
    """What to print once listening: where browsers connect and what to set in settings."""
    base = f"{config.host}:{port}"
    lines = [
        f"Local API Gateway {config.api_id!r}, stage {config.stage!r}",
        f"  WebSocket URL:       ws://{base}/{config.stage}",
        f"  Forwarding to:       {config.target_base_url}",
    ]
    lines += [
        f"  Route {key!r}: {url}"
        + ("" if config.relays_reply(key) else " (no route response: replies dropped)")
        for key, url in config.routes.items()
    ]
    lines += [
        # The literal {stage} is the placeholder the app's setting formats itself.
        f'  Management endpoint: WEBSOCKETS["management_endpoint"] = "http://{base}/{{stage}}"',
        "  Test controls:       "
        + (
            f"ON: /@local/* at http://{base}/@local/, unsigned Management API calls accepted"
            if config.enable_controls
            else "off (--enable-controls for tests and benchmarks)"
        ),
        (
            "  Management API:      open to any caller (test controls are on)"
            if config.enable_controls
            else f"  Management API:      only calls signed with key {config.access_key_id!r}"
        ),
        "Quit with CONTROL-C.",
    ]
    return lines


class Command(BaseCommand):
    help = (
        "Run a local stand-in for AWS API Gateway: browsers connect to it over WebSocket, "
        "it forwards events to this project, and serves the Management API on the same port."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to bind.")
        parser.add_argument("--port", type=int, default=8001, help="Port to bind.")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--pk", type=int, help="Primary key of the ApiGateway to stand in for.")
        which.add_argument("--api-id", help="api_id of the ApiGateway (or the id to report).")
        parser.add_argument("--stage", help="Stage name (default: the record's stage_name).")
        parser.add_argument(
            "--target",
            help="Base URL Django serves connect/disconnect/default under "
            "(default: the record's target_base_endpoint).",
        )
        parser.add_argument("--latency-ms", type=float, help="Delay each Management API call.")
        parser.add_argument(
            "--throttle-rate", type=float, help="Fraction of POSTs answered 429 (0 to 1)."
        )
        parser.add_argument(
            "--gone-rate", type=float, help="Fraction of POSTs answered 410 Gone (0 to 1)."
        )
        parser.add_argument(
            "--idle-timeout", type=float, help="Close sockets idle this many seconds."
        )
        parser.add_argument(
            "--max-lifetime", type=float, help="Close sockets open this many seconds."
        )
        parser.add_argument(
            "--enable-controls",
            action="store_true",
            default=None,
            help="For tests and benchmarks only: serve the /@local/* control API (faults, "
            "statistics, last messages) and accept unsigned Management API calls.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_aws_api_gateway_websockets.conf import app_settings

        # Imported here, not with the module, so that a project installed without the
        # "localgateway" extra gets one line naming it instead of a traceback.
        try:
            import django_aws_api_gateway_websockets.localgateway  # noqa: F401
        except ImportError as exc:
            raise CommandError(str(exc)) from exc

        record, hint = self._find_record(options)
        try:
            config = build_config(
                options,
                record,
                secret_header=app_settings.gateway_secret_header,
                secrets=list(app_settings.gateway_secrets or ()),
                headers={
                    "api_id_header": app_settings.api_id_header,
                    "source_ip_header": app_settings.source_ip_header,
                },
                keys=management_keys(),
            )
        except CommandError as exc:
            raise CommandError(f"{exc} {hint}".strip()) from exc
        if record is None:
            # Django looks each event's API id up among the records: none, nothing connects.
            self.stderr.write(
                f"No ApiGateway record has api_id {config.api_id!r}: Django will refuse every "
                'connect as "Unknown API Gateway." Create one with that api_id and stage '
                f"{config.stage!r} (see the quickstart's Try it locally)."
            )

        self._configure_logging(options["verbosity"])
        try:
            asyncio.run(self._serve(config))
        except KeyboardInterrupt:
            pass  # Ctrl-C: asyncio.run already shut the gateway down gracefully.
        except OSError as exc:
            raise CommandError(f"Cannot listen on {config.host}:{config.port}: {exc}") from exc
        self.stdout.write("Local gateway stopped.")

    def _find_record(self, options: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """Load the ApiGateway to stand in for; return its values and a hint for errors."""
        # Imported here: the models need the app registry, and this module must
        # stay importable without it (its build_config is tested on its own).
        from django_aws_api_gateway_websockets.models import ApiGateway

        try:
            if options.get("pk") is not None:
                try:
                    gateway = ApiGateway.objects.get(pk=options["pk"])
                except ApiGateway.DoesNotExist as exc:
                    raise CommandError(f"No ApiGateway with pk={options['pk']}.") from exc
                return record_values(gateway), ""
            if options.get("api_id"):
                found = ApiGateway.objects.filter(api_id=options["api_id"]).first()
                return (record_values(found) if found else None), ""
            candidates = list(ApiGateway.objects.all()[:2])
        except DatabaseError as exc:
            # A fresh checkout without migrations can still run from options alone.
            self.stderr.write(f"Could not read ApiGateway records ({exc}); using options only.")
            return None, ""
        if len(candidates) == 1:
            return record_values(candidates[0]), ""
        if candidates:
            return None, "Several ApiGateway records exist: choose one with --pk or --api-id."
        return None, ""

    def _configure_logging(self, verbosity: int) -> None:
        """Show the gateway's per-event log lines unless the project already routes them."""
        logger = logging.getLogger(LOGGER_NAME)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING if verbosity == 0 else logging.INFO)
        if verbosity >= 1 and not logger.hasHandlers():
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(handler)

    async def _serve(self, config: GatewayConfig) -> None:
        from django_aws_api_gateway_websockets.localgateway import create_app, serve

        def ready(port: int) -> None:
            for line in banner(config, port):
                self.stdout.write(line)

        await serve(
            create_app(config),
            config.host,
            config.port,
            asyncio.Event(),
            ready,
            handle_sigterm=True,
        )
