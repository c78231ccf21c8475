"""Several photos of one line, as a hand holding a phone takes them: small moves, blur, glare that shifts.

For measuring what fusing frames gains (``bench/fusion.py``): each frame of a rendered line is
moved and turned a little, blurred by a varying amount, and crossed by a glare spot that lands on a
different part of the line each time, so each frame loses something the others keep.
"""

from __future__ import annotations

import cv2
import numpy as np


def jittered_frames(line: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` jittered copies of a uint8 gray or RGB line (same shape and dtype)."""
    return [_jitter(line, rng) for _ in range(count)]


def _jitter(line: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = line.shape[:2]
    image = line.astype(np.float32)
    angle, scale = rng.uniform(-1.5, 1.5), rng.uniform(0.97, 1.03)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-0.06, 0.06, 2) * h
    image = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sigma = rng.uniform(0.0, 0.04) * h
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    image = _glare(image, rng)
    image += rng.normal(0.0, rng.uniform(2.0, 8.0), image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A soft bright spot (a lamp's reflection) somewhere along the line, strong enough to wash out a character."""
    h, w = image.shape[:2]
    cx, cy = rng.uniform(0, w), rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.3, 0.8) * h, rng.uniform(0.4, 1.0) * h
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    spot = np.exp(-(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2)) * rng.uniform(90, 200)
    return image + (spot[..., None] if image.ndim == 3 else spot)
