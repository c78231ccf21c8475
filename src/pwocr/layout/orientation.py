"""Which way up a photo's text reads: PP-OCR's text-angle classifier, voted over the photo's lines.

A photo may reach pwocr sideways or upside down: a router standing on its side, a sign taken with
the phone turned, a picture whose EXIF orientation a messenger dropped. The detector finds lines
at any angle and each is straightened along its length, but whether it then reads left to right
or upside down takes a look at its glyphs. PP-OCR's text-angle classifier
(``ch_ppocr_mobile_v2.0_cls``, Apache-2.0, shipped unmodified as the ``rapidocr`` 3.10 wheel
bundles it) gives each straightened line the probability that it is upside down. Each line then
votes for its reading direction across the photo with its length, and the quarter turn that makes
the sum point left to right is the photo's: a line's own guess can be wrong (a random password has
no words to go by), the photo's lines together rarely are. Where they still are (a screen showing
one random password), ``photo.read_boxes`` keeps the photo as it stands: it reads it both ways
and keeps the turned reading only where the password model reads its lines more surely.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from pwocr.errors import PwocrError
from pwocr.imaging import resize
from pwocr.inference.engine import onnx_session
from pwocr.layout.detector import TextBox, crop_line, is_vertical
from pwocr.rapidocr_models import ANGLE_FILE, rapidocr_model_path

#: The classifier's input: lines at 48 rows, squeezed into 192 columns where longer (as PP-OCR trains it).
ANGLE_HEIGHT, ANGLE_WIDTH = 48, 192


class AngleClassifier:
    """PP-OCR's text-angle classifier on onnxruntime: is a straightened line upside down?"""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, threads: int | None = None) -> None:
        path = Path(model_path) if model_path is not None else rapidocr_model_path(ANGLE_FILE)
        self.session = onnx_session(path, threads, "a text-angle classifier", spinning=False)
        self.input_name = self.session.get_inputs()[0].name

    def upside_down(self, lines: Sequence[np.ndarray]) -> np.ndarray:
        """For each straightened gray line (2-D uint8), the probability that it reads upside down."""
        if not lines:
            return np.zeros(0)
        x = np.stack([angle_input(line) for line in lines])
        return self.session.run(None, {self.input_name: x})[0][:, 1].astype(np.float64)


def angle_input(gray: np.ndarray) -> np.ndarray:
    """One line as the classifier reads it: 48 rows, at most 192 columns, in [-1, 1], zero-padded, ``3 x 48 x 192``."""
    h, w = gray.shape
    width = min(ANGLE_WIDTH, math.ceil(ANGLE_HEIGHT * w / max(h, 1)))
    line = resize(gray, width, ANGLE_HEIGHT, "linear").astype(np.float32) * (2.0 / 255.0) - 1.0
    x = np.zeros((3, ANGLE_HEIGHT, ANGLE_WIDTH), np.float32)
    x[:, :, :width] = line
    return x


def crop_direction(box: TextBox) -> np.ndarray:
    """The direction, in photo pixels, in which ``crop_line``'s crop of ``box`` runs from its left to its right."""
    p = box.points
    along = p[3] - p[0] if is_vertical(box) else p[1] - p[0]
    return along / max(float(np.linalg.norm(along)), 1e-6)


def upright_turns(gray: np.ndarray, boxes: Sequence[TextBox], classifier: AngleClassifier) -> int:
    """How many quarter turns counterclockwise (``np.rot90``'s ``k``) make the photo's text read left to right.

    Each line votes for the direction it reads in (its crop's, or the reverse where the classifier
    finds it upside down more likely than not), weighed by its length and by how sure the
    classifier is; the sum's direction, rounded to a quarter turn, is the photo's.
    """
    if not boxes:
        return 0
    crops = [crop_line(gray, box, max_height=ANGLE_HEIGHT, min_height=ANGLE_HEIGHT) for box in boxes]
    flipped = classifier.upside_down(crops)
    vote = np.zeros(2)
    for box, p in zip(boxes, flipped):
        vote += max(box.width, box.height) * (1.0 - 2.0 * p) * crop_direction(box)
    angle = math.degrees(math.atan2(vote[1], vote[0]))  # image coordinates: +90 is down the photo
    return round(angle / 90.0) % 4


def turn_photo(photo: np.ndarray, turns: int) -> np.ndarray:
    """The photo turned ``turns`` quarter turns counterclockwise."""
    return np.ascontiguousarray(np.rot90(photo, turns))


def unturn_box(box: TextBox, turns: int, shape: tuple[int, ...]) -> TextBox:
    """A box of the photo turned ``turns`` quarter turns, back in the pixels of the photo as given (``shape``).

    Its corners keep their order along the text (top-left of the text first), so a box drawn over
    the photo as given still says where its line begins."""
    h, w = shape[:2]
    back = (4 - turns) % 4
    turned_w, turned_h = (w, h) if turns % 2 == 0 else (h, w)
    return TextBox(_turn_points(box.points, back, turned_w, turned_h), box.score)


def _turn_points(points: np.ndarray, turns: int, width: int, height: int) -> np.ndarray:
    """Points of a ``width`` x ``height`` image, where ``np.rot90(image, turns)`` puts them."""
    p = np.asarray(points, np.float32).copy()
    for _ in range(turns % 4):  # one turn: (x, y) -> (y, width - 1 - x), and the image becomes height x width
        p = np.stack([p[:, 1], (width - 1) - p[:, 0]], axis=1)
        width, height = height, width
    return p.astype(np.float32)


@lru_cache(maxsize=1)
def default_angle_classifier() -> AngleClassifier | None:
    """The shipped text-angle classifier, loaded once; ``None`` where this installation lacks it."""
    try:
        return AngleClassifier()
    except PwocrError:
        return None
