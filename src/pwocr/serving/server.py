"""uvicorn configured so that connections cannot be held open for free.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but it sets no timer
on a connection that has sent part of a request head: 1,000 clients trickling header bytes
held 1,000 connections indefinitely. ``HeadTimeoutH11Protocol`` closes any connection whose
request head is not complete ``head_timeout`` seconds after the connection opened (or after
its previous response), and ``limit_concurrency`` answers 503 beyond a number of connections.
The body has its own deadline in the app (``body_timeout``).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pwocr.serving.settings import ServeSettings


class HeadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head (see the module docstring).

    Its own refusals answer as the app's do, a JSON ``{"detail": "<one line>"}``: a request
    beyond ``limit_concurrency`` gets 503 with ``Retry-After`` (uvicorn's says ``Service
    Unavailable`` in plain text, with no hint of when to come back), a malformed one 400.
    """

    head_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        # The concurrency limit is checked in ``_limited`` (when the request runs) instead of by
        # uvicorn, which would answer with its own plain-text 503.
        self._concurrency, self.limit_concurrency = self.limit_concurrency, None
        self._app = self.app
        self.app = self._limited

    async def _limited(self, scope: Any, receive: Any, send: Any) -> None:
        # The running request's own task is in ``tasks`` already; uvicorn counted before adding it.
        if self._concurrency is not None and (
            len(self.connections) >= self._concurrency or len(self.tasks) - 1 >= self._concurrency
        ):
            seconds = str(max(1, math.ceil(self.head_timeout)))
            detail = f"busy: over {self._concurrency} connections open; retry in {seconds} s"
            await _send_json(send, 503, detail, [(b"retry-after", seconds.encode()), (b"connection", b"close")])
            return
        await self._app(scope, receive, send)

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"detail": f"malformed HTTP request: {msg.rstrip('.')}"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a whole request head arrived
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # before super(), which may start a pipelined request at once (and disarm)
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


async def _send_json(send: Any, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def return_freed_memory(mmap_threshold: int = 4 << 20, arenas: int = 2) -> bool:
    """Make glibc hand large freed buffers back to the system; returns whether it could.

    glibc serves allocations under a threshold that grows up to 32 MB from per-thread heaps it
    rarely shrinks, so after a few large photos decoded on worker threads the server kept about
    a gigabyte it no longer used. A fixed threshold puts every decoded image (Pillow's 16 MB
    blocks, NumPy arrays) in its own mapping, returned on free; fewer arenas bound the rest.
    Only for the server process: it changes the allocator of the whole process.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_mmap_threshold, m_arena_max = -3, -8
        return bool(libc.mallopt(m_mmap_threshold, mmap_threshold)) and bool(libc.mallopt(m_arena_max, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def uvicorn_config(app: Any, settings: ServeSettings, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """The uvicorn configuration ``pwocr serve`` runs, with the protocol and limits above."""
    protocol = type("PwocrH11Protocol", (HeadTimeoutH11Protocol,), {"head_timeout": settings.head_timeout})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        ws="none",
        lifespan="off",
        log_level=log_level,
        timeout_keep_alive=settings.keep_alive,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=16 * 1024,
    )
