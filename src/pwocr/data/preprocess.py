"""The one preprocessing path from a loaded image to the model's input lines.

Training, validation, ``Recognizer``, the ONNX file's metadata and the server all go through
``LinePreprocessor``, built from the checkpoint's ``ModelConfig``: it turns an image into the
model's channels (gray or RGB), resizes it to the model's height and quantises its width to
``width_step`` pixels, and ``LinePreprocessor.batch`` pads each line with mid-gray to its own
``padded_width``: ``pad_width`` for a narrow line, else the next multiple of ``pad_multiple`` (its
width bucket). Inference batches only lines of one bucket, so a line's input, and its reading,
never depend on what else shares its batch. NumPy only (``pwocr.imaging`` resizes as OpenCV does):
reading needs neither torch nor OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pwocr.data.images import colour_to_gray
from pwocr.imaging import resize


@dataclass(frozen=True)
class LinePreprocessor:
    """Resizes a line to ``height`` pixels, aspect kept, width a multiple of ``width_step``, in the model's channels."""

    height: int
    min_width: int
    max_width: int
    width_step: int
    in_channels: int = 1
    pad_width: int = 0
    pad_multiple: int = 0

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
            getattr(config, "pad_multiple", 0),
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

    def padded_width(self, width: int) -> int:
        """The width a ``width``-pixel line from ``__call__`` is padded to: its bucket (``padded_width``)."""
        return padded_width(width, self.pad_width, self.pad_multiple)

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
            image = resize(image, width, self.height, "area" if h > self.height else "linear")
        if image.ndim == 2 and self.in_channels == 3:
            image = np.repeat(image[:, :, None], 3, axis=2)  # after the resize: never a full-size copy
        return image

    def batch(self, lines: Sequence[np.ndarray]) -> np.ndarray:
        """Lines of one width bucket from ``__call__`` to the model's float32 input, each padded to the bucket."""
        widths = {self.padded_width(line.shape[1]) for line in lines}
        if len(widths) != 1:
            raise ValueError(f"lines of width buckets {sorted(widths)} cannot share a batch")
        return normalise(lines, widths.pop())


def padded_width(width: Any, pad_width: int, pad_multiple: int) -> Any:
    """``max(pad_width, width rounded up to pad_multiple)``: an int, or elementwise for a torch tensor of widths.

    A line's padding depends on its own width alone, so lines that round to one width (a bucket)
    batch together and each reads exactly as it does alone.
    """
    rounded = -(-width // pad_multiple) * pad_multiple if pad_multiple else width
    return rounded.clamp(min=pad_width) if hasattr(rounded, "clamp") else max(rounded, pad_width)


def normalise(lines: Sequence[np.ndarray], pad_width: int = 0) -> np.ndarray:
    """uint8 lines (``H x W`` or ``H x W x C``, one height) to float32 ``N x C x H x W`` in ``[-1, 1]``.

    Each line is padded on the right with 0 (mid-gray) to the widest line or ``pad_width``, whichever is wider.
    """
    height, channels = lines[0].shape[0], (lines[0].shape[2] if lines[0].ndim == 3 else 1)
    width = max(pad_width, *(line.shape[1] for line in lines))
    batch = np.zeros((len(lines), channels, height, width), np.float32)
    for out, line in zip(batch, lines):
        pixels = line.astype(np.float32)
        pixels *= 1.0 / 127.5
        pixels -= 1.0
        out[:, :, : line.shape[1]] = pixels[None] if line.ndim == 2 else pixels.transpose(2, 0, 1)
    return batch
