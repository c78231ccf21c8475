"""``pwocr serve``'s settings: one frozen dataclass, importable without uvicorn or the model (``pwocr --help`` stays fast)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

#: Environment variable with the bearer token, so it need not appear in the process list.
TOKEN_ENV = "PWOCR_TOKEN"


@dataclass(frozen=True)
class ServeSettings:
    """Everything ``pwocr serve`` lets you tune; the defaults hold a 2-core machine under 1 GB under attack.

    Attributes:
        max_body_bytes: largest body accepted (413 beyond, before reading when it is declared).
        max_pixels: largest image decoded, width x height from its header (413 beyond). Decoding a
            colour photo peaks near 17 bytes a pixel, so 40 MP keeps the server under 1 GB; the page
            scales larger photos down before sending them.
        running: readings run at once (decode + model), each on ``threads`` onnxruntime threads.
        waiting: requests that may wait for a running slot; more get 503 with ``Retry-After``.
        threads: onnxruntime intra-op threads per reading; ``None``: cores divided among the running slots.
        token: bearer token required on the reading endpoints; ``None``: open (fine on localhost).
        body_timeout: seconds to receive a whole body (408 beyond), so a slow upload cannot hold a slot.
        head_timeout: seconds to receive a request head before the connection is closed.
        keep_alive: seconds an idle keep-alive connection is kept.
        max_connections: connections at once; uvicorn answers 503 beyond.
    """

    max_body_bytes: int = 20_000_000
    max_pixels: int = 40_000_000
    running: int = 2
    waiting: int = 8
    threads: int | None = None
    token: str | None = None
    body_timeout: float = 60.0
    head_timeout: float = 10.0
    keep_alive: int = 5
    max_connections: int = 1024

    @property
    def onnx_threads(self) -> int:
        return self.threads or max(1, (os.cpu_count() or 1) // self.running)

    def token_matches(self, presented: str | None) -> bool:
        """Constant-time comparison, so the token cannot be guessed a byte at a time from timings."""
        if self.token is None:
            return True
        return presented is not None and secrets.compare_digest(presented.encode(), self.token.encode())
