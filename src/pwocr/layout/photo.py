"""Whole-photo reading: find the text lines, straighten and read each, order them, pick the password.

``read_photo`` is the one path from a phone photo to a ``PhotoReading``; the CLI, the server and
the benchmark all call it. ``looks_like_line`` tells a line crop from a whole photo, so that
``pwocr recognize`` can choose the mode by itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from pwocr.data.images import ImageSource, colour_to_gray, describe, load, probe
from pwocr.decoding.constraints import Constraints
from pwocr.decoding.ctc import character_spans
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Reading, Recognizer, Skipped
from pwocr.layout.detector import TextBox, TextDetector, crop_line, default_detector, order_corners
from pwocr.layout.labels import LabelReader, default_label_reader
from pwocr.layout.password import LineFacts, pick_password, split_label

Layout = Literal["auto", "line", "photo"]

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
    """A photo as upright uint8 RGB (``H x W x 3``), or ``H x W`` gray when it has no colour, at most about ``max_side`` long.

    Colour is kept because each use wants its own: the detector sees luminance, a colour model
    reads each line crop in colour, and a gray model (and the ink tests) reads it in gray along
    the crop's own ink-to-background colour axis (``colour_to_gray``), which a whole photo's axis
    (the wall's and the card's colours) would not give. ``load`` decodes a large JPEG at reduced
    scale, so a 12 or 50 MP photo never exists at full size in memory.
    """
    return load(source, colour=True, max_side=max_side)


def luminance(photo: np.ndarray) -> np.ndarray:
    """The gray the detector sees: luminance of a colour photo, the photo itself if gray."""
    return cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY) if photo.ndim == 3 else photo


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


#: Boxes of one row closer than this many line heights are one line. DB sometimes cuts a line
#: inside a word (``PW: E`` | ``itFR@i7%w()``); a word space is well under half a box height,
#: and a label printed far from its value stays apart (the picker links it by position).
JOIN_GAP = 0.5


def _join_fragments(boxes: list[TextBox], facts: list[LineFacts]) -> tuple[list[TextBox], list[LineFacts]]:
    """Neighbours in a row (boxes in reading order) with a small gap and similar heights, joined into one box."""
    out_boxes: list[TextBox] = []
    out_facts: list[LineFacts] = []
    for box, fact in zip(boxes, facts):
        if out_boxes and out_facts[-1].row == fact.row:
            last, last_fact = out_boxes[-1], out_facts[-1]
            low, high = sorted((last.height, box.height))
            if fact.left - last_fact.right < JOIN_GAP * low and high < 1.6 * low:
                rect = cv2.minAreaRect(np.vstack([last.points, box.points]).astype(np.float32))
                out_boxes[-1] = TextBox(order_corners(cv2.boxPoints(rect)), min(last.score, box.score))
                out_facts[-1] = LineFacts("", 0.0, fact.row, last_fact.left, max(last_fact.right, fact.right))
                continue
        out_boxes.append(box)
        out_facts.append(fact)
    return out_boxes, out_facts


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


#: A blank run of at least this many crop heights between two characters is a word space. Letters
#: sit about 0.05 crop heights apart, a space about 0.2 (the crop is about 1.5 text heights tall).
SPACE_GAP = 0.13


def spaced_text(crop: np.ndarray, probs: np.ndarray, text: str, frames: int | None = None) -> str:
    """``text`` with a space wherever the crop shows a word gap between two characters.

    ``frames``: how many of the table's frames span the crop (``Recognizer.line_frames``; the rest
    read the model's padding); all of them by default.

    The model's alphabet has no space, so ``Password GeyDoh6105`` reads ``PasswordGeyDoh6105``;
    whether a label ends there is seen in the pixels: a run of ink-free columns, found between the
    CTC frames of the two characters. The picker reads labels from this text.
    """
    spans = _character_spans(probs)
    if len(spans) != len(text) or len(text) < 2:
        return text
    h, w = crop.shape
    inked = _inked_columns(crop)
    frames = frames or len(probs)
    gaps = []
    for k in range(1, len(text)):
        if spans[k][0] >= frames:
            # Read over the padding after the line: the crop's right margin is no word gap.
            gaps.append(False)
            continue
        x0 = int((spans[k - 1][1] + 1) / frames * w)
        x1 = int(spans[k][0] / frames * w)
        run = best = 0
        for x in range(max(0, x0), min(w, x1 + 1)):
            run = 0 if inked[x] else run + 1
            best = max(best, run)
        gaps.append(best >= SPACE_GAP * h)
    if sum(gaps) > len(gaps) / 2:
        return text  # wide gaps everywhere: a letter-spaced field (a password shown spaced out), not words
    return text[0] + "".join((" " if gap else "") + c for gap, c in zip(gaps, text[1:]))


def _value_table(probs: np.ndarray, start: int) -> np.ndarray:
    """The part of a line's probability table after its first ``start`` characters (the label)."""
    if start <= 0:
        return probs
    spans = _character_spans(probs)
    return probs[spans[start][0] :] if start < len(spans) else probs[len(probs) :]


def read_photo(
    recognizer: Recognizer,
    image: ImageSource,
    candidates: int = 1,
    constraints: Constraints | None = None,
    detector: TextDetector | None = None,
    label_reader: LabelReader | Literal["default"] | None = "default",
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
        label_reader: reads labels in scripts pwocr cannot (default: PP-OCRv6 small's recognizer,
            shipped with pwocr); ``None`` to use pwocr's readings alone.

    Returns:
        the lines in reading order and the password (``None`` when the photo has no text).
    """
    photo = load_photo(image)
    boxes = (detector or default_detector())(luminance(photo))
    return _read_boxes(recognizer, photo, describe(image), boxes, candidates, constraints, label_reader)


def read_image(
    recognizer: Recognizer,
    image: ImageSource,
    layout: Layout = "auto",
    candidates: int = 1,
    constraints: Constraints | None = None,
    detector: TextDetector | None = None,
    label_reader: LabelReader | Literal["default"] | None = "default",
) -> Reading | PhotoReading:
    """Read an image as one line (``Recognizer.read``) or as a whole photo (``read_photo``), decoding it once.

    ``layout="auto"`` decides as ``looks_like_line`` does and reuses the detector's boxes, so a
    photo costs one decode and one detection whichever way it goes. A line gives a ``Reading``
    (``recognizer.read``'s from the pixels already decoded; a JPEG over 3,200 pixels is decoded at reduced scale), a photo a ``PhotoReading``.
    """
    if layout not in ("auto", "line", "photo"):
        raise PwocrError(f"layout {layout!r}: expected auto, line or photo")
    if layout == "line":
        return recognizer.read(image, candidates, constraints)
    name = describe(image)
    photo = load_photo(image)
    boxes: list[TextBox] | None = None
    if layout == "auto":
        is_line, boxes = _line_or_photo(photo, detector)
        if is_line:
            # The pixels are already here: a second decode of a large image would double its memory.
            return dataclasses.replace(recognizer.read(photo, candidates, constraints), image=name)
    if boxes is None:
        boxes = (detector or default_detector())(luminance(photo))
    return _read_boxes(recognizer, photo, name, boxes, candidates, constraints, label_reader)


def _read_boxes(
    recognizer: Recognizer,
    photo: np.ndarray,
    name: str,
    boxes: list[TextBox],
    candidates: int,
    constraints: Constraints | None,
    label_reader: LabelReader | Literal["default"] | None,
) -> PhotoReading:
    """Straighten, read and order the detected lines of a loaded photo, then pick the password."""
    if label_reader == "default":
        label_reader = default_label_reader()
    order, facts = reading_order(boxes)
    boxes, facts = _join_fragments([boxes[k] for k in order], facts)
    boxes = _with_margins(boxes, facts, photo.shape)
    straight = [crop_line(photo, box) for box in boxes]
    crops = [_gray_crop(crop) for crop in straight]  # for the ink tests and the label reader
    tables = recognizer.probabilities(straight if recognizer.preprocess.colour else crops) if crops else []
    readings = [recognizer.decode(t, f"{name}#{i}", candidates) for i, t in enumerate(tables)]
    lines = tuple(PhotoLine(b, r) for b, r in zip(boxes, readings))
    texts, offsets = [], []
    frames = [recognizer.line_frames(crop.shape) for crop in crops]
    for crop, table, reading, n in zip(crops, tables, readings, frames):
        text, offset = _label_text(crop, table, reading, label_reader, n)
        texts.append(text)
        offsets.append(offset)
    facts = [LineFacts(text, r.confidence, f.row, f.left, f.right) for text, r, f in zip(texts, readings, facts)]
    pick = pick_password(_admissible(facts, constraints))
    password = None
    if pick is not None:
        start = offsets[pick.line](pick.start)
        if start > 0:  # after a label: skip what the model read in the blank gap (a space read as "_")
            start += _phantoms_at(crops[pick.line], tables[pick.line], start, frames[pick.line])
        value = recognizer.decode(_value_table(tables[pick.line], start), name, candidates, constraints)
        password = PhotoPassword(value, pick.line, pick.why, pick.label)
    return PhotoReading(name, (photo.shape[1], photo.shape[0]), lines, password)


#: Below this confidence, a line pwocr finds no label in is read again by PP-OCRv6 for a label
#: in a script pwocr cannot spell (``密码``, ``パスワード``): there pwocr reads a few unsure symbols.
LABEL_READER_BELOW = 0.5


def _label_text(
    crop: np.ndarray, table: np.ndarray, reading: Reading, label_reader: LabelReader | None, frames: int
) -> tuple[str, Callable[[int], int]]:
    """The text the picker sees for one line, and how an index into it maps to an index into ``reading.text``.

    Normally pwocr's reading with word gaps as spaces. When that has no label, pwocr was unsure,
    and PP-OCRv6 finds a label there, the label is PP-OCRv6's and the value after it pwocr's
    (matched by position across the line).
    """
    spaced = spaced_text(crop, table, reading.text, frames)
    plain = (spaced, lambda i: i - spaced[:i].count(" "))
    if label_reader is None or reading.confidence >= LABEL_READER_BELOW or split_label(spaced)[1]:
        return plain
    other = label_reader(crop)
    label, kind, _, start = split_label(other.text)
    if not kind:
        return plain
    prefix = f"{label}: "
    if start >= len(other.text):
        return prefix.strip(), lambda i: len(reading.text)
    # Where the value starts across the line, and pwocr's first character from there on.
    x = other.starts[start] - 0.5 / max(len(other.text), 1) if other.starts else 0.0
    onsets = _char_onsets(table, frames)
    first = next((k for k, f in enumerate(onsets) if f >= x), len(reading.text))
    return prefix + reading.text[first:], lambda i: first + max(0, i - len(prefix))


def _phantoms_at(crop: np.ndarray, table: np.ndarray, start: int, frames: int) -> int:
    """How many characters from ``start`` on were read where the crop has no ink at all.

    The model has no space class and sometimes spells a word gap as ``_`` or ``~``; between a
    label and its value such a character is a gap, not the password's first character.
    """
    spans = _character_spans(table)
    w = crop.shape[1]
    inked = _inked_columns(crop)
    count = 0
    for first, last in spans[start:]:
        x0, x1 = int(first / frames * w), int((last + 1) / frames * w)
        # A character read over the padding is the line's last one, read late: real, not a gap.
        if first >= frames or inked[max(0, x0) : max(x0 + 1, x1)].any():
            break
        count += 1
    return count if count < len(spans) - start else 0


def _char_onsets(table: np.ndarray, frames: int) -> list[float]:
    """Where each character of the greedy reading starts across the line (0 to 1) whose first ``frames`` frames span it."""
    return [min(1.0, first / frames) for first, _ in _character_spans(table)]


def _character_spans(probs: np.ndarray) -> list[tuple[int, int]]:
    """The first and last frame of each character of the greedy CTC reading."""
    return character_spans(probs.argmax(-1).tolist())


def _inked_columns(crop: np.ndarray) -> np.ndarray:
    """Which columns of a gray line crop hold ink (Otsu's threshold; ink is the minority of pixels)."""
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary > 0 if (binary > 0).mean() < 0.5 else binary == 0
    return ink.sum(0) > max(1, 0.03 * crop.shape[0])


def _gray_crop(crop: np.ndarray) -> np.ndarray:
    """A line crop in gray along its own main colour axis (coloured ink keeps its contrast)."""
    return colour_to_gray(crop) if crop.ndim == 3 else crop


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
    return _line_or_photo(load_photo(image), detector)[0]


def _line_or_photo(photo: np.ndarray, detector: TextDetector | None) -> tuple[bool, list[TextBox] | None]:
    """``looks_like_line``'s answer for a loaded photo, and the detector's boxes when it ran."""
    h, w = photo.shape[:2]
    if _line_sized(w, h):
        return True, None
    boxes = (detector or default_detector())(luminance(photo))
    if len(boxes) == 0:
        return True, boxes  # nothing found: read the whole image as one line, as before photo mode existed
    if len(boxes) > 1:
        big = [b for b in boxes if b.height > 0.25 * h]
        return len(big) == 1 and big[0].width * big[0].height > 0.5 * w * h, boxes
    return boxes[0].width * boxes[0].height > 0.3 * w * h, boxes


#: An image at most this many pixels tall is a line crop: a photo of several lines is taller
#: (word crops of IIIT 5K-Word and Street View Text are 16 to 108 pixels tall, 5th to 95th percentile).
LINE_MAX_HEIGHT = 128
#: A wider image is a line crop up to ``LINE_MAX_WIDE_HEIGHT`` pixels tall (a close-up of one line).
LINE_MIN_ASPECT = 4.0
LINE_MAX_WIDE_HEIGHT = 400


def _line_sized(width: int, height: int) -> bool:
    """Whether an image's size alone makes it a line crop: short, or wide and not tall."""
    return height <= LINE_MAX_HEIGHT or (width / height >= LINE_MIN_ASPECT and height <= LINE_MAX_WIDE_HEIGHT)


def read_images(
    recognizer: Recognizer,
    images: Iterable[ImageSource],
    layout: Layout = "auto",
    candidates: int = 1,
    constraints: Constraints | None = None,
    detector: TextDetector | None = None,
    chunk: int = 64,
) -> Iterator[Reading | PhotoReading | Skipped]:
    """``read_image`` over many images, one result per input in input order, line crops read in batches.

    Each image's header is read first (``probe``): one that cannot be read gives a ``Skipped``
    where it stood, before any pixel is decoded. A folder of crops costs what
    ``Recognizer.read_each`` costs: with ``layout="auto"`` an image whose header already says it is a line (``LINE_MAX_HEIGHT``, or wide and not tall) joins a
    batch without a detector pass; any other goes through ``read_image``.
    """
    if layout not in ("auto", "line", "photo"):
        raise PwocrError(f"layout {layout!r}: expected auto, line or photo")
    if layout == "line":
        yield from recognizer.read_each(images, candidates, constraints, chunk)
        return
    lines: list[ImageSource] = []
    for source in images:
        try:
            info = probe(source)
        except PwocrError as e:
            info, problem = None, Skipped(describe(source), str(e))
        if info is not None and layout == "auto" and _line_sized(info.width, info.height):
            lines.append(source)
            if len(lines) >= chunk:
                yield from recognizer.read_each(lines, candidates, constraints, chunk)
                lines = []
            continue
        if lines:  # the lines before this image come first
            yield from recognizer.read_each(lines, candidates, constraints, chunk)
            lines = []
        if info is None:
            yield problem
            continue
        try:
            yield read_image(recognizer, source, layout, candidates, constraints, detector)
        except PwocrError as e:
            yield Skipped(describe(source), str(e))
    if lines:
        yield from recognizer.read_each(lines, candidates, constraints, chunk)
