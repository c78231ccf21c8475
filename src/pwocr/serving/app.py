"""``pwocr serve``: a FastAPI app that reads images posted as the request body.

curl --data-binary @photo.jpg 'http://127.0.0.1:8000/read?candidates=3&charset=alnum'
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from pwocr.alphabet import resolve_charset
from pwocr.decoding.constraints import Constraints
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Recognizer

#: Larger bodies are refused before decoding: no phone photo of a password needs more.
MAX_BODY_BYTES = 25 * 1024 * 1024


def create_app(checkpoint: str | os.PathLike[str] | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """An app that loads the model once and reads every posted image with it."""
    recognizer = recognizer or Recognizer(checkpoint)
    from pwocr import __version__

    app = FastAPI(title="pwocr", description="Read passwords out of photos.", version=__version__)

    @app.get("/health")
    def health() -> dict[str, Any]:
        config = recognizer.config
        return {
            "status": "ok",
            "model": config.size,
            "alphabet": config.alphabet,
            "checkpoint": recognizer.checkpoint.name,  # never a filesystem path
        }

    @app.post("/read")
    async def read(
        request: Request,
        candidates: Annotated[int, Query(ge=1, le=50)] = 1,
        charset: str | None = None,
        length: Annotated[int | None, Query(ge=1)] = None,
        min_length: Annotated[int | None, Query(ge=0)] = None,
        max_length: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        """Read the image in the request body (any format Pillow reads)."""
        body = await request.body()
        if not body:
            raise HTTPException(400, "the request body is empty: post the image bytes")
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"the image is over {MAX_BODY_BYTES // (1024 * 1024)} MB")
        try:
            allowed = resolve_charset(charset) if charset else None
            constraints = Constraints.from_options(allowed, length, min_length, max_length, recognizer.alphabet.chars)
            reading = await run_in_threadpool(recognizer.read, body, candidates, constraints)
        except PwocrError as e:
            raise HTTPException(422, str(e)) from None
        out = reading.as_dict()
        out["image"] = "<request body>"
        return out

    return app
