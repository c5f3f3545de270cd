"""Run the whole system on this machine: web server, local gateway, Celery worker and beat.

``python manage.py rundemo`` migrates, registers the local gateway and two demo users, then
supervises four child processes until Ctrl-C or SIGTERM, when it stops them in order (the
gateway first, so its ``$disconnect`` events still reach Django).

Its parts live in ``websockets.demo``; this module only wires them to the command line.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from websockets.demo.environment import (
    DEFAULT_API_ID,
    DEFAULT_STAGE,
    DemoAddresses,
    child_commands,
    choose_broker,
    default_broker_folder,
    demo_environment,
)
from websockets.demo.processes import ProcessGroup, stop_on_signals, supervise, wait_for_port
from websockets.demo.provisioning import (
    ensure_demo_users,
    ensure_gateway,
    ensure_schedules,
    forget_local_connections,
)


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, register the local gateway and demo users, then run the web "
        "server, the local API Gateway, a Celery worker and beat until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface the servers bind.")
        parser.add_argument("--port", type=int, default=8000, help="Port of the web server.")
        parser.add_argument(
            "--gateway-port", type=int, default=8001, help="Port of the local gateway."
        )
        parser.add_argument("--api-id", default=DEFAULT_API_ID, help="The gateway's api id.")
        parser.add_argument("--stage", default=DEFAULT_STAGE, help="The gateway's stage.")
        parser.add_argument(
            "--target", help="URL the gateway forwards events to (default: http://HOST:PORT/ws/)."
        )
        parser.add_argument(
            "--public-url",
            help="WebSocket URL browsers use (default: ws://HOST:GATEWAY_PORT/STAGE).",
        )
        parser.add_argument("--celery-app", default="worker", help="Celery app for -A.")
        parser.add_argument("--concurrency", type=int, default=4, help="Worker threads.")
        parser.add_argument("--no-beat", action="store_true", help="Do not run Celery beat.")
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Give the demo users new passwords."
        )
        parser.add_argument(
            "--setup-only",
            action="store_true",
            help="Migrate and create the records, then exit (docker-compose's setup service).",
        )
        parser.add_argument(
            "--grace", type=float, default=10.0, help="Seconds each child gets to stop."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        addresses = DemoAddresses(
            options["host"], options["port"], options["gateway_port"], options["stage"]
        )
        users = self.set_up(addresses, options)
        if options["setup_only"]:
            self.print_users(users)
            return
        configured = os.environ.get("CELERY_BROKER_URL") or getattr(
            settings, "CELERY_BROKER_URL", ""
        )
        broker = choose_broker(configured or "redis://127.0.0.1:6379/0", default_broker_folder())
        if broker.folder:
            Path(broker.folder).mkdir(parents=True, exist_ok=True)
            self.stdout.write(self.style.WARNING(broker.note))
        else:
            self.stdout.write(broker.note)
        env = demo_environment(addresses, broker, public_url=options["public_url"])
        commands = child_commands(
            addresses,
            api_id=options["api_id"],
            celery_app=options["celery_app"],
            concurrency=options["concurrency"],
            beat=not options["no_beat"],
        )
        self.run_children(addresses, commands, env, users, options["grace"])

    def set_up(self, addresses: DemoAddresses, options: Mapping[str, Any]) -> list[Any]:
        verbosity = options.get("verbosity", 1)
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        gateway = ensure_gateway(
            options["api_id"], options["stage"], options["target"] or addresses.target_url
        )
        forgotten = forget_local_connections(gateway)
        self.stdout.write(
            f"ApiGateway {gateway.api_id!r} (pk {gateway.pk}), stage {gateway.stage_name!r}, "
            f"forwarding to {gateway.target_base_endpoint}"
            + (f"; {forgotten} stale session(s) marked disconnected" if forgotten else "")
        )
        for module in ensure_schedules():
            self.stdout.write(f"Periodic tasks of {module} registered with django-celery-beat.")
        return ensure_demo_users(reset_passwords=options["reset_passwords"])

    def print_users(self, users: Sequence[tuple[str, str | None]]) -> None:
        self.stdout.write("Demo users:")
        for username, password in users:
            shown = password or "(unchanged; --reset-passwords sets a new one)"
            self.stdout.write(f"  {username}: {shown}")

    def run_children(
        self,
        addresses: DemoAddresses,
        commands: Mapping[str, Sequence[str]],
        env: Mapping[str, str],
        users: Sequence[tuple[str, str | None]],
        grace: float,
    ) -> None:
        group = ProcessGroup(self.stdout, grace=grace)
        stop = threading.Event()
        cwd = str(getattr(settings, "BASE_DIR", Path.cwd()))
        ended = None
        with stop_on_signals(stop):
            try:
                for name, argv in commands.items():
                    group.start(name, argv, env, cwd=cwd)
                ready = wait_for_port(addresses.host, addresses.port, 30) and wait_for_port(
                    addresses.host, addresses.gateway_port, 30
                )
                self.print_banner(addresses, env["WEBSOCKETS_PUBLIC_URL"], users, ready)
                ended = supervise(group, stop)
            finally:
                self.stdout.write("Stopping the demo…")
                codes = group.stop()
        summary = ", ".join(f"{name} {code}" for name, code in codes.items())
        self.stdout.write(f"Stopped ({summary}).")
        if ended is not None:
            name, code = ended
            raise CommandError(f"The {name} process ended with exit code {code}; demo stopped.")

    def print_banner(
        self,
        addresses: DemoAddresses,
        public_url: str,
        users: Sequence[tuple[str, str | None]],
        ready: bool,
    ) -> None:
        if not ready:
            self.stdout.write(self.style.WARNING("The servers are slow to start; see the log."))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo running: open {addresses.web_url}"))
        self.stdout.write(f"  WebSocket gateway: {public_url}")
        self.print_users(users)
        self.stdout.write("Quit with CONTROL-C.")
        self.stdout.write("")
