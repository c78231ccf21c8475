"""The one preprocessing path from a loaded image to the model's input lines.

Training, validation, ``Recognizer``, the ONNX file's metadata and the server all go through
``LinePreprocessor``, built from the checkpoint's ``ModelConfig``: it turns an image into the
model's channels (gray or RGB), resizes it to the model's height and quantises its width to
``width_step`` pixels, and ``LinePreprocessor.batch`` pads lines narrower than ``pad_width`` with
mid-gray. Inference batches only lines of equal width, so a line is never padded beyond that and
its reading cannot depend on what else shares its batch. NumPy and OpenCV only: reading needs no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pwocr.data.images import colour_to_gray


@dataclass(frozen=True)
class LinePreprocessor:
    """Resizes a line to ``height`` pixels, aspect kept, width a multiple of ``width_step``, in the model's channels."""

    height: int
    min_width: int
    max_width: int
    width_step: int
    in_channels: int = 1
    pad_width: int = 0

    @classmethod
    def for_model(cls, config: Any) -> LinePreprocessor:
        """The preprocessing a ``ModelConfig`` (or anything with its fields) was trained with."""
        return cls(
            config.height,
            config.min_width,
            config.max_width,
            config.width_step,
            getattr(config, "in_channels", 1),
            getattr(config, "pad_width", 0),
        )

    @property
    def colour(self) -> bool:
        """Whether the model reads RGB lines (load images in colour for it)."""
        return self.in_channels == 3

    def width_for(self, height: int, width: int, width_scale: float = 1.0, min_width: int = 0) -> int:
        """The resized width for an ``height x width`` image: aspect kept, quantised, clamped (before padding)."""
        step = self.width_step
        target = width * self.height / max(height, 1) * width_scale
        quantised = max(step, round(target / step) * step)
        low = max(self.min_width, math.ceil(min_width / step) * step)
        return int(min(max(quantised, low), self.max_width))

    def __call__(self, image: np.ndarray, width_scale: float = 1.0, min_width: int = 0) -> np.ndarray:
        """A gray or RGB uint8 image to a ``height x width_for(...)`` uint8 line in the model's channels.

        ``width_scale`` stretches the line (training's width jitter); ``min_width`` widens a line
        that would otherwise be too narrow for CTC to spell its label (training only). A gray
        model reads a colour image along its main colour axis (``colour_to_gray``, over the whole
        line, before the resize); a colour model reads a gray image as equal R, G and B.
        """
        if image.ndim == 3 and self.in_channels == 1:
            image = colour_to_gray(image)
        h, w = image.shape[:2]
        width = self.width_for(h, w, width_scale, min_width)
        if (h, w) != (self.height, width):
            interpolation = cv2.INTER_AREA if h > self.height else cv2.INTER_LINEAR
            image = cv2.resize(image, (width, self.height), interpolation=interpolation)
        if image.ndim == 2 and self.in_channels == 3:
            image = np.repeat(image[:, :, None], 3, axis=2)  # after the resize: never a full-size copy
        return image

    def batch(self, lines: Sequence[np.ndarray]) -> np.ndarray:
        """Equal-width lines from ``__call__`` to the model's float32 input, padded to ``pad_width``."""
        return normalise(lines, self.pad_width)


def normalise(lines: Sequence[np.ndarray], pad_width: int = 0) -> np.ndarray:
    """Equal-width uint8 lines (``H x W`` or ``H x W x C``) to float32 ``N x C x H x W`` in ``[-1, 1]``.

    Lines narrower than ``pad_width`` are padded on the right with 0 (mid-gray).
    """
    batch = np.stack(lines).astype(np.float32)
    batch *= 1.0 / 127.5
    batch -= 1.0
    batch = batch[:, None] if batch.ndim == 3 else batch.transpose(0, 3, 1, 2)
    if batch.shape[-1] < pad_width:
        batch = np.pad(batch, ((0, 0), (0, 0), (0, 0), (0, pad_width - batch.shape[-1])))
    return np.ascontiguousarray(batch)
