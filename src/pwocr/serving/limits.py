"""What a request may cost: the body read into memory under a cap, the image checked from its header.

Every refusal is an ``HTTPRefusal`` with the status and a one-line message; nothing here touches
the disk (Starlette's ``UploadFile`` spools uploads over 1 MB to a temporary file, so multipart
bodies are parsed here, from memory, with python-multipart's streaming parser).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header

from pwocr.data.images import ImageError, ImageInfo, NamedBytes, probe
from pwocr.errors import PwocrError

#: Sent with refusals that leave a body unread: the connection ends instead of draining the rest.
CLOSE = {"Connection": "close"}

#: Form fields above this size are refused: options are short.
MAX_FIELD_BYTES = 4096

#: A form has a file and a few options; thousands of tiny parts would only cost parsing time.
MAX_PARTS = 32

#: The image parts of a form: one named ``file`` (or ``image``), else the first part with a file name.
IMAGE_PARTS = ("file", "image")


#: python-multipart's parser logs a warning before each parse error (``Expected boundary character
#: 45, got 137 at index 2``) that quotes the upload's bytes; unconfigured, that reached the server's
#: stderr as a bare line. It logs to this instead: a logger outside logging's tree, which no
#: logging configuration reaches, that drops everything. The refusal tells the client; the
#: server's log keeps no byte of an upload.
QUIET = logging.Logger("pwocr.serving.multipart", logging.CRITICAL + 1)
QUIET.addHandler(logging.NullHandler())


class HTTPRefusal(Exception):
    """A request refused with ``status`` and a one-line ``detail``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class Upload:
    """An image posted in a request, and the form fields beside it."""

    data: bytes
    name: str = "<request body>"
    fields: dict[str, str] = field(default_factory=dict)


def megabytes(n: int) -> str:
    return f"{n / 1e6:g} MB"


def check_content_length(header: str | None, max_bytes: int) -> None:
    """Refuse a declared body over ``max_bytes`` before a byte of it is read."""
    if header is None:
        return
    try:
        declared = int(header)
    except ValueError:
        raise HTTPRefusal(400, f"Content-Length {header!r} is not a number") from None
    if declared > max_bytes:
        raise HTTPRefusal(413, f"the body is {megabytes(declared)}, over the {megabytes(max_bytes)} limit", CLOSE)


async def read_capped(chunks: AsyncIterator[bytes], max_bytes: int) -> bytes:
    """Join the body's chunks, refusing it with 413 as soon as it passes ``max_bytes`` (a chunked body has no length)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise HTTPRefusal(413, f"the body is over the {megabytes(max_bytes)} limit", CLOSE)
    return bytes(body)


def parse_multipart(body: bytes, content_type: str) -> Upload:
    """The image part (named ``file``, or the first part with a file name) and the text fields of a form."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise HTTPRefusal(400, "multipart/form-data without a boundary")
    parts: list[tuple[dict[str, str], bytearray]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise HTTPRefusal(413, f"the form has more than {MAX_PARTS} parts")
        parts.append(({}, bytearray()))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1][0][header_field.decode("latin-1").lower()] = header_value.decode("latin-1")
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.logger = QUIET
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError) as e:
        raise HTTPRefusal(
            400, f"malformed multipart body: {str(e).splitlines()[0] if str(e) else 'parse error'}"
        ) from None
    return upload_of(parts)


def upload_of(parts: list[tuple[dict[str, str], bytearray]]) -> Upload:
    """The form's one image and its text fields; two parts with an image's name (``file``) are refused."""
    upload: Upload | None = None
    seen: set[str] = set()
    fields: dict[str, str] = {}
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        if name in IMAGE_PARTS:
            if name in seen:  # reading either could answer for an image the client did not mean
                raise HTTPRefusal(400, f"the form has more than one part named {name!r}: send one image")
            seen.add(name)
        if filename is not None or name in IMAGE_PARTS:
            if upload is None or name == "file":
                upload = Upload(bytes(data), (filename or b"<upload>").decode("utf-8", "replace"))
        elif name:
            if len(data) > MAX_FIELD_BYTES:
                raise HTTPRefusal(413, f"form field {name!r} is over {MAX_FIELD_BYTES} bytes")
            fields[name] = data.decode("utf-8", "replace")
    if upload is None:
        raise HTTPRefusal(400, "the form has no file: send the image as a part named 'file'")
    upload.fields = fields
    return upload


#: The status of each kind of image the loader refuses (``ImageError.problem``); others are 422.
IMAGE_STATUS = {"unsupported": 415, "too_large": 413}


def check_image(image: NamedBytes, max_pixels: int) -> ImageInfo:
    """The posted image's size and format from its header (``probe``); no pixel is decoded yet.

    Raises ``HTTPRefusal``: 400 for an empty body, 415 for what is not an image of an accepted
    format (judged by content), 413 for more pixels than ``max_pixels`` (a decompression bomb
    included), 422 for a corrupt header or a degenerate size.
    """
    if not image.data:
        raise HTTPRefusal(400, "the body is empty: post the image bytes, or a form with a file")
    try:
        return probe(image, max_pixels)
    except ImageError as e:
        raise HTTPRefusal(IMAGE_STATUS.get(e.problem, 422), str(e)) from None


def refusal_of(error: PwocrError) -> HTTPRefusal:
    """A library error as the client's mistake (422): the library raises it only for bad input."""
    return HTTPRefusal(422, str(error).splitlines()[0])
