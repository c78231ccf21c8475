"""Loading images from any source users have, and turning them into the model's input lines."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from pwocr.errors import PwocrError

#: Anything ``Recognizer.read`` accepts as one image.
ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm"}


def describe(source: ImageSource) -> str:
    """A short name for an image source, for messages and results."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.width}x{source.height}>"
    return f"<array {'x'.join(map(str, np.shape(source)))}>"


def load_gray(source: ImageSource) -> np.ndarray:
    """Load an image as a 2-D uint8 grayscale array; a bad file raises a one-line ``PwocrError``."""
    name = describe(source)
    if isinstance(source, np.ndarray):
        return _array_to_gray(source, name)
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, bytes):
            image = Image.open(io.BytesIO(source))
        else:
            path = Path(source)
            if not path.exists():
                raise PwocrError(f"{path}: file not found")
            if path.is_dir():
                raise PwocrError(f"{path}: is a folder, not an image")
            image = Image.open(path)
        image.load()
    except PwocrError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        reason = "not an image Pillow can read" if isinstance(e, UnidentifiedImageError) else f"unreadable image ({e})"
        raise PwocrError(f"{name}: {reason}") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Flatten transparency onto white, as a viewer shows it.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    gray = np.asarray(image.convert("L"))
    if gray.size == 0:
        raise PwocrError(f"{name}: the image is empty")
    return gray


def _array_to_gray(array: np.ndarray, name: str) -> np.ndarray:
    if array.size == 0:
        raise PwocrError(f"{name}: the image is empty")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[2] == 1:
        return array[:, :, 0]
    if array.ndim == 3 and array.shape[2] in (3, 4):
        # NumPy images from users are RGB(A) (Pillow's order), not OpenCV's BGR.
        code = cv2.COLOR_RGBA2GRAY if array.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        return cv2.cvtColor(np.ascontiguousarray(array), code)
    raise PwocrError(f"{name}: expected an HxW or HxWx1/3/4 array, got shape {array.shape}")


def resize_to_height(
    gray: np.ndarray, height: int, min_width: int, max_width: int, width_scale: float = 1.0
) -> np.ndarray:
    """Resize keeping the aspect ratio (times ``width_scale``), clamping the width to ``[min_width, max_width]``."""
    h, w = gray.shape
    width = round(w * height / h * width_scale)
    width = min(max(width, min_width), max_width)
    interpolation = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, height), interpolation=interpolation)


def to_tensor(line: np.ndarray) -> torch.Tensor:
    """uint8 ``H x W`` to float ``1 x H x W`` in ``[-1, 1]``."""
    return torch.from_numpy(line).float().div_(127.5).sub_(1.0).unsqueeze(0)


def pad_batch(lines: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``1 x H x W_i`` lines into ``N x 1 x H x max(W)``, padding on the right by repeating the last column.

    Returns the batch and the widths before padding.
    """
    widths = torch.tensor([t.shape[-1] for t in lines])
    max_width = int(widths.max())
    batch = torch.stack([torch.nn.functional.pad(t, (0, max_width - t.shape[-1]), mode="replicate") for t in lines])
    return batch, widths


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (hidden files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PwocrError(f"{folder}: folder not found")
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )
