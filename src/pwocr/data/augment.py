"""Photometric and geometric augmentation of real labelled lines (gray or RGB uint8, OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np


def augment_line(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Small affine, blur, noise and brightness/contrast changes that keep every glyph readable."""
    h, w = gray.shape[:2]
    if rng.random() < 0.7:
        angle = rng.normal(0, 1.0)
        shear = rng.normal(0, 0.06)
        scale = rng.uniform(0.92, 1.05)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        matrix[0, 1] += shear
        matrix[0, 2] -= shear * h / 2
        matrix[:, 2] += rng.normal(0, 0.02 * h, 2)
        gray = cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.3:
        gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 1.2) * h / 32)
    if rng.random() < 0.5:
        gray = cv2.convertScaleAbs(gray, alpha=rng.uniform(0.7, 1.3), beta=rng.uniform(-25, 25))
    if rng.random() < 0.3:
        noise = rng.normal(0, rng.uniform(2, 12), gray.shape)
        gray = np.clip(gray.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return gray
