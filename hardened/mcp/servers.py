"""Real uvicorn servers on loopback for the demo, ``hardened serve`` and end-to-end tests.

A port is reserved first (a bound socket), so that an app can be built knowing its own external URL (every DPoP
``htu`` and RFC 8707 resource is checked against configured URLs, never the ``Host`` header); then uvicorn serves
that socket in a thread. Loopback only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

__all__ = ["Listener", "RunningServer", "reserve"]


class Listener:
    """A bound loopback socket and the URL it will serve."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"


def reserve() -> Listener:
    return Listener()


class RunningServer:
    """uvicorn serving ``app`` on a reserved listener, in a daemon thread; ``stop()`` shuts it down."""

    def __init__(self, app: ASGIApp, listener: Listener, *, name: str = "server") -> None:
        self.name, self.listener, self.url = name, listener, listener.url
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"uvicorn-{name}", daemon=True)
        self.thread.start()
        self._wait(lambda: self.server.started or not self.thread.is_alive())
        if not self.server.started:
            raise RuntimeError(f"{name} did not start")

    def _run(self) -> None:
        self.server.run(sockets=[self.listener.socket])

    @staticmethod
    def _wait(done: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for a server thread to start, not a test sleeping

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.listener.socket.close()
