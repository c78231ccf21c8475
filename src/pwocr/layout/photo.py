"""Whole-photo reading: find the text lines, straighten and read each, order them, pick the password.

``read_boxes`` is the one path from a loaded photo and its detected lines to a ``PhotoReading``.
``pwocr.reader`` (the CLI's, the server's and the API's entry) decides whether an image is a line
crop or a photo and calls it with the boxes it found deciding; ``read_photo`` loads and detects,
then calls it, for callers that know they hold a photo.
"""

from __future__ import annotations

import dataclasses
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pwocr.data.images import ImageSource, describe, load
from pwocr.decoding.constraints import Constraints
from pwocr.imaging import rgb_to_gray
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.layout.clues import find_label, spellable_value_end
from pwocr.layout.detector import TextBox, TextDetector, crop_line, default_detector
from pwocr.layout.geometry import LinePlace, join_fragments, reading_order, with_margins
from pwocr.layout.ink import (
    char_onsets,
    gray_crop,
    phantoms_at,
    spaced_text,
    spelt_words,
    trailing_phantoms,
    value_table,
)
from pwocr.layout.labels import LabelReader, LabelReading, default_label_reader
from pwocr.layout.orientation import AngleClassifier, default_angle_classifier, turn_photo, unturn_box, upright_turns
from pwocr.layout.password import LineFacts, PasswordPick, pick_pairs
from pwocr.lookalikes import lookalikes_of

#: Photos are decoded at no more than this long side: enough for any line a phone photographs
#: legibly, and it bounds memory and time however many megapixels the camera had.
DECODE_SIDE = 3200
#: Lines are straightened at no fewer rows than this, the model's height: a line photographed
#: 12 px tall is resampled once, by cubic interpolation from the photo, not twice (a warp, then the
#: model's linear resize). On 60 small photos (``bench/photos.py --condition small --read_height``)
#: the pick was 76.7% at 0 (as photographed), 80.0% at 48 and 81.7% at 72.
LINE_READ_HEIGHT = 48


@dataclass(frozen=True)
class PhotoLine:
    """One text line of a photo: where it is (four corners in the photo's pixels) and what it reads.

    ``reading`` is the password model's (the 94 printable ASCII characters, no spaces); ``words``
    is the line as a person reads it: with its word gaps as spaces and, on a line that is not a
    password, in PP-OCRv6's reading, which spells accents and other scripts (``Contraseña``).
    """

    box: TextBox
    reading: Reading
    words: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = self.reading.as_dict()
        return {
            "box": self.box.as_list(),
            "text": d["text"],
            "words": self.words or d["text"],
            "confidence": d["confidence"],
            "candidates": d["candidates"],
            "chars": d["chars"],
        }


@dataclass(frozen=True)
class PhotoPassword:
    """A value judged to be a password: its reading (label stripped), its line, the evidence and its network."""

    reading: Reading
    line: int
    why: str
    label: str | None
    network: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = self.reading.as_dict()
        return {
            "text": d["text"],
            "confidence": d["confidence"],
            "candidates": d["candidates"],
            "chars": d["chars"],
            "line": self.line,
            "why": self.why,
            "network": self.network,
        }


@dataclass(frozen=True)
class PhotoReading:
    """Every text line of a photo in reading order, and the password among them (``None`` if no line)."""

    image: str
    size: tuple[int, int]  # width, height of the photo as loaded (its EXIF orientation applied)
    lines: tuple[PhotoLine, ...]
    password: PhotoPassword | None
    #: Every network's password on a sign that lists several, the pick (``password``) first.
    pairs: tuple[PhotoPassword, ...] = ()
    #: Degrees counterclockwise the photo was turned for its text to read left to right (0, 90, 180, 270).
    turned: int = 0

    def as_dict(self) -> dict[str, Any]:
        """``{"image", "turned", "lines": [{"box", "text", ...}], "password": {...} | None, "pairs": [{...}]}``;
        lines number from 0."""
        return {
            "image": self.image,
            "turned": self.turned,
            "lines": [line.as_dict() for line in self.lines],
            "password": self.password.as_dict() if self.password else None,
            "pairs": [pair.as_dict() for pair in self.pairs],
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
    return rgb_to_gray(photo) if photo.ndim == 3 else photo


def read_photo(
    recognizer: Recognizer,
    image: ImageSource,
    candidates: int = 1,
    constraints: Constraints | None = None,
    detector: TextDetector | None = None,
    label_reader: LabelReader | Literal["default"] | None = "default",
    angles: AngleClassifier | Literal["default"] | None = "default",
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
        angles: says which way up the text reads (default: PP-OCR's text-angle classifier, shipped
            with pwocr); a sideways or upside-down photo is read turned. ``None``: read as it stands.

    Returns:
        the lines in reading order and the password (``None`` when the photo has no text).
    """
    photo = load_photo(image)
    boxes = (detector or default_detector())(luminance(photo))
    return read_boxes(
        recognizer, photo, describe(image), boxes, candidates, constraints, label_reader, detector, angles
    )


@dataclass(frozen=True)
class _ReadLines:
    """A photo's lines, straightened and read: what the picker and the value decoder need of each."""

    boxes: list[TextBox]
    places: list[LinePlace]
    crops: list[np.ndarray]  # gray, for the ink tests and the label reader
    tables: list[np.ndarray]
    frames: list[int]
    readings: list[Reading]
    # Each line's PP-OCRv6 features over its own frames, for the label reader's CTC layer (``None``:
    # a model whose features are not PP-OCRv6's; the label reader then reads the gray crops).
    features: list[np.ndarray] | None


def _read_lines(
    recognizer: Recognizer, photo: np.ndarray, name: str, boxes: list[TextBox], candidates: int
) -> _ReadLines:
    """Order, join, widen, straighten and read the detected boxes of a loaded photo."""
    order, places = reading_order(boxes)
    boxes, places = join_fragments([boxes[k] for k in order], places)
    boxes = with_margins(boxes, places, photo.shape)
    straight = [crop_line(photo, box, min_height=LINE_READ_HEIGHT) for box in boxes]
    crops = [gray_crop(crop) for crop in straight]
    tables, features = recognizer.probabilities_and_features(straight if recognizer.preprocess.colour else crops)
    # Read as they look: a line's words, ink and value cut are aligned to its greedy path.
    readings = [recognizer.decode(t, f"{name}#{i}", candidates, with_prior=False) for i, t in enumerate(tables)]
    frames = [recognizer.line_frames(crop.shape) for crop in crops]
    return _ReadLines(boxes, places, crops, tables, frames, readings, features)


#: A photo whose lines read at least this surely as they stand (``legibility``) is not put to the
#: text-angle classifier's vote (12-17 ms a photo): on 150 composed scenes, 96 upright photos read
#: so surely and none of them was voted turned, while of 150 photos of 50 of them taken sideways or
#: upside down the 5 that read so surely as given (sideways, their crops straightened the right
#: way) all gave the right password; sideways photos read wrong reached 0.78.
SURELY_UPRIGHT = 0.85


def read_boxes(
    recognizer: Recognizer,
    photo: np.ndarray,
    name: str,
    boxes: list[TextBox],
    candidates: int,
    constraints: Constraints | None,
    label_reader: LabelReader | Literal["default"] | None,
    detector: TextDetector | None = None,
    angles: AngleClassifier | Literal["default"] | None = "default",
) -> PhotoReading:
    """Read the detected lines of a loaded photo, then pick the password (and every network's).

    A photo whose lines read surely as it stands (``legibility`` at least ``SURELY_UPRIGHT``) is
    taken as upright. Elsewhere, where the text-angle classifier's vote (``pwocr.layout.orientation``)
    says the text stands sideways or upside down, the photo is also read turned, its lines found
    again by ``detector`` (default: the shipped one), and the turned reading is kept if its lines
    read more surely: the classifier knows words, and a random password upside down
    (``}<6S>z9X=j|``) can fool it, but not the password model. Boxes are always in the pixels of
    the photo as it came. ``angles=None`` reads every photo as it stands.
    """
    if angles == "default":
        angles = default_angle_classifier()
    as_given = _read_as_given(recognizer, photo, name, boxes, candidates, constraints, label_reader)
    if angles is None or legibility(as_given) >= SURELY_UPRIGHT:
        return as_given
    turns = upright_turns(luminance(photo), boxes, angles)
    if turns == 0:
        return as_given
    turned = turn_photo(photo, turns)
    turned_boxes = (detector or default_detector())(luminance(turned))
    reading = _read_as_given(recognizer, turned, name, turned_boxes, candidates, constraints, label_reader)
    if legibility(reading) <= legibility(as_given):
        return as_given
    lines = tuple(dataclasses.replace(line, box=unturn_box(line.box, turns, photo.shape)) for line in reading.lines)
    size = (photo.shape[1], photo.shape[0])
    return dataclasses.replace(reading, size=size, lines=lines, turned=90 * turns)


def legibility(reading: PhotoReading) -> float:
    """How surely the password model reads a photo's lines: their confidences' mean, weighed by the lines' lengths."""
    lengths = [max(line.box.width, line.box.height) for line in reading.lines]
    total = sum(lengths)
    return sum(w * line.reading.confidence for w, line in zip(lengths, reading.lines)) / total if total else 0.0


def _read_as_given(
    recognizer: Recognizer,
    photo: np.ndarray,
    name: str,
    boxes: list[TextBox],
    candidates: int,
    constraints: Constraints | None,
    label_reader: LabelReader | Literal["default"] | None,
) -> PhotoReading:
    """``read_boxes`` of the photo as it stands, whichever way up its text reads."""
    if label_reader == "default":
        label_reader = default_label_reader()
    read = _read_lines(recognizer, photo, name, boxes, candidates)
    second = _SecondReadings(label_reader, read.crops, read.features)
    spaced = [spaced_text(c, t, r.text, n) for c, t, r, n in zip(read.crops, read.tables, read.readings, read.frames)]
    seen = [
        _label_text(k, read.tables[k], read.readings[k], spaced[k], second, read.frames[k])
        for k in range(len(read.readings))
    ]
    facts = [
        LineFacts(text, r.confidence, p.row, p.left, p.right)
        for (text, _), r, p in zip(seen, read.readings, read.places)
    ]
    picks = pick_pairs(_admissible(facts, constraints))
    found = tuple(
        _password_of(pick, read, seen[pick.line][1], recognizer, name, candidates, constraints) for pick in picks
    )
    values = {pick.line for pick in picks}
    words = [
        _unspaced_values(seen[k][0], picks, k) if k in values else second.words(k, _spelt(read, k))
        for k in range(len(read.readings))
    ]
    lines = tuple(PhotoLine(b, r, w) for b, r, w in zip(read.boxes, read.readings, words))
    size = (photo.shape[1], photo.shape[0])
    return PhotoReading(name, size, lines, found[0] if found else None, found)


def _unspaced_values(text: str, picks: list[PasswordPick], k: int) -> str:
    """Line ``k``'s text as the picker saw it, each value picked in it without the word gaps the ink
    suggested: a password has no space (``Xq7!mZ2#pL``, not ``Xq7 !mZ2#pL``)."""
    for pick in sorted((p for p in picks if p.line == k), key=lambda p: -p.start):
        text = text[: pick.start] + text[pick.start : pick.end].replace(" ", "") + text[pick.end :]
    return text


def _password_of(
    pick: PasswordPick,
    read: _ReadLines,
    to_reading: Callable[[int], int],
    recognizer: Recognizer,
    name: str,
    candidates: int,
    constraints: Constraints | None,
) -> PhotoPassword:
    """The picked value decoded from its own frames of the line's table (label and name cut off)."""
    k = pick.line
    start, end = to_reading(pick.start), to_reading(pick.end)
    if start > 0:  # after a label: skip what the model read in the blank gap (a space read as "_")
        start += phantoms_at(read.crops[k], read.tables[k], start, read.frames[k])
    if GAP_MARK.search(pick.value):  # a lone mark after a word gap, maybe the gap read as "_" or "."
        end -= min(1, trailing_phantoms(read.crops[k], read.tables[k], end, read.frames[k]))
    end = None if end >= len(read.readings[k].text) else max(end, start + 1)
    table = value_table(read.tables[k], start, end)
    value = recognizer.decode(table, name, candidates, constraints)
    if pick.label is not None and constraints is None and nearly_a_number(value.text):
        digits = recognizer.decode(table, name, candidates, Constraints(allowed=string.digits))
        if digits.text and digits.confidence >= NUMBER_PRIOR * value.confidence:
            value = digits
    return PhotoPassword(plausible_candidates(value), k, pick.why, pick.label, pick.network)


#: A labelled value read as digits but for one or two look-alike letters is read as a number when
#: the model finds the all-digit string at least this share as likely: ISP routers print 10 to 20
#: digit passwords, while a random password almost never has one letter among 8 digits.
NUMBER_PRIOR = 0.02
#: Letters that fonts draw like a digit (``O`` and ``0``, ``l`` and ``1``, ``S`` and ``5``...).
_DIGIT_LOOKALIKES = frozenset(c for d in string.digits for c in lookalikes_of(d) if c.isalpha())


def nearly_a_number(text: str) -> bool:
    """At least 8 characters, all digits but one or two letters that fonts draw like digits (``O`` for ``0``)."""
    others = [c for c in text if not c.isdigit()]
    return len(text) >= 8 and 1 <= len(others) <= 2 and all(c in _DIGIT_LOOKALIKES for c in others)


#: What the model spells a word gap with, alone after a gap at the end of a value: dropped if inkless.
GAP_MARK = re.compile(r" [_~.,'`-]$")

#: A candidate the model gives less than this probability is not offered (it would print as 0.0%),
#: unless it swaps look-alikes of the reading (same length), which a font can make likely.
PLAUSIBLE = 0.0005


def plausible_candidates(reading: Reading) -> Reading:
    """``reading`` with its unlikely alternatives dropped: a beam's deletions at 0.0% help nobody."""
    best, *rest = reading.candidates or (None,)
    if best is None:
        return reading
    kept = [c for c in rest if c.confidence >= PLAUSIBLE or len(c.text) == len(best.text)]
    return dataclasses.replace(reading, candidates=(best, *kept))


#: Below this confidence, a line pwocr finds no label in is read again by PP-OCRv6 for a label
#: in a script pwocr cannot spell (``密码``, ``パスワード``): there pwocr reads a few unsure symbols.
LABEL_READER_BELOW = 0.5


class _SecondReadings:
    """PP-OCRv6's reading of a photo's lines (spaces, accents, other scripts), each read once, when first asked:
    its CTC layer over the lines' ``features`` where pwocr's model gave them, else its recognizer over the ``crops``."""

    def __init__(
        self, reader: LabelReader | None, crops: list[np.ndarray], features: list[np.ndarray] | None = None
    ) -> None:
        self.reader, self.crops, self.features = reader, crops, features
        self._read: dict[int, LabelReading] = {}

    @property
    def available(self) -> bool:
        return self.reader is not None

    def __call__(self, k: int) -> LabelReading:
        assert self.reader is not None
        if k not in self._read:
            if self.features is not None:
                self._read[k] = self.reader.from_features(self.features[k])
            else:
                self._read[k] = self.reader(self.crops[k])
        return self._read[k]

    def words(self, k: int, ours: str) -> str:
        """Line ``k`` as words: PP-OCRv6's reading where it spells what pwocr read (adding only spaces
        and accents) or a script pwocr cannot spell; else pwocr's reading as words, ``ours`` (an
        unpicked password is never shown in another model's reading of its characters)."""
        theirs = self(k).text.strip() if self.available else ""
        return theirs if theirs and (_same_letters(theirs, ours) or _other_script(theirs)) else ours


def _spelt(read: _ReadLines, k: int) -> str:
    """Line ``k`` in pwocr's reading as a person reads it: word gaps as spaces, characters read over no ink left out."""
    return spelt_words(read.crops[k], read.tables[k], read.readings[k].text, read.frames[k])


def _same_letters(theirs: str, ours: str) -> bool:
    """``Bienvenidos a la cafetería`` and ``Bienvenidosalacafeteria``: the same characters but spaces and
    accents, where pwocr may also have left out an accented letter its alphabet lacks (``Contrasea``)."""
    target = ours.replace(" ", "")
    reachable = {0}  # how much of ``target`` theirs' characters so far can spell
    for c in theirs:
        if c.isspace():
            continue
        decomposed = unicodedata.normalize("NFKD", c)
        base = "".join(d for d in decomposed if not unicodedata.combining(d))
        spelt = {i + len(base) for i in reachable if target.startswith(base, i)}
        reachable = spelt | reachable if base != decomposed else spelt
        if not reachable:
            return False
    return len(target) in reachable


def _other_script(text: str) -> bool:
    """Letters no accent-stripping makes ASCII (kana, hanzi, Cyrillic): what pwocr's alphabet lacks."""
    return any(c.isalpha() and not unicodedata.normalize("NFKD", c)[0].isascii() for c in text)


def _label_text(
    k: int, table: np.ndarray, reading: Reading, spaced: str, second: _SecondReadings, frames: int
) -> tuple[str, Callable[[int], int]]:
    """The text the picker sees for one line, and how an index into it maps to an index into ``reading.text``.

    Normally pwocr's reading with word gaps as spaces. When that has no label, pwocr was unsure,
    and PP-OCRv6 finds a label there (before the value or after it), the label is PP-OCRv6's and
    the value pwocr's, matched by position across the line.
    """
    plain = (spaced, lambda i: i - spaced[:i].count(" "))
    if not second.available or reading.confidence >= LABEL_READER_BELOW or find_label(spaced).kind:
        return plain
    other = second(k)
    found = find_label(other.text)
    if not found.kind:
        return plain
    onsets = char_onsets(table, frames)
    if found.after:
        # The value ends where the separator before the label starts; pwocr's characters before it.
        end = spellable_value_end(other.text, found.end)
        x = other.starts[end] if end < len(other.starts) else 1.0
        cut = next((k for k, f in enumerate(onsets) if f >= x), len(reading.text))
        return f"{reading.text[:cut]} → {found.label}", lambda i: min(i, cut)
    prefix = f"{found.label}: "
    if found.start >= len(other.text):
        return prefix.strip(), lambda i: len(reading.text)
    x = other.starts[found.start] - 0.5 / max(len(other.text), 1) if other.starts else 0.0
    first = next((k for k, f in enumerate(onsets) if f >= x), len(reading.text))
    return prefix + reading.text[first:], lambda i: first + max(0, i - len(prefix))


def _admissible(facts: list[LineFacts], constraints: Constraints | None) -> list[LineFacts]:
    """Facts as given; with constraints, a line whose whole reading breaks them keeps only its label part.

    Constraints describe the password (``--charset hex --length 10``); a network name or a title
    that cannot be such a string should not win on looks, but a ``Key: value`` line still can.
    """
    if constraints is None or not constraints.active:
        return facts
    out = []
    for f in facts:
        found = find_label(f.text)
        value = f.text[found.start : found.end].strip()
        ok = not value or constraints.admits(value)
        out.append(f if ok or found.kind else LineFacts(f.text, f.confidence - 2.0, f.row, f.left, f.right))
    return out
