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
import errno
import json
import logging
import math
import socket
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pwocr.errors import PwocrError
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


def listen(host: str, port: int, backlog: int = 2048) -> list[socket.socket]:
    """Listening sockets on ``host``:``port`` (one per address the host names), or a one-line ``PwocrError``.

    ``pwocr serve`` binds here, before it loads the model, so a port in use or a bad ``--host``
    is reported at once, in words, instead of by uvicorn's log after the load and with exit 1.
    The sockets go to ``ListeningServer.run(sockets=...)``: the port is bound once, and nothing
    can take it in between. Binds as asyncio's ``create_server`` (uvicorn's own path) does:
    every address ``host`` resolves to (``""``: all interfaces), ``SO_REUSEADDR``, IPv6 only on
    IPv6 sockets; port 0 picks one free port for all of them.
    """
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # "[::1]", as in a URL
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:  # socket.gaierror is an OSError
        raise PwocrError(f"cannot listen on {_where(host, port)}: {_why(e, port)}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sockets.append(_bound(family, kind, proto, address, port or _first_port(sockets), backlog))
    except OSError as e:
        for sock in sockets:
            sock.close()
        raise PwocrError(f"cannot listen on {_where(host, port)}: {_why(e, port)}") from None
    return sockets


def _first_port(sockets: list[socket.socket]) -> int:
    return sockets[0].getsockname()[1] if sockets else 0


def _bound(family: int, kind: int, proto: int, address: tuple[Any, ...], port: int, backlog: int) -> socket.socket:
    """One socket bound to ``address`` at ``port`` and listening; closed again if either fails.

    It listens at once: on Linux two sockets with ``SO_REUSEADDR`` may bind the same port, and
    only ``listen`` then finds that it is in use.
    """
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address[0], port, *address[2:]))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host or '*'}:{port}"


def _why(error: OSError | UnicodeError, port: int) -> str:
    """What went wrong, in words, with the flag that fixes it."""
    if isinstance(error, UnicodeError):
        return "not a valid host name (check --host)"
    if isinstance(error, socket.gaierror):
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return "no such host (check --host)"
        return f"cannot resolve the host: {error.strerror} (check --host)"
    if error.errno == errno.EADDRINUSE:
        return "the port is in use (choose another with --port)"
    if error.errno == errno.EACCES:
        privileged = " (ports below 1024 need administrator rights)" if 0 < port < 1024 else ""
        return f"permission denied{privileged}; choose another with --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return "the address is not one of this machine's (check --host)"
    if error.errno == errno.EAFNOSUPPORT:
        return "this machine does not support that kind of address (check --host)"
    return f"{(error.strerror or str(error)).lower()} (check --host and --port)"


class ListeningServer(uvicorn.Server):
    """uvicorn's server, which says where it listens also when handed its sockets.

    uvicorn logs "running on" only when it binds itself; ``pwocr serve`` binds first (``listen``).
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and sockets:
            for sock in sockets:
                host, port = sock.getsockname()[:2]
                url = f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"
                logging.getLogger("uvicorn.error").info("Uvicorn running on %s (Press CTRL+C to quit)", url)
