"""``manage.py rundemo``: its pure helpers, its process supervision and its set-up."""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
import threading
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from tests.support import wait_until
from websockets.demo import credentials, environment, processes, provisioning
from websockets.demo.environment import BrokerChoice, DemoAddresses
from websockets.demo.processes import ProcessGroup, describe_stop
from websockets.management.commands import rundemo as rundemo_command

PYTHON = sys.executable
REDIS = BrokerChoice("redis://127.0.0.1:6379/0", None, "")
FILESYSTEM = BrokerChoice("filesystem://", "/tmp/broker", "")


@pytest.fixture(autouse=True)
def demo_folder(monkeypatch, tmp_path):
    """``rundemo`` keeps its files in ``tmp_path``, never in this repository's ``.demo/``."""
    folder = tmp_path / "demo"
    monkeypatch.setenv("DEMO_FOLDER", str(folder))
    return folder


# Addresses


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("", "127.0.0.1"), ("10.0.0.5", "10.0.0.5")],
)
def test_connect_host_turns_wildcards_into_loopback(host, expected):
    assert environment.connect_host(host) == expected


def test_addresses_of_the_default_demo():
    addresses = DemoAddresses()

    assert addresses.web_url == "http://127.0.0.1:8000/"
    assert addresses.target_url == "http://127.0.0.1:8000/ws/"
    assert addresses.management_endpoint == "http://127.0.0.1:8001/{stage}"
    assert addresses.public_url == "ws://127.0.0.1:8001/local"
    assert addresses.allowed_hosts == ["127.0.0.1", "localhost"]
    assert addresses.trusted_origins == ["http://127.0.0.1:8000", "http://localhost:8000"]


def test_addresses_of_other_hosts_and_ports():
    addresses = DemoAddresses("::1", 9000, 9001, "dev")

    assert addresses.web_url == "http://[::1]:9000/"
    assert addresses.public_url == "ws://[::1]:9001/dev"
    assert addresses.management_endpoint == "http://[::1]:9001/{stage}"
    assert addresses.allowed_hosts == ["::1", "127.0.0.1", "localhost"]
    assert addresses.trusted_origins[0] == "http://[::1]:9000"
    assert DemoAddresses("0.0.0.0").web_url == "http://127.0.0.1:8000/"


# The broker


def test_a_redis_that_answers_is_used():
    ping = mock.Mock(return_value=True)

    choice = environment.choose_broker("redis://cache:6379/2", "/tmp/broker", ping)

    ping.assert_called_once_with("redis://cache:6379/2")
    assert choice == BrokerChoice(
        "redis://cache:6379/2", None, "Celery broker: Redis at redis://cache:6379/2"
    )
    assert choice.is_filesystem is False


def test_a_silent_redis_falls_back_to_the_filesystem_broker():
    choice = environment.choose_broker("rediss://cache:6379/2", "/tmp/broker", lambda url: False)

    assert choice.url == "filesystem://"
    assert choice.folder == "/tmp/broker"
    assert choice.is_filesystem is True
    assert choice.note.startswith("Redis at rediss://cache:6379/2 did not answer")
    assert "rooms keep their offsets and history in Redis" in choice.note


def test_the_filesystem_broker_can_be_asked_for():
    ping = mock.Mock()

    choice = environment.choose_broker("filesystem://", "/tmp/broker", ping)

    ping.assert_not_called()
    assert (choice.url, choice.folder) == ("filesystem://", "/tmp/broker")


def test_other_brokers_are_used_as_they_are():
    choice = environment.choose_broker("amqp://guest@rabbit//", "/tmp/broker", mock.Mock())

    assert (choice.url, choice.folder) == ("amqp://guest@rabbit//", None)


def test_redis_answers_pings():
    client = mock.Mock()
    client.ping.return_value = True
    with mock.patch("redis.Redis.from_url", return_value=client) as from_url:
        assert environment.redis_answers("redis://cache:6379/0", timeout=0.25) is True

    from_url.assert_called_once_with(
        "redis://cache:6379/0", socket_timeout=0.25, socket_connect_timeout=0.25
    )
    client.close.assert_called_once_with()


def test_redis_answers_no_for_closed_ports_and_bad_urls():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # Bound but not listening: connections are refused.
        assert environment.redis_answers(f"redis://127.0.0.1:{port}/0", timeout=0.5) is False
    assert environment.redis_answers("redis://127.0.0.1:not-a-port/0") is False


def test_demo_folder_is_beside_manage_py_unless_asked(monkeypatch, settings, tmp_path):
    assert environment.demo_folder() == tmp_path / "demo"
    monkeypatch.delenv("DEMO_FOLDER")
    settings.BASE_DIR = tmp_path
    assert environment.demo_folder() == tmp_path / ".demo"


def test_default_broker_folder(monkeypatch, demo_folder):
    monkeypatch.delenv("CELERY_FILESYSTEM_FOLDER", raising=False)
    assert environment.default_broker_folder() == str(demo_folder / "broker")
    monkeypatch.setenv("CELERY_FILESYSTEM_FOLDER", "/srv/broker")
    assert environment.default_broker_folder() == "/srv/broker"


# The children's environment and commands


def test_demo_environment_sets_every_name_it_promises():
    env = environment.demo_environment(DemoAddresses(), REDIS, base={"PATH": "/bin"})

    assert env["PATH"] == "/bin"
    assert set(environment.ENV_NAMES) <= set(env)
    assert env["WEBSOCKETS_MANAGEMENT_ENDPOINT"] == "http://127.0.0.1:8001/{stage}"
    assert env["WEBSOCKETS_PUBLIC_URL"] == "ws://127.0.0.1:8001/local"
    assert env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("local", "local")
    assert env["AWS_GATEWAY_REGION_NAME"] == "us-east-1"
    assert env["DJANGO_ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "http://127.0.0.1:8000,http://localhost:8000"
    assert env["DJANGO_SETTINGS_MODULE"] == "tests.settings"
    assert "CELERY_FILESYSTEM_FOLDER" not in env


def test_demo_environment_of_the_filesystem_broker_names_its_folder():
    base = {"AWS_GATEWAY_REGION_NAME": "eu-west-1", "DJANGO_SETTINGS_MODULE": "mysite.settings"}

    env = environment.demo_environment(DemoAddresses(), FILESYSTEM, public_url="ws://x/", base=base)

    assert env["CELERY_BROKER_URL"] == "filesystem://"
    assert env["CELERY_FILESYSTEM_FOLDER"] == "/tmp/broker"
    assert env["WEBSOCKETS_PUBLIC_URL"] == "ws://x/"
    assert env["AWS_GATEWAY_REGION_NAME"] == "eu-west-1"
    assert env["DJANGO_SETTINGS_MODULE"] == "mysite.settings"


def test_demo_environment_drops_a_stale_broker_folder(monkeypatch):
    monkeypatch.setenv("CELERY_FILESYSTEM_FOLDER", "/old")

    env = environment.demo_environment(DemoAddresses(), REDIS)

    assert "CELERY_FILESYSTEM_FOLDER" not in env
    assert os.environ["CELERY_FILESYSTEM_FOLDER"] == "/old"  # The caller's stays untouched.


def test_child_commands():
    commands = environment.child_commands(
        DemoAddresses("0.0.0.0", 9000, 9001), api_id="demo", concurrency=2, python="py"
    )

    assert list(commands) == ["web", "gateway", "worker", "beat"]
    assert commands["web"] == ["py", "-m", "django", "runserver", "--noreload", "0.0.0.0:9000"]
    assert commands["gateway"] == [
        *("py", "-m", "django", "runlocalgateway", "--host", "0.0.0.0", "--port", "9001"),
        *("--api-id", "demo"),
    ]
    assert commands["worker"] == [
        *("py", "-m", "celery", "-A", "worker", "worker", "-l", "info", "-P", "threads"),
        *("-c", "2"),
    ]
    assert commands["beat"] == ["py", "-m", "celery", "-A", "worker", "beat", "-l", "info"]
    assert "beat" not in environment.child_commands(DemoAddresses(), beat=False)
    assert "--enable-controls" not in commands["gateway"]
    controlled = environment.child_commands(DemoAddresses(), gateway_controls=True)
    assert controlled["gateway"][-1] == "--enable-controls"


# Supervising processes


def python(code: str) -> list[str]:
    return [PYTHON, "-c", code]


SLEEPER = python("import time; print('up', flush=True); time.sleep(60)")
STUBBORN = python(
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(60)"
)


def wait_for_output(out: io.StringIO, text: str, timeout: float = 10.0) -> None:
    wait_until(
        lambda: text in out.getvalue(), timeout, 0.05, lambda: f"{text!r} in {out.getvalue()!r}"
    )


def test_process_group_prefixes_output_and_stops_children():
    out = io.StringIO()
    group = ProcessGroup(out, grace=5)
    group.start("web", SLEEPER, os.environ)
    group.start("gateway", SLEEPER, os.environ)
    wait_for_output(out, "[gateway ] up")
    wait_for_output(out, "[web     ] up")
    assert group.exited() is None

    codes = group.stop()

    assert codes == {"web": -signal.SIGTERM, "gateway": -signal.SIGTERM}


def test_process_group_reports_the_first_child_to_end():
    out = io.StringIO()
    group = ProcessGroup(out, grace=5)
    group.start("web", SLEEPER, os.environ)
    crashed = group.start("worker", python("print('bye'); raise SystemExit(3)"), os.environ)
    crashed.wait(10)

    assert group.exited() == ("worker", 3)
    assert group.stop()["web"] == -signal.SIGTERM
    assert "[worker  ] bye" in out.getvalue()


def test_process_group_kills_children_that_ignore_sigterm():
    out = io.StringIO()
    group = ProcessGroup(out, grace=0.5)
    group.start("beat", STUBBORN, os.environ)
    wait_for_output(out, "[beat    ] up")

    assert group.stop() == {"beat": -signal.SIGKILL}
    assert "did not stop in 0.5 s; killing it" in out.getvalue()


def test_process_group_stops_the_gateway_first():
    events = []

    class FakeProcess:
        def __init__(self, argv, **kwargs):
            self.name = argv[0]
            self.returncode = None
            self.stdout = None
            assert kwargs["start_new_session"] is True

        def poll(self):
            return self.returncode

        def terminate(self):
            events.append(self.name)
            self.returncode = 0

        def wait(self, timeout=None):
            return self.returncode

    group = ProcessGroup(io.StringIO(), popen=FakeProcess)
    for name in ("web", "gateway", "worker", "beat"):
        group.start(name, [name], {})

    assert group.stop() == {"web": 0, "gateway": 0, "worker": 0, "beat": 0}
    assert events == ["gateway", "web", "worker", "beat"]


def test_process_group_leaves_ended_children_alone():
    group = ProcessGroup(io.StringIO(), grace=5)
    process = group.start("web", python("pass"), os.environ)
    process.wait(10)

    assert group.stop() == {"web": 0}


def test_supervise_returns_when_asked_to_stop_or_when_a_child_ends():
    stop = threading.Event()
    group = mock.Mock()
    group.exited.side_effect = [None, None, ("gateway", 1)]

    assert processes.supervise(group, stop, interval=0.01) == ("gateway", 1)
    stop.set()
    assert processes.supervise(group, stop) is None


def test_stop_on_signals_sets_the_event_then_restores_the_handlers():
    stop = threading.Event()
    before = signal.getsignal(signal.SIGUSR1)

    with processes.stop_on_signals(stop, [signal.SIGUSR1]):
        os.kill(os.getpid(), signal.SIGUSR1)
        assert stop.wait(5)

    assert signal.getsignal(signal.SIGUSR1) is before


def test_wait_for_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert processes.wait_for_port("0.0.0.0", port, timeout=2) is True
    assert processes.wait_for_port("127.0.0.1", port, timeout=0.3, interval=0.1) is False


# Set-up in the database


@pytest.mark.django_db
def test_ensure_gateway_creates_then_updates_the_record():
    gateway = provisioning.ensure_gateway("local", "local", "http://127.0.0.1:8000/ws/")

    assert (gateway.api_name, gateway.api_created) == ("Local demo gateway", True)
    moved = provisioning.ensure_gateway("local", "dev", "http://web:8000/ws")
    assert moved.pk == gateway.pk
    gateway.refresh_from_db()
    assert (gateway.stage_name, gateway.target_base_endpoint) == ("dev", "http://web:8000/ws/")
    assert provisioning.ensure_gateway("other", "s", "http://h/ws/").api_name == "Local other"
    assert ApiGateway.objects.count() == 2


@pytest.mark.django_db
def test_the_demo_gateway_has_its_own_secret_kept_across_restarts():
    first = provisioning.ensure_gateway("local", "local", "http://127.0.0.1:8000/ws/")
    again = provisioning.ensure_gateway("local", "local", "http://127.0.0.1:8000/ws/")
    other = provisioning.ensure_gateway("other", "s", "http://h/ws/")
    assert len(first.gateway_secret) >= 32
    assert again.gateway_secret == first.gateway_secret
    assert other.gateway_secret not in ("", first.gateway_secret)


@pytest.mark.django_db
def test_ensure_demo_users_prints_passwords_only_when_it_sets_them():
    first = dict(provisioning.ensure_demo_users())

    assert set(first) == {"alice", "bob"}
    user_model = get_user_model()
    alice = user_model.objects.get(username="alice")
    assert alice.check_password(first["alice"])
    assert alice.has_perm("websockets.can_use_chat")
    assert first["alice"] != first["bob"]

    assert dict(provisioning.ensure_demo_users()) == {"alice": None, "bob": None}
    reset = dict(provisioning.ensure_demo_users(reset_passwords=True))
    alice.refresh_from_db()
    assert reset["alice"] not in (None, first["alice"])
    assert alice.check_password(reset["alice"])


@pytest.mark.django_db
def test_ensure_demo_admin_is_a_staff_superuser():
    name, password = provisioning.ensure_demo_admin()

    admin = get_user_model().objects.get(username=name)
    assert (name, admin.is_staff, admin.is_superuser) == ("admin", True, True)
    assert admin.check_password(password)
    assert provisioning.ensure_demo_admin() == ("admin", None)
    assert provisioning.ensure_demo_admin(reset_password=True)[1] not in (None, password)


def test_credentials_are_remembered_for_later_runs(tmp_path):
    path = tmp_path / ".demo" / "credentials.txt"

    assert credentials.remember(path, [("alice", "a1"), ("admin", None)]) == {
        "alice": "a1",
        "admin": None,
    }
    assert credentials.remember(path, [("alice", None), ("admin", "x9")]) == {
        "alice": "a1",
        "admin": "x9",
    }
    assert credentials.read(path) == {"alice": "a1", "admin": "x9"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert credentials.read(tmp_path / "missing.txt") == {}


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (
            {"gateway": 0, "web": -signal.SIGTERM, "worker": 0, "beat": -signal.SIGINT},
            "Demo stopped cleanly (gateway, web, worker, beat shut down).",
        ),
        (
            {"gateway": 2, "web": -signal.SIGKILL, "worker": -signal.SIGSEGV, "beat": None},
            "Demo stopped; the gateway exited with code 2; the web did not stop in time and was "
            "killed; the worker was ended by SIGSEGV; the beat was still running.",
        ),
    ],
)
def test_describe_stop(codes, expected):
    assert describe_stop(codes) == expected


@pytest.mark.django_db
def test_ensure_demo_users_without_the_permission_model():
    [(name, password)] = provisioning.ensure_demo_users(["carol"], permission="nosuch.perm")

    assert name == "carol"
    assert password
    assert not get_user_model().objects.get(username="carol").user_permissions.exists()


@pytest.mark.django_db
def test_ensure_schedules_skips_apps_that_are_not_installed():
    assert provisioning.ensure_schedules(["tasks.schedules", "notinstalled.schedules"]) == [
        "tasks.schedules"
    ]
    assert PeriodicTask.objects.filter(task="tasks.tasks.hourly_announcement").exists()


@pytest.mark.django_db
def test_forget_local_connections():
    gateway = provisioning.ensure_gateway("local", "local", "http://127.0.0.1:8000/ws/")
    WebSocketSession.objects.create(connection_id="a", api_gateway=gateway)
    WebSocketSession.objects.create(connection_id="b", api_gateway=gateway, connected=False)
    WebSocketSession.objects.create(connection_id="c")

    assert provisioning.forget_local_connections(gateway) == 1
    assert list(WebSocketSession.objects.filter(connected=True).values_list("connection_id")) == [
        ("c",)
    ]


# The command


@pytest.mark.django_db
def test_setup_only(demo_folder):
    out = io.StringIO()
    call_command("rundemo", "--setup-only", "--port", "9000", stdout=out)

    text = out.getvalue()
    gateway = ApiGateway.objects.get(api_id="local")
    assert gateway.target_base_endpoint == "http://127.0.0.1:9000/ws/"
    assert "ApiGateway 'local'" in text
    assert "Periodic tasks of tasks.schedules registered" in text
    assert "Demo users (passwords kept in " in text
    passwords = {}
    for username in ("alice", "bob", "admin"):
        passwords[username] = text.split(f"\n  {username}: ")[1].split()[0]
        assert get_user_model().objects.get(username=username).check_password(passwords[username])
    assert get_user_model().objects.get(username="admin").is_superuser
    assert "Admin: http://127.0.0.1:9000/admin/ (sign in as admin)" in text
    assert "another browser or a private window" in text
    assert credentials.read(demo_folder / "credentials.txt") == passwords

    WebSocketSession.objects.create(connection_id="stale", api_gateway=gateway)
    out = io.StringIO()
    call_command("rundemo", "--setup-only", "--target", "http://web:8000/ws/", stdout=out)
    # Unchanged passwords are shown again from the credentials file.
    assert f"  alice: {passwords['alice']}\n" in out.getvalue()
    assert "1 stale session(s) marked disconnected" in out.getvalue()
    assert ApiGateway.objects.get().target_base_endpoint == "http://web:8000/ws/"
    (demo_folder / "credentials.txt").unlink()
    out = io.StringIO()
    call_command("rundemo", "--setup-only", stdout=out)
    assert "  admin: (not known here; --reset-passwords sets a new one)" in out.getvalue()


def fake_children(**commands):
    return mock.patch.object(rundemo_command, "child_commands", return_value=commands)


@pytest.mark.django_db
def test_run_starts_children_and_stops_them_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_FILESYSTEM_FOLDER", str(tmp_path / "broker"))
    seen = {}

    def supervise(group, stop, interval=0.5):
        seen["children"] = sorted(group.children)
        return None  # As after Ctrl-C.

    out = io.StringIO()
    with (
        fake_children(web=SLEEPER, worker=SLEEPER),
        mock.patch.object(environment, "redis_answers", return_value=False),
        mock.patch.object(rundemo_command, "wait_for_port", return_value=True),
        mock.patch.object(rundemo_command, "supervise", side_effect=supervise),
    ):
        call_command("rundemo", "--grace", "5", stdout=out)

    text = out.getvalue()
    assert seen["children"] == ["web", "worker"]
    assert (tmp_path / "broker").is_dir()
    assert "using kombu's filesystem broker in" in text
    assert "Demo running: open http://127.0.0.1:8000/" in text
    assert "WebSocket gateway: ws://127.0.0.1:8001/local" in text
    assert "Quit with CONTROL-C." in text
    assert "Demo stopped cleanly (web, worker shut down)." in text
    # The passwords are repeated once the children's logs have scrolled them away.
    closing = text.split("Demo stopped cleanly")[1]
    assert "  alice: " in closing
    assert "  admin: " in closing


@pytest.mark.django_db
def test_run_stops_everything_when_a_child_dies(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    out = io.StringIO()
    with (
        fake_children(web=SLEEPER, gateway=python("raise SystemExit(2)")),
        mock.patch.object(environment, "redis_answers", return_value=True),
        mock.patch.object(rundemo_command, "wait_for_port", return_value=False),
        pytest.raises(CommandError, match="The gateway process ended with exit code 2"),
    ):
        call_command("rundemo", "--public-url", "ws://demo.example/ws", stdout=out)

    text = out.getvalue()
    assert "Celery broker: Redis at redis://127.0.0.1:6379/13" in text
    assert "The servers are slow to start" in text
    assert "WebSocket gateway: ws://demo.example/ws" in text
    assert "Demo stopped; the gateway exited with code 2." in text


def test_child_environment_reaches_the_children(tmp_path):
    group = ProcessGroup(io.StringIO(), grace=5)
    env = environment.demo_environment(DemoAddresses(), REDIS)
    process = group.start(
        "env",
        python("import os; print(os.environ['WEBSOCKETS_MANAGEMENT_ENDPOINT'])"),
        env,
        cwd=str(tmp_path),
    )
    process.wait(10)
    group.stop()

    assert "[env     ] http://127.0.0.1:8001/{stage}" in group.out.getvalue()
    assert process.args[0] == PYTHON
