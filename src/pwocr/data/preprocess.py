"""The one preprocessing path from a grayscale image to the model's input line.

Training, validation, ``Recognizer``, the ONNX file's metadata and the server all go through
``LinePreprocessor``, built from the checkpoint's ``ModelConfig``. Widths are quantised to
``width_step`` pixels, and inference batches only lines of equal width, so a line is never padded
and its reading cannot depend on what else shares its batch. NumPy and OpenCV only: reading needs
no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class LinePreprocessor:
    """Resizes a grayscale line to ``height`` pixels, aspect kept, width a multiple of ``width_step``."""

    height: int
    min_width: int
    max_width: int
    width_step: int

    @classmethod
    def for_model(cls, config: Any) -> LinePreprocessor:
        """The preprocessing a ``ModelConfig`` (or anything with its four fields) was trained with."""
        return cls(config.height, config.min_width, config.max_width, config.width_step)

    def width_for(self, height: int, width: int, width_scale: float = 1.0, min_width: int = 0) -> int:
        """The input width for an ``height x width`` image: aspect kept, quantised, clamped."""
        step = self.width_step
        target = width * self.height / max(height, 1) * width_scale
        quantised = max(step, round(target / step) * step)
        low = max(self.min_width, math.ceil(min_width / step) * step)
        return int(min(max(quantised, low), self.max_width))

    def __call__(self, gray: np.ndarray, width_scale: float = 1.0, min_width: int = 0) -> np.ndarray:
        """``H x W`` uint8 to ``height x width_for(...)`` uint8.

        ``width_scale`` stretches the line (training's width jitter); ``min_width`` widens a line
        that would otherwise be too narrow for CTC to spell its label (training only).
        """
        h, w = gray.shape
        width = self.width_for(h, w, width_scale, min_width)
        interpolation = cv2.INTER_AREA if h > self.height else cv2.INTER_LINEAR
        return cv2.resize(gray, (width, self.height), interpolation=interpolation)


def normalise(lines: Sequence[np.ndarray]) -> np.ndarray:
    """Equal-width uint8 lines to the model's float32 input ``N x 1 x H x W`` in ``[-1, 1]``."""
    batch = np.stack(lines).astype(np.float32)
    batch *= 1.0 / 127.5
    batch -= 1.0
    return batch[:, None]
