"""Photometric and geometric augmentation of real labelled lines (gray or RGB uint8, OpenCV).

A user's own crops are phone photos of objects: each is seen again slightly differently framed,
tilted in depth, blurred, lit by a lamp on laminated paper and recompressed. Every change keeps
every glyph readable: the label stays true.
"""

from __future__ import annotations

import cv2
import numpy as np


def augment_line(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random phone-photo variation of a labelled line (same size, same dtype)."""
    if rng.random() < 0.5:
        image = reframe(image, rng)
    if rng.random() < 0.7:
        image = small_affine(image, rng)
    if rng.random() < 0.3:
        image = perspective(image, rng)
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.2) * image.shape[0] / 32)
    if rng.random() < 0.5:
        image = cv2.convertScaleAbs(image, alpha=rng.uniform(0.7, 1.3), beta=rng.uniform(-25, 25))
    if rng.random() < 0.15:
        image = glare(image, rng)
    if rng.random() < 0.3:
        noise = rng.normal(0, rng.uniform(2, 12), image.shape)
        image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        image = jpeg(image, int(rng.integers(30, 90)))
    return image


def reframe(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Crop a little tighter or looser on each side, as another hand would frame the same line."""
    h, w = image.shape[:2]
    top, bottom = (round(v * h) for v in rng.uniform(-0.08, 0.08, 2))
    left, right = (round(v * h) for v in rng.uniform(-0.25, 0.25, 2))
    padded = cv2.copyMakeBorder(
        image, max(top, 0), max(bottom, 0), max(left, 0), max(right, 0), borderType=cv2.BORDER_REPLICATE
    )
    ph, pw = padded.shape[:2]
    y0, x0 = max(-top, 0), max(-left, 0)
    y1, x1 = ph - max(-bottom, 0), pw - max(-right, 0)
    if y1 - y0 < max(1, h // 2) or x1 - x0 < max(1, w // 2):
        return image
    return cv2.resize(padded[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_LINEAR)


def small_affine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A degree or so of rotation, a little shear, scale and shift."""
    h, w = image.shape[:2]
    shear = rng.normal(0, 0.06)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.normal(0, 1.0), rng.uniform(0.92, 1.05))
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * h / 2
    matrix[:, 2] += rng.normal(0, 0.02 * h, 2)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def perspective(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The line seen a little from one side or from below: each corner moves by up to 6% of the height."""
    h, w = image.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = corners + rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * h
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A soft bright spot, as a lamp leaves on laminated paper or a screen; it washes contrast out, never all of it."""
    h, w = image.shape[:2]
    cx, cy = rng.uniform(0, w), rng.uniform(-0.5 * h, 1.5 * h)
    radius = rng.uniform(0.5, 1.5) * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)) * rng.uniform(0.25, 0.5)
    if image.ndim == 3:
        spot = spot[..., None]
    lit = image.astype(np.float32) * (1 - spot) + 255 * spot
    return np.clip(lit, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """The line after a JPEG round trip at ``quality`` (blocking and ringing as phones and chat apps leave)."""
    colour = image.ndim == 3
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if colour else image, [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        return image
    if colour:
        return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
