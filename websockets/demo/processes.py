"""Child processes started, watched and stopped together."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from .environment import connect_host

# Children stopped before the others, in this order.
STOP_FIRST = ("gateway",)


class ProcessGroup:
    """Child processes started together, watched together and stopped together.

    Each child runs in its own session, so a Ctrl-C reaches only this command, which
    then stops the children in a chosen order. Output lines are prefixed with the name.
    """

    def __init__(
        self,
        out: IO[str] | Any = None,
        *,
        grace: float = 10.0,
        popen: Callable[..., subprocess.Popen[Any]] = subprocess.Popen,
    ) -> None:
        self.out = out if out is not None else sys.stdout
        self.grace = grace
        self.popen = popen
        self.children: dict[str, subprocess.Popen[Any]] = {}
        self._readers: list[threading.Thread] = []
        self._write_lock = threading.Lock()
        self.width = 8

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
    ) -> subprocess.Popen[Any]:
        process = self.popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            errors="replace",
            start_new_session=True,
        )
        self.children[name] = process
        self.width = max(self.width, len(name))
        if process.stdout is not None:
            reader = threading.Thread(
                target=self._relay, args=(name, process.stdout), name=f"rundemo-{name}", daemon=True
            )
            reader.start()
            self._readers.append(reader)
        return process

    def _relay(self, name: str, stream: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                self.write(f"[{name:<{self.width}}] {line.rstrip()}")

    def write(self, line: str) -> None:
        with self._write_lock:
            self.out.write(line + "\n")
            with contextlib.suppress(AttributeError, ValueError):
                self.out.flush()

    def exited(self) -> tuple[str, int] | None:
        """The first child found to have ended, with its exit code; None while all run."""
        for name, process in self.children.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, first: Sequence[str] = STOP_FIRST) -> dict[str, int | None]:
        """Terminate the ``first`` children, then the rest; kill whatever outlives ``grace``.

        Returns each child's exit code (negative: ended by that signal).
        """
        ordered = [n for n in first if n in self.children]
        rest = [n for n in self.children if n not in ordered]
        waves = [[name] for name in ordered]
        if rest:
            waves.append(rest)
        for wave in waves:
            self._stop_wave(wave)
        for reader in self._readers:
            reader.join(timeout=2)
        return {name: process.returncode for name, process in self.children.items()}

    def _stop_wave(self, names: Sequence[str]) -> None:
        running = [self.children[n] for n in names if self.children[n].poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + self.grace
        for name, process in zip(names, [self.children[n] for n in names], strict=True):
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.write(f"[{name:<{self.width}}] did not stop in {self.grace:g} s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()


# A child ended by the signal we stop it with has stopped cleanly.
CLEAN_EXITS = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


def describe_stop(codes: Mapping[str, int | None]) -> str:
    """How the children ended, in one line: all cleanly, or which did not and how."""
    troubles = [
        f"the {name} {how_it_ended(code)}"
        for name, code in codes.items()
        if code not in CLEAN_EXITS
    ]
    if not troubles:
        return f"Demo stopped cleanly ({', '.join(codes)} shut down)."
    return f"Demo stopped; {'; '.join(troubles)}."


def how_it_ended(code: int | None) -> str:
    if code is None:
        return "was still running"
    if code == -signal.SIGKILL:
        return "did not stop in time and was killed"
    if code < 0:
        return f"was ended by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def wait_for_port(host: str, port: int, timeout: float, interval: float = 0.2) -> bool:
    """True once something accepts TCP connections on ``host:port`` within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((connect_host(host), port), timeout=interval):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)


def supervise(
    group: ProcessGroup, stop: threading.Event, interval: float = 0.5
) -> tuple[str, int] | None:
    """Wait until ``stop`` is set or a child ends; return that child and its code, if any."""
    while not stop.is_set():
        ended = group.exited()
        if ended is not None:
            return ended
        stop.wait(interval)
    return None


@contextlib.contextmanager
def stop_on_signals(
    stop: threading.Event, signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[threading.Event]:
    """Set ``stop`` on each of ``signals`` for the duration of the block (main thread only)."""
    previous = {}
    for signum in signals:
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
