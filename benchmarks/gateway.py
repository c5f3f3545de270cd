"""The local Management API as a child process of the driver.

Run by ``run.py`` with the project's interpreter: it serves the local gateway's Management
and control APIs (``/@connections/{id}``, ``/@local/*``) on a free loopback port, prints
``{"port": N}`` once listening, and stops on SIGTERM or when its stdin closes (so it never
outlives a driver that crashed).

It runs in its own process, not in a thread of a measured process, so its CPU time is
neither charged to nor competing for the GIL of either side, and the driver can report how
much of the machine it used during each measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading

from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    create_management_app,
    serve,
)


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop serving once the parent closes our stdin (or dies)."""
    sys.stdin.read()
    loop.call_soon_threadsafe(stop.set)


async def main(api_id: str, stage: str, host: str) -> None:
    # The driver resets and reads the gateway through its /@local controls.
    config = GatewayConfig(
        api_id=api_id, stage=stage, target_base_url="http://127.0.0.1:9/", enable_controls=True
    )
    app = create_management_app(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(target=watch_stdin, args=(loop, stop), daemon=True).start()

    def ready(port: int) -> None:
        print(json.dumps({"port": port}), flush=True)

    await serve(app, host, 0, stop, ready, handle_sigterm=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-id", required=True)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    asyncio.run(main(args.api_id, args.stage, args.host))
