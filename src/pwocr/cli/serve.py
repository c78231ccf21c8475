"""``pwocr serve`` (the web page and the HTTP API, with limits that hold) and ``pwocr export-web`` (the page as static files)."""

from __future__ import annotations

import argparse
import math
import os
import socket
import sys
from collections.abc import Callable

from pwocr.cli.common import add_checkpoint, at_least, examples, positive
from pwocr.errors import PwocrError


def _above_zero(unit: str) -> Callable[[str], float]:
    """An argparse type for a finite number of ``unit`` above 0 (not nan, not inf)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {unit}, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be a finite number of {unit} above 0, got {text!r}")
        return value

    return parse


_seconds = _above_zero("seconds")
_megabytes = _above_zero("MB")


def _port(text: str) -> int:
    """An argparse type for a TCP port, 0 to 65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    from pwocr.serving.settings import TOKEN_ENV, ServeSettings

    d = ServeSettings()
    p = sub.add_parser(
        "serve",
        needs_extra="serve",
        help="serve readings over HTTP: a web page for phones and a JSON API",
        description=(
            "Serve readings over HTTP. Open http://HOST:PORT/ on a phone to read a photo; POST an image to\n"
            "/v1/read (a multipart form with 'file', or the raw body) for the JSON of recognize --json;\n"
            "/docs documents the API (offline). With --token (or $" + TOKEN_ENV + "), /v1/read requires\n"
            "'Authorization: Bearer TOKEN': set one whenever --host is not 127.0.0.1."
        ),
        epilog=examples(
            "pwocr serve --port 8000",
            "curl -F file=@photo.jpg 'http://127.0.0.1:8000/v1/read?candidates=3'",
            f"{TOKEN_ENV}=s3cret pwocr serve --host 0.0.0.0",
        ),
    )
    add_checkpoint(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port to listen on")
    p.add_argument(
        "--token",
        default=None,
        help=f"bearer token required on /v1/read (default: ${TOKEN_ENV} if set, else none)",
    )
    limits = p.add_argument_group("limits")
    limits.add_argument(
        "--max_body_mb", type=_megabytes, default=d.max_body_bytes / 1e6, help="largest upload, in MB (413 beyond)"
    )
    limits.add_argument(
        "--max_pixels", type=positive, default=d.max_pixels, help="largest image decoded, width x height (413 beyond)"
    )
    limits.add_argument("--running", type=positive, default=d.running, help="readings run at once")
    limits.add_argument(
        "--queue", type=at_least(0), default=d.waiting, help="requests that may wait for a reading slot (503 beyond)"
    )
    limits.add_argument(
        "--threads", type=positive, default=None, help="onnxruntime threads per reading (default: cores / --running)"
    )
    limits.add_argument(
        "--body_timeout", type=_seconds, default=d.body_timeout, help="seconds to receive a body (408 beyond)"
    )
    limits.add_argument(
        "--head_timeout", type=_seconds, default=d.head_timeout, help="seconds to receive a request's headers"
    )
    limits.add_argument(
        "--max_connections", type=positive, default=d.max_connections, help="open connections at once (503 beyond)"
    )
    p.set_defaults(handler=run_serve, message_prefix="")

    e = sub.add_parser(
        "export-web",
        help="write the web page, its in-page reader and the model as static files for any static host",
        description=(
            "Write the whole web app into OUT_DIR as static files: the page, its reader (onnxruntime-web,\n"
            "fetched once with npm at a pinned version), the model, the font and their licences. Any static\n"
            "host serves it; the photo is read in the visitor's browser and never uploaded, and after one\n"
            "visit the page works offline."
        ),
        epilog=examples("pwocr export-web site/", "python -m http.server --directory site 8080"),
    )
    e.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the site into (created if missing)")
    add_checkpoint(e)
    e.set_defaults(handler=run_export_web)


def run_export_web(args: argparse.Namespace) -> int:
    from pwocr.serving.webapp import export_web

    app = export_web(args.out_dir, args.checkpoint)
    total = sum(len(s) if isinstance(s, bytes) else s.stat().st_size for s in app.files.values())
    print(f"{args.out_dir}: {len(app.files)} files, {total / 1e6:.1f} MB; serve it with any static host")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Bind first, then load: a port in use or a bad ``--host`` is a one-line error at once, not after the model."""
    from pwocr.serving.server import listen

    sockets = listen(args.host, args.port)
    try:
        _serve(args, sockets)
    finally:
        for sock in sockets:  # uvicorn closes them on a clean shutdown; not when loading fails
            sock.close()
    return 0


def _serve(args: argparse.Namespace, sockets: list[socket.socket]) -> None:
    from pwocr.serving.app import create_app
    from pwocr.serving.server import ListeningServer, return_freed_memory, uvicorn_config
    from pwocr.serving.settings import TOKEN_ENV, ServeSettings
    from pwocr.serving.webapp import onnxruntime_web

    try:
        onnxruntime_web()  # fetched once into the cache, where create_app finds it
    except PwocrError as e:
        print(f"pwocr serve: warning: the page will read on the server only: {e}", file=sys.stderr)
    return_freed_memory()
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"pwocr serve: warning: listening on {args.host} without a token (--token or ${TOKEN_ENV})", file=sys.stderr
        )
    settings = ServeSettings(
        max_body_bytes=int(args.max_body_mb * 1e6),
        max_pixels=args.max_pixels,
        running=args.running,
        waiting=args.queue,
        threads=args.threads,
        token=token,
        body_timeout=args.body_timeout,
        head_timeout=args.head_timeout,
        max_connections=args.max_connections,
    )
    config = uvicorn_config(create_app(args.checkpoint, settings=settings), settings, args.host, args.port)
    ListeningServer(config).run(sockets=sockets)
