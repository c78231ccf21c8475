"""Text-line detection: PP-OCRv6 small's DB detector on onnxruntime, its post-processing in NumPy.

pwocr ships PaddleOCR's PP-OCRv6 small text detector (Apache-2.0) as the ``rapidocr`` 3.10 wheel
bundles it, ``weights/ppocrv6/PP-OCRv6_det_small.onnx``. It was trained by PaddleOCR on real scene, document and screen
photos, which is what a password photo is; a detector trained here on composed scenes alone would
learn our renderer, not phones. Only the weights are used: the graph runs on onnxruntime here and
the Differentiable Binarization post-processing (threshold, minimum-area rectangles, unclip) is
re-done with ``pwocr.imaging`` (OpenCV's arithmetic in NumPy), so pwocr never calls rapidocr's
pipeline (nor needs pyclipper, shapely or OpenCV).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pwocr.errors import PwocrError
from pwocr.imaging import (
    contour_hulls,
    dilate_2x2,
    min_area_rect,
    perspective_transform,
    polygon_mean,
    resize,
    rotate_counterclockwise,
    warp_perspective,
)
from pwocr.inference.engine import onnx_session
from pwocr.rapidocr_models import DETECTOR_FILE, rapidocr_model_path


@dataclass(frozen=True)
class TextBox:
    """One detected text line: four corners (top-left, top-right, bottom-right, bottom-left) in photo pixels."""

    points: np.ndarray  # (4, 2) float32
    score: float

    @property
    def width(self) -> float:
        p = self.points
        return float(max(np.linalg.norm(p[1] - p[0]), np.linalg.norm(p[2] - p[3])))

    @property
    def height(self) -> float:
        p = self.points
        return float(max(np.linalg.norm(p[3] - p[0]), np.linalg.norm(p[2] - p[1])))

    @property
    def centre(self) -> np.ndarray:
        return self.points.mean(0)

    @property
    def angle(self) -> float:
        """Slope of the top edge in degrees (positive: the line descends to the right, in image coordinates)."""
        dx, dy = self.points[1] - self.points[0]
        return float(np.degrees(np.arctan2(dy, dx)))

    def widened(self, left: float, right: float, width: int, height: int) -> TextBox:
        """The box grown along its own direction, ``left`` and ``right`` pixels, kept inside a ``width`` x ``height`` photo."""
        p = self.points.astype(np.float32)
        along = p[1] - p[0]
        along /= max(float(np.linalg.norm(along)), 1e-6)
        grown = p + np.float32([-left, right, right, -left])[:, None] * along
        grown[:, 0] = np.clip(grown[:, 0], 0, width - 1)
        grown[:, 1] = np.clip(grown[:, 1], 0, height - 1)
        return TextBox(grown, self.score)

    def as_list(self) -> list[list[float]]:
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.points]


def order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left for a line tilted less than 45 degrees."""
    points = np.asarray(points, np.float32).reshape(4, 2)
    by_x = points[np.argsort(points[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.stack([tl, tr, br, bl]).astype(np.float32)


def detection_size(height: int, width: int, max_side: int, min_side: int) -> tuple[int, int]:
    """The detector's input size: the long side at most ``max_side``, the short side raised toward ``min_side``.

    Small images are enlarged (the detector misses text only a few pixels high), large ones
    shrunk (a 12 MP photo at full size costs seconds and a gigabyte); both sides are multiples of 32.
    """
    long_side, short_side = max(height, width), min(height, width)
    ratio = min(max_side / long_side, max(min_side / short_side, 1.0))
    return max(32, round(height * ratio / 32) * 32), max(32, round(width * ratio / 32) * 32)


def detector_input(gray: np.ndarray, max_side: int, min_side: int) -> np.ndarray:
    """A grayscale photo as the detector reads it: at ``detection_size``, each channel in [-1, 1],
    float32 ``1 x 3 x h x w``."""
    h, w = detection_size(*gray.shape[:2], max_side, min_side)
    small = resize(gray, w, h, "area" if h * w < gray.shape[0] * gray.shape[1] else "linear")
    # PaddleOCR normalises each channel to [-1, 1]; the photo is gray, so the three channels are equal.
    x = small.astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(np.broadcast_to(x[None, None], (1, 3, h, w)))


#: The detector input's long side, PaddleOCR's own default for this detector. Against 1280 on the
#: 300 composed photos of ``bench/photos.py`` (``--detector_side``), read alternately in one
#: process: the same pick (270 and 271 photos) and lines (1,452 and 1,457 of 1,589), in 0.49-0.52 s
#: a photo instead of 0.63-0.65. On 80 signs taken from afar (``--condition distant``: text 8 to 25
#: px tall in a 1600-px photo), the pick was 70 at 960, 68 at 1280 and 67 at 1600.
DETECTOR_SIDE = 960


class TextDetector:
    """Finds text lines in a photo: PP-OCRv6 small's DB probability map, then one rotated box per line.

    Args:
        model_path: an ONNX DB detector; ``None`` is PP-OCRv6 small's, shipped with pwocr.
        threads: onnxruntime intra-op threads (default: one per core).
        max_side: long side of the detector input; larger photos are shrunk to it (``DETECTOR_SIDE``).
        min_side: short side small images are enlarged toward.
        threshold: probability above which a pixel is text.
        box_threshold: mean probability a region needs to be kept.
        unclip_ratio: how far a shrunk DB region is grown back (DB's ``area * r / perimeter``).
        arena: keep onnxruntime's memory arena from one photo to the next: a 1280-pixel input then
            read about 50 ms (a fifth of the detector's time) faster on 2 cores, but its feature
            maps (over 300 MB) stay held for the detector's life; a long-lived server passes False.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        max_side: int = DETECTOR_SIDE,
        min_side: int = 640,
        threshold: float = 0.3,
        box_threshold: float = 0.55,
        unclip_ratio: float = 1.6,
        arena: bool = True,
    ) -> None:
        path = Path(model_path) if model_path is not None else rapidocr_model_path(DETECTOR_FILE)
        self.session = onnx_session(path, threads, "a text detector", arena=arena, spinning=False)
        self.input_name = self.session.get_inputs()[0].name
        self.max_side, self.min_side = max_side, min_side
        self.threshold, self.box_threshold, self.unclip_ratio = threshold, box_threshold, unclip_ratio

    def probability_map(self, gray: np.ndarray) -> np.ndarray:
        """The detector's text probability at its input size, for a grayscale photo."""
        x = detector_input(gray, self.max_side, self.min_side)
        return self.session.run(None, {self.input_name: x})[0][0, 0]

    def __call__(self, gray: np.ndarray) -> list[TextBox]:
        """Text lines of a 2-D uint8 photo, as rotated boxes in its pixel coordinates (unordered)."""
        if gray.ndim != 2 or gray.size == 0:
            raise PwocrError(f"expected a non-empty 2-D grayscale image, got shape {gray.shape}")
        probs = self.probability_map(gray)
        return self.boxes_from_map(probs, gray.shape[0], gray.shape[1])

    def boxes_from_map(self, probs: np.ndarray, height: int, width: int) -> list[TextBox]:
        """DB post-processing: binarise, one minimum-area rectangle per region, score, grow, rescale."""
        mh, mw = probs.shape
        bitmap = dilate_2x2(probs > self.threshold)
        sx, sy = width / mw, height / mh
        boxes: list[TextBox] = []
        for points in contour_hulls(bitmap)[:1000]:
            rect = min_area_rect(points)
            rw, rh = rect.size
            if min(rw, rh) < 3:
                continue
            score = polygon_mean(probs, rect.corners())
            if score < self.box_threshold:
                continue
            # DB's unclip of a rectangle: every side moves out by area * ratio / perimeter.
            grown = rect.grown(rw * rh * self.unclip_ratio / (2 * (rw + rh)))
            if min(grown.size) < 5:
                continue
            corners = grown.corners() * np.float32([sx, sy])
            corners[:, 0] = np.clip(corners[:, 0], 0, width - 1)
            corners[:, 1] = np.clip(corners[:, 1], 0, height - 1)
            box = TextBox(order_corners(corners), float(score))
            if box.width > 3 and box.height > 3:
                boxes.append(box)
        return boxes


@lru_cache(maxsize=1)
def default_detector() -> TextDetector:
    """The bundled detector, loaded once per process (a session costs about a tenth of a second)."""
    return TextDetector()


def crop_line(gray: np.ndarray, box: TextBox, max_height: int = 96, min_height: int = 0) -> np.ndarray:
    """The line under ``box``, warped upright and flat (rotation and perspective undone), gray or colour as given.

    The crop is resampled to at most ``max_height`` rows: the recognizer reads 48-row lines, so a
    line photographed 300 px tall would only cost time at full size. A line under ``min_height``
    rows is warped straight to that height with cubic interpolation, from the photo's own pixels:
    a small line is then resampled once, not twice (a warp, then the model's linear resize).
    """
    w, h = max(8, round(box.width)), max(8, round(box.height))
    scale = max(1.0, min_height / h)
    w, h = round(w * scale), round(h * scale)
    target = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = perspective_transform(box.points.astype(np.float32), target)
    crop = warp_perspective(gray, matrix, w, h, "cubic" if scale > 1.0 else "linear")
    if h > max_height:  # a warp cannot average when shrinking; resize does
        out_w = max(8, round(w * max_height / h))
        crop = resize(crop, out_w, max_height, "area")
    if is_vertical(box):
        crop = rotate_counterclockwise(crop)
    return crop


def is_vertical(box: TextBox) -> bool:
    """A box much taller than wide: a vertical line (text turned by a quarter), which ``crop_line`` reads turned."""
    return max(8, round(box.height)) > 1.5 * max(8, round(box.width))
