"""``pwocr serve``: the HTTP server over the same reading API."""

from __future__ import annotations

import argparse

from pwocr.cli.common import add_checkpoint, examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve readings over HTTP",
        description="Serve readings over HTTP: POST an image to /read and get the JSON of recognize --json.",
        epilog=examples("pwocr serve --port 8000", "curl --data-binary @photo.jpg http://127.0.0.1:8000/read"),
    )
    add_checkpoint(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pwocr.serving.app import create_app

    uvicorn.run(create_app(args.checkpoint), host=args.host, port=args.port, log_level="info")
    return 0
