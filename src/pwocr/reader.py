"""The reader's entry: one image, or many, read as a line crop or as a whole photo.

``pwocr recognize``, the server and the Python API read through here. An image is a line crop
(read by ``Recognizer``, the model and its decoder) or a whole photo (read by ``pwocr.layout``:
detection, straightening, the password pick); ``layout="auto"`` decides from the image's size
and, when that is not enough, from the detector's boxes, which the photo reading then reuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Literal

import numpy as np

from pwocr.data.images import ImageSource, describe, probe, refuse_one_image
from pwocr.decoding.constraints import Constraints
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Reading, Recognizer, Skipped
from pwocr.layout.detector import TextBox, TextDetector, default_detector
from pwocr.layout.labels import LabelReader
from pwocr.layout.photo import PhotoReading, load_photo, luminance, read_boxes
from pwocr.options import LAYOUTS, Layout


def check_layout(layout: str) -> None:
    """Refuse a layout that is none of ``LAYOUTS`` (the API's callers pass plain strings)."""
    if layout not in LAYOUTS:
        raise PwocrError(f"layout {layout!r}: expected {', '.join(LAYOUTS[:-1])} or {LAYOUTS[-1]}")


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
    check_layout(layout)
    recognizer.check_request(candidates, constraints)
    return _read_checked(recognizer, image, layout, candidates, constraints, detector, label_reader)


def _read_checked(
    recognizer: Recognizer,
    image: ImageSource,
    layout: Layout,
    candidates: int,
    constraints: Constraints | None,
    detector: TextDetector | None,
    label_reader: LabelReader | Literal["default"] | None = "default",
) -> Reading | PhotoReading:
    """``read_image`` with its options already checked (``read_images`` checks them once for all)."""
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
    return read_boxes(recognizer, photo, name, boxes, candidates, constraints, label_reader, detector)


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
    check_layout(layout)
    refuse_one_image(images, "read_images")
    recognizer.check_request(candidates, constraints)
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
            yield _read_checked(recognizer, source, layout, candidates, constraints, detector)
        except PwocrError as e:
            yield Skipped(describe(source), str(e))
    if lines:
        yield from recognizer.read_each(lines, candidates, constraints, chunk)
