"""Serving an aiohttp application: in the foreground, or in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from aiohttp import web

from .app import create_app
from .config import GatewayConfig
from .keys import STATE_KEY
from .state import GatewayState

T = TypeVar("T")

# How long shutdown waits for handlers (each sending $disconnect) before cancelling them.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket; port 0 picks a free port.

    Binding ourselves (rather than letting aiohttp do it) makes the chosen port
    available through a public API before any request arrives.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def serve(
    app: web.Application,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[int], None] | None = None,
    *,
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    handle_sigterm: bool = False,
) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set (or the task is cancelled).

    ``on_ready`` receives the bound port once connections are accepted. Shutdown
    closes open sockets first, so ``$disconnect`` events still reach the target.
    """
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    sigterm_installed = False
    try:
        sock = bind_socket(host, port)
        site = web.SockSite(runner, sock)
        await site.start()
        if handle_sigterm:
            # Only possible in the main thread on Unix; elsewhere Ctrl-C still works.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGTERM, stop.set)
                sigterm_installed = True
        if on_ready is not None:
            on_ready(sock.getsockname()[1])
        await stop.wait()
    finally:
        if sigterm_installed:
            loop.remove_signal_handler(signal.SIGTERM)
        await runner.cleanup()


class ServerThread:
    """Runs an aiohttp application on its own event loop in a daemon thread.

    Usable as a context manager; ``base_url`` and ``port`` are valid once started.
    """

    def __init__(
        self,
        app: web.Application,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        start_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.shutdown_timeout = shutdown_timeout
        self.start_timeout = start_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (for ``asyncio.run_coroutine_threadsafe``)."""
        if self._loop is None:
            raise RuntimeError("server is not running")
        return self._loop

    def start(self) -> ServerThread:
        """Start serving and wait until the port is bound; re-raise startup errors."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._run, name="localgateway", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            raise RuntimeError("server did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Shut down gracefully and wait for the thread to end."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # Loop closed in the meantime.
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout if timeout is not None else self.shutdown_timeout + 5.0)
        if thread.is_alive():
            raise RuntimeError("server thread did not stop in time")
        self._thread = None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 10.0) -> T:
        """Run ``coro`` on the server's loop from another thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _run(self) -> None:
        # asyncio.Runner creates, cleans up and closes a fresh loop for this thread
        # and installs no signal handlers outside the main thread.
        try:
            with asyncio.Runner() as runner:
                runner.run(self._main())
        except BaseException as exc:  # Reported to start(); nothing else can see it.
            self._error = exc
        finally:
            self._loop = None
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        await serve(
            self.app,
            self.host,
            self.port,
            self._stop,
            ready,
            shutdown_timeout=self.shutdown_timeout,
        )

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class GatewayThread(ServerThread):
    """A :class:`ServerThread` for a gateway app, exposing its :class:`GatewayState`."""

    def __init__(
        self,
        app_or_config: web.Application | GatewayConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        **kwargs: Any,
    ) -> None:
        if isinstance(app_or_config, GatewayConfig):
            app = create_app(app_or_config)
        else:
            app = app_or_config
        super().__init__(app, host, port, **kwargs)
        self.state: GatewayState = app[STATE_KEY]

    def __enter__(self) -> GatewayThread:
        self.start()
        return self


@contextlib.contextmanager
def running_gateway(
    app_or_config: web.Application | GatewayConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    **kwargs: Any,
) -> Iterator[GatewayThread]:
    """Run a gateway (full app from a config, or any gateway app) for a ``with`` block."""
    gateway = GatewayThread(app_or_config, host, port, **kwargs)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
