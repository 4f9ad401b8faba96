"""A real uvicorn server on 127.0.0.1 with an ephemeral port, in a background thread (no sleeping).

The listening socket is bound before the app is built (so the issuer knows its port) and handed to uvicorn;
connections made before uvicorn runs wait in the kernel backlog, so no readiness polling is needed.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


@contextmanager
def live_server(build: Callable[[str], FastAPI]) -> Iterator[str]:
    """Yield the base URL of ``build(base_url)`` served by uvicorn until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(build(base), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
