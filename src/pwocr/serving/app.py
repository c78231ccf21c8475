"""``pwocr serve``: a web page that reads a photo from a phone, and an API that holds under load and hostile input.

curl -F file=@photo.jpg 'http://127.0.0.1:8000/v1/read?candidates=3&charset=alnum'
curl --data-binary @photo.jpg 'http://127.0.0.1:8000/v1/read?candidates=3'

A request goes: bearer token -> Content-Length (413) -> a place in the bounded queue (503) ->
the body, capped and timed (413, 408) -> the image identified by content and sized from its
header (415, 413) -> a running slot -> decode and read on a worker thread. Bodies stay in memory.
"""

import asyncio
import dataclasses
import logging
import mimetypes
import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from pwocr.alphabet import resolve_charset
from pwocr.data.images import ImageInfo, NamedBytes, load
from pwocr.decoding.constraints import Constraints
from pwocr.errors import PwocrError
from pwocr.inference.engine import OnnxEngine, onnx_engine_for_checkpoint
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.layout import PhotoReading, TextDetector
from pwocr.layout.photo import DECODE_SIDE
from pwocr.reader import read_image
from pwocr.serving.gate import Gate, PixelBudget
from pwocr.serving.limits import (
    CLOSE,
    HTTPRefusal,
    Upload,
    check_content_length,
    check_image,
    parse_multipart,
    read_capped,
    refusal_of,
)
from pwocr.serving.schemas import ErrorOut, HealthOut, PhotoReadingOut, ReadingOut, ReadOptions, one_line
from pwocr.serving.settings import ServeSettings
from pwocr.serving.webapp import ISOLATION_HEADERS, PAGE_CSP, WebApp, onnxruntime_web

logger = logging.getLogger(__name__)


REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        400: "empty body, malformed multipart, a form without a file or with two, a bad Content-Length, or not HTTP",
        401: "a bearer token is required and was missing or wrong",
        408: "the body took longer than the server's body timeout",
        413: "the body, the image's pixel count or the form's parts are over the server's limit",
        415: "the body is not an image of an accepted format (judged by content)",
        422: "bad options, or an image that cannot be decoded (corrupt, empty, a sliver)",
        503: "the inference queue or the connections are full; retry after the Retry-After header's seconds",
    }.items()
}


def form_field(schema: dict[str, Any]) -> dict[str, Any]:
    """An option's JSON schema as a form field: an optional option is a field left out, never a null."""
    field = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    for choice in schema.get("anyOf", ()):
        if choice.get("type") != "null":
            field.update(choice)
    return field


#: The request body of ``/v1/read`` as OpenAPI sees it: a form with a file and options, or raw image
#: bytes. The options' fields come from ``ReadOptions``, the model that checks them.
READ_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "the photo"},
                    **{k: form_field(v) for k, v in ReadOptions.model_json_schema()["properties"].items()},
                },
            }
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "image/*": {"schema": {"type": "string", "format": "binary"}},
    },
}


def swagger_assets() -> Path | None:
    """Swagger UI and ReDoc files bundled by the ``fastapi-offline`` wheel, so /docs needs no CDN."""
    try:
        return Path(str(resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        return None


def charset_of(spec: str | None) -> str | None:
    """The characters a ``charset`` option allows; a space is read as ``+``.

    An unencoded ``+`` in a query string decodes to a space (``charset=alnum+punctuation`` arrives
    as ``alnum punctuation``), and no pwocr model reads spaces, so the friendly reading is the
    one the user typed.
    """
    if spec is None or spec == "":
        return None
    return resolve_charset(spec.replace(" ", "+"))


def web_app_of(recognizer: Recognizer) -> WebApp:
    """The page for a recognizer's model, with the in-page reader when onnxruntime-web is cached (``pwocr serve`` fetches it)."""
    engine = recognizer.engine
    graph = engine if isinstance(engine, OnnxEngine) else onnx_engine_for_checkpoint(recognizer.checkpoint)
    return WebApp(graph, onnxruntime_web(fetch=False), server=True)


def site_response(web: WebApp, path: str) -> Response:
    """One file of the web app, with the headers that isolate the page (threads) and keep it to its own files."""
    name = path if path and not path.endswith("/") else f"{path}index.html"
    source = web.files.get(name)
    if source is None:
        return JSONResponse({"detail": "Not Found"}, 404)
    headers = {**ISOLATION_HEADERS, "Cache-Control": "no-cache"}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = PAGE_CSP
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if isinstance(source, bytes):
        return Response(source, media_type=media_type, headers=headers)
    return FileResponse(source, media_type=media_type, headers=headers)


#: The bearer-token scheme; ``auto_error=False`` so that a server without a token lets everyone in.
BEARER = HTTPBearer(auto_error=False, description="required only when the server was started with a token")


class ReadService:
    """What every read shares: the model, the limits, the queue and the pixel budget of decoding."""

    def __init__(self, recognizer: Recognizer, settings: ServeSettings) -> None:
        self.recognizer = recognizer
        self.settings = settings
        self.gate = Gate(settings.running, settings.waiting)
        self.decoding = PixelBudget(settings.max_pixels)
        self._detector: TextDetector | None = None  # loaded on the first whole photo, with the recognizer's threads

    def text_detector(self) -> TextDetector:
        if self._detector is None:
            # No memory arena: a large photo's feature maps (over 300 MB) would stay held by the server for good.
            self._detector = TextDetector(threads=self.settings.onnx_threads, arena=False)
        return self._detector

    def authorise(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        """Refuse (401) a request without the server's token, when it has one."""
        settings = self.settings
        if settings.token is not None and not settings.token_matches(credentials.credentials if credentials else None):
            raise HTTPRefusal(
                401, "a bearer token is required: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )

    async def receive_upload(self, request: Request) -> Upload:
        """The body, capped and timed, as an upload (a multipart form's file and fields, or the raw bytes)."""
        settings = self.settings
        try:
            async with asyncio.timeout(settings.body_timeout):
                body = await read_capped(request.stream(), settings.max_body_bytes)
        except TimeoutError:
            raise HTTPRefusal(408, f"the body took over {settings.body_timeout:g} s to arrive", CLOSE) from None
        except ClientDisconnect:
            raise HTTPRefusal(400, "the client went away before the body was complete") from None
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            return await run_in_threadpool(parse_multipart, body, content_type)
        return Upload(body)

    def options_of(self, query: ReadOptions, fields: dict[str, str]) -> tuple[ReadOptions, Constraints | None]:
        """Form fields override the query's options; both are checked by the same model."""
        given = {k: v for k, v in fields.items() if k in ReadOptions.model_fields}
        try:
            options = ReadOptions.model_validate({**query.model_dump(exclude_unset=True), **given}) if given else query
            constraints = Constraints.from_options(
                charset_of(options.charset),
                options.length,
                options.min_length,
                options.max_length,
                self.recognizer.alphabet.chars,
            )
        except ValidationError as e:
            raise HTTPRefusal(422, one_line(e)) from None
        except PwocrError as e:
            raise refusal_of(e) from None
        return options, constraints

    def decode_and_read(
        self, image: NamedBytes, info: ImageInfo, options: ReadOptions, constraints: Constraints | None
    ) -> Reading | PhotoReading:
        """Decode the image within the pixel budget and read it; any failure is a 422, never a 500."""
        recognizer, max_pixels = self.recognizer, self.settings.max_pixels
        with self.decoding.take(info.pixels):
            try:
                if options.layout == "line":
                    source = load(image, recognizer.preprocess.colour, max_pixels=max_pixels)
                else:
                    # Decoded once (shrunk past 3,200 pixels a side), then the full-size pixels are let go.
                    source = load(image, colour=True, max_pixels=max_pixels, max_side=DECODE_SIDE)
                # Still within the budget: the decoded image, its lines and their resizing scale with the pixels.
                layout, candidates = options.layout, options.candidates
                found = self.text_detector() if layout != "line" else None
                return read_image(recognizer, source, layout, candidates, constraints, detector=found)
            except PwocrError as e:
                raise refusal_of(e) from None
            except Exception as e:  # the loader answers for the file; this is pwocr's fault, but never a 500
                logger.error("reading %s failed: %s", image.name, type(e).__name__)
                raise HTTPRefusal(422, f"{image.name}: could not be read ({type(e).__name__})") from None

    async def read(self, request: Request, query: Annotated[ReadOptions, Query()]) -> dict[str, Any]:
        """Read one photo, posted as a multipart form (``file``, options as fields or query) or as the raw body."""
        check_content_length(request.headers.get("content-length"), self.settings.max_body_bytes)
        async with self.gate.admit():
            upload = await self.receive_upload(request)
            options, constraints = self.options_of(query, upload.fields)
            image = NamedBytes(upload.name, upload.data)
            upload.data = b""  # one reference to the bytes, dropped when the reading is done
            info = await run_in_threadpool(check_image, image, self.settings.max_pixels)
            async with self.gate.slot():
                reading = await run_in_threadpool(self.decode_and_read, image, info, options, constraints)
        out = reading.as_dict()
        out["image"] = upload.name
        return out

    def health(self) -> dict[str, Any]:
        """The loaded model and the server's limits; never a filesystem path."""
        from pwocr import __version__

        config, settings, gate = self.recognizer.config, self.settings, self.gate
        return {
            "status": "ok",
            "version": __version__,
            "model": config.arch,
            "alphabet": config.alphabet,
            "checkpoint": self.recognizer.checkpoint.name,
            "limits": {
                "max_body_bytes": settings.max_body_bytes,
                "max_pixels": settings.max_pixels,
                "token_required": settings.token is not None,
            },
            "queue": {"running": gate.running, "waiting": gate.waiting, "capacity": gate.capacity},
        }


def create_app(
    checkpoint: str | os.PathLike[str] | None = None,
    recognizer: Recognizer | None = None,
    settings: ServeSettings | None = None,
    web: WebApp | None = None,
) -> FastAPI:
    """An app that loads the model once and reads every posted image with it, within ``settings``' limits.

    It also serves the web page (``web``, by default the page for the recognizer's own model):
    the same files ``pwocr export-web`` writes.
    """
    settings = settings or ServeSettings()
    recognizer = recognizer or Recognizer(checkpoint, threads=settings.onnx_threads)
    web = dataclasses.replace(web, server=True) if web else web_app_of(recognizer)
    service = ReadService(recognizer, settings)
    app = api_app()
    add_error_handlers(app)
    add_api_routes(app, service)
    add_offline_docs(app)
    # Last, so that the API's routes come first: every other path is a file of the web app.
    add_web_app(app, web)
    return app


def api_app() -> FastAPI:
    """An empty app with the API's description; /docs and /redoc are added offline by ``add_offline_docs``."""
    from pwocr import __version__

    return FastAPI(
        title="pwocr",
        description=(
            "Read passwords out of photos. POST a photo to `/v1/read` as a multipart form (`file`) or as the "
            "raw body; the answer is the JSON of `pwocr recognize --json`. When the server was started with "
            "a token, send `Authorization: Bearer <token>`."
        ),
        version=__version__,
        docs_url=None,
        redoc_url=None,
    )


def add_error_handlers(app: FastAPI) -> None:
    """Refusals and invalid options answer ``{"detail": one line}`` with their status."""

    @app.exception_handler(HTTPRefusal)
    async def refused(_: Request, e: HTTPRefusal) -> JSONResponse:
        return JSONResponse({"detail": e.detail}, e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": one_line(list(e.errors()))}, 422)


def add_api_routes(app: FastAPI, service: ReadService) -> None:
    """``/v1/read``, the first server's ``/read`` (the same endpoint) and ``/health``."""
    read_route = {
        "response_model": ReadingOut | PhotoReadingOut,
        "responses": REFUSALS,
        "openapi_extra": {"requestBody": READ_BODY},
        "dependencies": [Depends(service.authorise)],
    }
    app.add_api_route("/v1/read", service.read, methods=["POST"], summary="Read the password in a photo", **read_route)
    app.add_api_route(
        "/read",
        service.read,
        methods=["POST"],
        deprecated=True,
        summary="The first server's endpoint: the same as /v1/read",
        **read_route,
    )
    app.add_api_route("/health", service.health, methods=["GET"], response_model=HealthOut)


def add_offline_docs(app: FastAPI) -> None:
    """/docs and /redoc from the files of the ``fastapi-offline`` wheel, when it is installed (no CDN)."""
    assets = swagger_assets()
    if assets is None or not assets.is_dir():
        return
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="pwocr API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="pwocr API",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )


def add_web_app(app: FastAPI, web: WebApp) -> None:
    """Every path no other route answers is a file of the web app; add it after every other route.

    A GET of an API path that only takes POST (``/v1/read``) reaches this route too: it is a 405
    with the path's methods in ``Allow``, not the web app's 404.
    """
    api_only = post_only_paths(app)

    @app.get("/{path:path}", include_in_schema=False)
    def site(path: str, request: Request) -> Response:
        allowed = api_only.get(f"/{path}")
        if allowed:
            detail = f"{request.method} is not allowed on /{path}: it takes {', '.join(allowed)}"
            return JSONResponse({"detail": detail}, 405, headers={"Allow": ", ".join(allowed)})
        return site_response(web, path)


def post_only_paths(app: FastAPI) -> dict[str, list[str]]:
    """The API's paths that take no GET, and the methods each takes."""
    return {
        route.path: sorted(route.methods)
        for route in app.routes
        if isinstance(route, APIRoute) and "GET" not in route.methods
    }
