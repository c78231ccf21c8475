"""Run an app under ``pwocr serve``'s own uvicorn configuration on a free loopback port, in a thread."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from conftest import draw_line

from pwocr.serving.server import uvicorn_config
from pwocr.serving.settings import ServeSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app, settings: ServeSettings | None = None) -> Iterator[str]:
    """The base URL of ``app`` served as ``pwocr serve`` serves it, until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, settings or ServeSettings(), "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def png(text: str) -> bytes:
    buffer = io.BytesIO()
    draw_line(text).save(buffer, "PNG")
    return buffer.getvalue()
