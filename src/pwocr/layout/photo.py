"""Whole-photo reading: find the text lines, straighten and read each, order them, pick the password.

``read_photo`` is the one path from a phone photo to a ``PhotoReading``; the CLI, the server and
the benchmark all call it. ``looks_like_line`` tells a line crop from a whole photo, so that
``pwocr recognize`` can choose the mode by itself.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from pwocr.data.images import MAX_PIXELS, ImageSource, describe, load_gray
from pwocr.decoding.constraints import Constraints
from pwocr.decoding.ctc import BLANK
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.layout.detector import TextBox, TextDetector, crop_line, default_detector
from pwocr.layout.password import LineFacts, pick_password, split_label

#: Photos are decoded at no more than this long side: enough for any line a phone photographs
#: legibly, and it bounds memory and time however many megapixels the camera had.
DECODE_SIDE = 3200


@dataclass(frozen=True)
class PhotoLine:
    """One text line of a photo: where it is (four corners in the photo's pixels) and what it reads."""

    box: TextBox
    reading: Reading

    def as_dict(self) -> dict[str, Any]:
        d = self.reading.as_dict()
        return {
            "box": self.box.as_list(),
            "text": d["text"],
            "confidence": d["confidence"],
            "candidates": d["candidates"],
            "chars": d["chars"],
        }


@dataclass(frozen=True)
class PhotoPassword:
    """The value judged to be the password: its reading (label stripped), its line and the evidence."""

    reading: Reading
    line: int
    why: str
    label: str | None

    def as_dict(self) -> dict[str, Any]:
        d = self.reading.as_dict()
        return {
            "text": d["text"],
            "confidence": d["confidence"],
            "candidates": d["candidates"],
            "chars": d["chars"],
            "line": self.line,
            "why": self.why,
        }


@dataclass(frozen=True)
class PhotoReading:
    """Every text line of a photo in reading order, and the password among them (``None`` if no line)."""

    image: str
    size: tuple[int, int]  # width, height of the upright photo
    lines: tuple[PhotoLine, ...]
    password: PhotoPassword | None

    def as_dict(self) -> dict[str, Any]:
        """``{"image", "lines": [{"box", "text", "confidence", "candidates", "chars"}], "password": {...} | None}``."""
        return {
            "image": self.image,
            "lines": [line.as_dict() for line in self.lines],
            "password": self.password.as_dict() if self.password else None,
        }


def load_photo(source: ImageSource, max_side: int = DECODE_SIDE) -> np.ndarray:
    """A photo as upright uint8 grayscale, decoded at most about ``max_side`` on its long side.

    A JPEG is decoded at a reduced scale straight from its DCT (Pillow's ``draft``), so a 12 or
    50 MP photo never exists at full size in memory; other formats are decoded, then shrunk.
    EXIF orientation and the decompression-bomb limit are ``load_gray``'s.
    """
    image: ImageSource = source
    if isinstance(source, (str, os.PathLike, bytes)):
        try:
            opened = Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
        except (UnidentifiedImageError, OSError, ValueError):
            opened = None  # load_gray says what is wrong, in its words
        if opened is not None:
            if opened.width * opened.height > MAX_PIXELS:
                return load_gray(opened)  # refused from the header, with the message every command gives
            if opened.format == "JPEG" and max(opened.size) > max_side:
                scale = max_side / max(opened.size)
                opened.draft("L", (int(opened.width * scale), int(opened.height * scale)))
            image = opened
    gray = load_gray(image)
    if max(gray.shape) > max_side * 1.5:
        import cv2

        scale = max_side / max(gray.shape)
        gray = cv2.resize(
            gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    return gray


def reading_order(boxes: list[TextBox]) -> tuple[list[int], list[LineFacts]]:
    """Boxes in reading order (rows top to bottom, left to right in a row) and each one's row and extent.

    Rows are found in the frame turned by the lines' median slope, so a photo taken at 25 degrees
    still reads row by row: two boxes share a row when their centres are closer, across the row,
    than half the smaller box's height.
    """
    if not boxes:
        return [], []
    angle = np.deg2rad(float(np.median([b.angle for b in boxes])))
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    centres = np.array([b.centre for b in boxes]) @ turn.T
    extents = [(b.points @ turn.T)[:, 0] for b in boxes]
    by_y = sorted(range(len(boxes)), key=lambda k: centres[k, 1])
    rows: list[list[int]] = []
    for k in by_y:
        if rows:
            last = rows[-1]
            height = min(min(boxes[j].height for j in last), boxes[k].height)
            if abs(centres[k, 1] - np.mean([centres[j, 1] for j in last])) < 0.5 * height:
                last.append(k)
                continue
        rows.append([k])
    order: list[int] = []
    row_of: dict[int, int] = {}
    for r, row in enumerate(rows):
        for k in sorted(row, key=lambda j: centres[j, 0]):
            order.append(k)
            row_of[k] = r
    facts = [LineFacts("", 0.0, row_of[k], float(extents[k].min()), float(extents[k].max())) for k in order]
    return order, facts


#: Side margin added to every box, in line heights. DB's boxes hug the ink and drop thin end
#: glyphs (``|``, ``!``, ``'``) that passwords are full of; the recognizer was trained on loose crops.
SIDE_MARGIN = 0.3


def _with_margins(boxes: list[TextBox], facts: list[LineFacts], shape: tuple[int, ...]) -> list[TextBox]:
    """Each box widened by ``SIDE_MARGIN`` heights, but never past half the gap to its neighbour in the row."""
    out = []
    for k, (box, fact) in enumerate(zip(boxes, facts)):
        room = [SIDE_MARGIN * box.height, SIDE_MARGIN * box.height]
        for j, other in enumerate(facts):
            if j == k or other.row != fact.row:
                continue
            if other.right <= fact.left + 1:
                room[0] = min(room[0], max(0.0, (fact.left - other.right) / 2))
            elif other.left >= fact.right - 1:
                room[1] = min(room[1], max(0.0, (other.left - fact.right) / 2))
        out.append(box.widened(room[0], room[1], shape[1], shape[0]))
    return out


def _value_table(probs: np.ndarray, reading: Reading, start: int) -> np.ndarray:
    """The part of a line's probability table after its first ``start`` characters (the label)."""
    if start <= 0:
        return probs
    path = probs.argmax(-1)
    seen, previous = 0, BLANK
    for t, label in enumerate(path):
        if label != BLANK and label != previous:
            if seen == start:
                return probs[t:]
            seen += 1
        previous = label
    return probs[len(probs) :]


def read_photo(
    recognizer: Recognizer,
    image: ImageSource,
    candidates: int = 1,
    constraints: Constraints | None = None,
    detector: TextDetector | None = None,
) -> PhotoReading:
    """Read every text line of a whole photo and pick the password.

    Args:
        recognizer: reads each straightened line.
        image: a path, bytes, PIL image or NumPy array (RGB or gray); EXIF orientation is honoured.
        candidates: n-best strings per line and for the password.
        constraints: what the password may be (charset, length). They apply to the password only:
            labels and other lines are read freely, and a line whose reading cannot meet them
            is not picked when another can.
        detector: the text-line detector (default: PP-OCRv6 small's, loaded once).

    Returns:
        the lines in reading order and the password (``None`` when the photo has no text).
    """
    name = describe(image)
    gray = load_photo(image)
    detector = detector or default_detector()
    boxes = detector(gray)
    order, facts = reading_order(boxes)
    boxes = _with_margins([boxes[k] for k in order], facts, gray.shape)
    crops = [crop_line(gray, box) for box in boxes]
    tables = recognizer.probabilities(crops) if crops else []
    readings = [recognizer.decode(t, f"{name}#{i}", candidates) for i, t in enumerate(tables)]
    lines = tuple(PhotoLine(b, r) for b, r in zip(boxes, readings))
    facts = [LineFacts(r.text, r.confidence, f.row, f.left, f.right) for r, f in zip(readings, facts)]
    pick = pick_password(_admissible(facts, constraints))
    password = None
    if pick is not None:
        value = recognizer.decode(
            _value_table(tables[pick.line], readings[pick.line], pick.start), name, candidates, constraints
        )
        password = PhotoPassword(value, pick.line, pick.why, pick.label)
    return PhotoReading(name, (gray.shape[1], gray.shape[0]), lines, password)


def _admissible(facts: list[LineFacts], constraints: Constraints | None) -> list[LineFacts]:
    """Facts as given; with constraints, a line whose whole reading breaks them keeps only its label part.

    Constraints describe the password (``--charset hex --length 10``); a network name or a title
    that cannot be such a string should not win on looks, but a ``Key: value`` line still can.
    """
    if constraints is None or not constraints.active:
        return facts
    out = []
    for f in facts:
        _, kind, _, start = split_label(f.text)
        value = f.text[start:].strip()
        ok = not value or constraints.admits(value)
        out.append(f if ok or kind else LineFacts(f.text, f.confidence - 2.0, f.row, f.left, f.right))
    return out


def looks_like_line(image: ImageSource, detector: TextDetector | None = None) -> bool:
    """Whether an image is one text line (a crop for ``Recognizer.read``) rather than a whole photo.

    A crop is wide and short, or the detector finds a single line filling most of it; a photo has
    several lines, or one small line in a larger scene.
    """
    gray = load_photo(image)
    h, w = gray.shape
    if w / h >= 4.0 and h <= 400:
        return True
    boxes = (detector or default_detector())(gray)
    if len(boxes) == 0:
        return True  # nothing found: read the whole image as one line, as before photo mode existed
    if len(boxes) > 1:
        big = [b for b in boxes if b.height > 0.25 * h]
        return len(big) == 1 and big[0].width * big[0].height > 0.5 * w * h
    box = boxes[0]
    return box.width * box.height > 0.3 * w * h
