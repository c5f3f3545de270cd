"""Run the whole system on this machine: web server, local gateway, Celery worker and beat.

``python manage.py rundemo`` migrates, registers the local gateway, two demo users and an
admin (passwords printed and kept in ``.demo/credentials.txt``), then supervises four child
processes until Ctrl-C or SIGTERM, when it stops them in order (the gateway first, so its
``$disconnect`` events still reach Django), and prints how they ended and the passwords.

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

from websockets.demo import credentials
from websockets.demo.environment import (
    DEFAULT_API_ID,
    DEFAULT_STAGE,
    DemoAddresses,
    child_commands,
    choose_broker,
    default_broker_folder,
    demo_environment,
    demo_folder,
)
from websockets.demo.processes import (
    ProcessGroup,
    describe_stop,
    stop_on_signals,
    supervise,
    wait_for_port,
)
from websockets.demo.provisioning import (
    DEMO_ADMIN,
    ensure_demo_admin,
    ensure_demo_users,
    ensure_gateway,
    ensure_schedules,
    forget_local_connections,
)

Users = dict[str, str | None]  # username -> password, None when not known


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
            "--gateway-controls",
            action="store_true",
            help="Turn on the local gateway's test controls (/@local/...; for tests only: "
            "anyone who reaches its port could read messages).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the demo users and the admin new passwords.",
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
            self.print_users(addresses, users)
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
            gateway_controls=options["gateway_controls"],
        )
        self.run_children(addresses, commands, env, users, options["grace"])

    def set_up(self, addresses: DemoAddresses, options: Mapping[str, Any]) -> Users:
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
        reset = options["reset_passwords"]
        users = [*ensure_demo_users(reset_passwords=reset), ensure_demo_admin(reset_password=reset)]
        return credentials.remember(demo_folder() / credentials.FILENAME, users)

    def print_users(self, addresses: DemoAddresses, users: Users) -> None:
        path = demo_folder() / credentials.FILENAME
        self.stdout.write(f"Demo users (passwords kept in {path}):")
        for username, password in users.items():
            shown = password or "(not known here; --reset-passwords sets a new one)"
            self.stdout.write(f"  {username}: {shown}")
        self.stdout.write(f"Admin: {addresses.web_url}admin/ (sign in as {DEMO_ADMIN})")
        self.stdout.write(
            "Windows of one browser share one login: sign in as the second user in another "
            "browser or a private window."
        )

    def run_children(
        self,
        addresses: DemoAddresses,
        commands: Mapping[str, Sequence[str]],
        env: Mapping[str, str],
        users: Users,
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
        self.stdout.write("")
        self.stdout.write(describe_stop(codes))
        self.print_users(addresses, users)
        if ended is not None:
            name, code = ended
            raise CommandError(f"The {name} process ended with exit code {code}; demo stopped.")

    def print_banner(
        self,
        addresses: DemoAddresses,
        public_url: str,
        users: Users,
        ready: bool,
    ) -> None:
        if not ready:
            self.stdout.write(self.style.WARNING("The servers are slow to start; see the log."))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo running: open {addresses.web_url}"))
        self.stdout.write(f"  WebSocket gateway: {public_url}")
        self.print_users(addresses, users)
        self.stdout.write("Quit with CONTROL-C.")
        self.stdout.write("")
