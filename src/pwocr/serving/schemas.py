"""The request options and JSON answers of the HTTP API, as Pydantic models so OpenAPI documents them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pwocr.options import MAX_CANDIDATES, MAX_LENGTH_OPTION, Layout


class ReadOptions(BaseModel):
    """The options of ``pwocr recognize``, taken from the query string or from multipart form fields."""

    model_config = ConfigDict(extra="ignore")

    candidates: Annotated[
        int, Field(ge=1, le=MAX_CANDIDATES, description="how many distinct readings to return, best first")
    ] = 1
    charset: Annotated[
        str | None,
        Field(
            max_length=512,
            description=(
                "allowed characters: names (digits, hex, alnum, letters, punctuation, ...) joined with + "
                "or literal:<characters>; a space is read as + (an unencoded + in a query arrives as a space)"
            ),
        ),
    ] = None
    length: Annotated[int | None, Field(ge=1, le=MAX_LENGTH_OPTION, description="exact length of the reading")] = None
    min_length: Annotated[int | None, Field(ge=0, le=MAX_LENGTH_OPTION, description="shortest reading allowed")] = None
    max_length: Annotated[int | None, Field(ge=1, le=MAX_LENGTH_OPTION, description="longest reading allowed")] = None
    layout: Annotated[
        Layout,
        Field(
            description="line: the image is one cropped line; photo: find its text lines and pick the password; "
            "auto: decide by the image"
        ),
    ] = "auto"


class CandidateOut(BaseModel):
    """One of the best distinct strings and its probability."""

    text: str
    confidence: float


class AlternativeOut(BaseModel):
    """A character the model found nearly as likely at one position."""

    char: str
    confidence: float


class CharOut(BaseModel):
    """One character of the reading, its probability and its closest rivals."""

    char: str
    confidence: float
    alternatives: list[AlternativeOut]
    confusable: bool = Field(description="true when a rival is close: show it to the user")
    lookalikes: list[AlternativeOut] = Field(
        default_factory=list,
        description="look-alikes the model finds nearly as likely (say 'I or l'): the font may draw them alike",
    )


class ReadingOut(BaseModel):
    """What ``pwocr recognize --json`` prints for one image."""

    image: str = Field(description="the uploaded file's name, or <request body>")
    text: str = Field(description="the reading")
    raw: str = Field(description="the raw CTC path, blanks as -")
    confidence: float = Field(description="probability of text given the image")
    candidates: list[CandidateOut]
    chars: list[CharOut]


class PhotoLineOut(BaseModel):
    """One text line found in a whole photo, in reading order."""

    box: list[list[float]] = Field(description="four corners (x, y) in the upright photo's pixels, clockwise")
    text: str = Field(description="the password model's reading: printable ASCII, no spaces")
    words: str = Field(
        description="the line as a person reads it: word gaps as spaces, and on a line that is not a password "
        "PP-OCRv6's reading (accents, other scripts)"
    )
    confidence: float
    candidates: list[CandidateOut]
    chars: list[CharOut]


class PhotoPasswordOut(BaseModel):
    """The value judged to be the password, its label stripped, and why it was picked."""

    text: str
    confidence: float
    candidates: list[CandidateOut]
    chars: list[CharOut]
    line: int = Field(description="index in lines (from 0, as the CLI and the page number them) of its line")
    why: str = Field(description="the evidence: a label before, after or above it, a name/password pair, its looks")
    network: str | None = Field(default=None, description="the network name paired with it, when the photo shows one")


class PhotoReadingOut(BaseModel):
    """What ``pwocr recognize --json`` prints for a whole photo."""

    image: str = Field(description="the uploaded file's name, or <request body>")
    lines: list[PhotoLineOut]
    password: PhotoPasswordOut | None = Field(description="null when the photo shows no text")
    pairs: list[PhotoPasswordOut] = Field(
        default_factory=list, description="every network's password on a sign that lists several, the pick first"
    )


class ErrorOut(BaseModel):
    """Every refusal: one line that says what was wrong."""

    detail: str


class QueueOut(BaseModel):
    """How busy the server is now."""

    running: int
    waiting: int
    capacity: int = Field(description="readings that may run or wait at once; more get 503")


class LimitsOut(BaseModel):
    """What the server accepts."""

    max_body_bytes: int
    max_pixels: int
    token_required: bool


class HealthOut(BaseModel):
    """The loaded model and the server's limits (never a filesystem path)."""

    status: str
    version: str
    model: str
    alphabet: str
    checkpoint: str = Field(description="the checkpoint's file name")
    limits: LimitsOut
    queue: QueueOut


def one_line(error: ValidationError | list) -> str:
    """A validation error as one line a person reads: ``candidates: Input should be less than or equal to 50``."""
    errors = error.errors() if isinstance(error, ValidationError) else error
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body"))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"
