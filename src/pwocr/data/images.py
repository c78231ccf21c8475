"""Loading images from any source users have, and turning them into the model's input lines."""

from __future__ import annotations

import glob
import importlib.util
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pwocr.errors import PwocrError


@dataclass(frozen=True)
class NamedBytes:
    """Encoded image bytes with a name for messages and results (``<stdin>``, an upload's file name)."""

    name: str
    data: bytes


#: Anything ``Recognizer.read`` accepts as one image.
ImageSource = str | os.PathLike | bytes | NamedBytes | Image.Image | np.ndarray


#: HEIC/HEIF (the iPhone camera's default) opens through the pillow-heif plugin, registered on
#: first need so that reading a PNG does not pay for importing it.
HEIF_SUPPORTED = importlib.util.find_spec("pillow_heif") is not None
_HEIF_SUFFIXES = {".heic", ".heif", ".hif"}


def _open(data: io.BytesIO | Path) -> Image.Image:
    """``Image.open``, registering the HEIF plugin the first time Pillow alone cannot identify a file."""
    global _heif_registered
    try:
        return Image.open(data)
    except UnidentifiedImageError:
        if not HEIF_SUPPORTED or _heif_registered:
            raise
    import pillow_heif

    pillow_heif.register_heif_opener()
    _heif_registered = True
    if isinstance(data, io.BytesIO):
        data.seek(0)
    return Image.open(data)


_heif_registered = False


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm"}
IMAGE_SUFFIXES |= _HEIF_SUFFIXES if HEIF_SUPPORTED else set()
IMAGE_SUFFIXES |= {".avif"} if ".avif" in Image.registered_extensions() else set()

#: Largest image decoded, in pixels (a 12 MP phone photo is 12e6; a 100 MP camera raw export fits).
MAX_PIXELS = 120_000_000


def describe(source: ImageSource) -> str:
    """A short name for an image source, for messages and results."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    if isinstance(source, NamedBytes):
        return source.name
    if isinstance(source, Image.Image):
        return f"<PIL image {source.width}x{source.height}>"
    return f"<array {'x'.join(map(str, np.shape(source)))}>"


def load_gray(source: ImageSource, max_pixels: int | None = None) -> np.ndarray:
    """Load an image as a 2-D uint8 grayscale array, upright (``load_image`` without colour)."""
    return load_image(source, colour=False, max_pixels=max_pixels)


def load_image(source: ImageSource, colour: bool = False, max_pixels: int | None = None) -> np.ndarray:
    """Load an image upright as uint8: gray ``H x W``, or with ``colour`` RGB ``H x W x 3`` when it has colour.

    A bad file raises a one-line ``PwocrError``. Without ``colour`` a colour image is turned to
    gray along its main colour axis (``colour_to_gray``); with it, a gray image stays 2-D (the
    model's preprocessing repeats it over the channels), so a gray photo never costs three times
    its memory.

    EXIF orientation is applied (phones store photos sideways and say so in EXIF); 16-bit and
    float images are scaled to 8 bits rather than clipped; an image of more than ``max_pixels``
    is refused from its header, before any pixel is decoded (a decompression bomb).
    """
    name = describe(source)
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels
    if isinstance(source, np.ndarray):
        return _array_to_image(source, name, colour)
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, (bytes, NamedBytes)):
            image = _open(io.BytesIO(source.data if isinstance(source, NamedBytes) else source))
        else:
            path = Path(source)
            if not path.exists():
                raise PwocrError(f"{path}: file not found")
            if path.is_dir():
                raise PwocrError(f"{path}: is a folder, not an image")
            image = _open(path)
        if image.width * image.height > max_pixels:
            raise PwocrError(
                f"{name}: {image.width}x{image.height} is {image.width * image.height / 1e6:.0f} MP, "
                f"more than the {max_pixels / 1e6:.0f} MP pwocr decodes"
            )
        image.load()
        image = upright(image)
    except PwocrError:
        raise
    except Image.DecompressionBombError:
        raise PwocrError(f"{name}: too many pixels to decode safely (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        reason = "not an image Pillow can read" if isinstance(e, UnidentifiedImageError) else f"unreadable image ({e})"
        raise PwocrError(f"{name}: {reason}") from None
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_image(np.asarray(image), name, colour)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Flatten transparency onto white, as a viewer shows it; gray with alpha stays gray.
        gray = image.mode in ("LA", "La")
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
        if gray:
            image = image.convert("L")
    if image.width * image.height == 0:
        raise PwocrError(f"{name}: the image is empty")
    if image.mode in ("L", "1", "LA", "La"):
        return np.asarray(image.convert("L"))
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    return rgb if colour else colour_to_gray(rgb)


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; the same object when it is upright already.

    ``ImageOps.exif_transpose`` copies even an upright image: for a 40 MP photo, 120 MB more.
    """
    if image.getexif().get(0x0112, 1) == 1:
        return image
    return ImageOps.exif_transpose(image)


#: Share of pixels clipped at each end when a colour image's gray is stretched to the full range.
_CLIP_PERCENT = 0.5
_LUMA = np.array([0.299, 0.587, 0.114])


def colour_to_gray(rgb: np.ndarray) -> np.ndarray:
    """An RGB image as gray along its main colour axis, so coloured text keeps its contrast.

    Luminance alone loses text whose colour differs from its background's more than its
    brightness does (red on green, blue on grey: signs and stickers). The gray is the projection
    on the first principal axis of the image's colours, oriented so that brighter stays brighter,
    then stretched so that 0.5% of pixels clip at each end. For a text crop that axis is the
    ink-to-background direction; measured on real word photos (IIIT 5K-Word, Street View Text)
    it reads more of them than luminance does (MODEL_CARD.md). The axis is fitted on at most
    about 65,000 pixels, so a 12 MP photo costs one projection.
    """
    pixels = rgb.reshape(-1, 3)
    step = max(1, pixels.shape[0] // 65536)
    sample = pixels[::step].astype(np.float64)
    mean = sample.mean(axis=0)
    centred = sample - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)
    axis = vectors[:, -1]
    if axis @ _LUMA < 0:
        axis = -axis
    lo, hi = np.percentile(centred @ axis, [_CLIP_PERCENT, 100 - _CLIP_PERCENT])
    if hi - lo < 1.0:  # a flat image: nothing to stretch
        return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).convert("L"))
    # gray = (pixel . axis - offset) * scale, as three weighted channel sums done in bands of rows,
    # so a large photo never has a float copy of itself in memory.
    scale = 255.0 / (hi - lo)
    weights = (axis * scale).astype(np.float32)
    bias = np.float32(0.5 - (mean @ axis + lo) * scale)
    gray = np.empty(rgb.shape[:2], np.uint8)
    band = max(1, (1 << 20) // max(1, rgb.shape[1]))
    for top in range(0, rgb.shape[0], band):
        rows = rgb[top : top + band]
        out = rows[..., 0] * weights[0] + rows[..., 1] * weights[1]
        out += rows[..., 2] * weights[2]
        out += bias
        np.clip(out, 0, 255, out=out)
        gray[top : top + band] = out
    return gray


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Scale any dtype to uint8 by its range: bool and [0, 1] floats, 16-bit and wider integers."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        array = np.nan_to_num(array.astype(np.float64))
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0 if array.max(initial=0) <= 255.0 else float(array.max())
        return np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        top = float(array.max(initial=0))
        if top <= 255 and array.min(initial=0) >= 0:
            return array.astype(np.uint8)
        # 16-bit (or 32-bit) samples: scale by the dtype's range, or by the data's when it exceeds 16 bits.
        scale = 65535.0 if top <= 65535 else top
        return np.clip(array.astype(np.float64) / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
    raise PwocrError(f"unsupported pixel type {array.dtype}")


def _array_to_image(array: np.ndarray, name: str, colour: bool) -> np.ndarray:
    if array.size == 0:
        raise PwocrError(f"{name}: the image is empty")
    try:
        array = _to_uint8(array)
    except PwocrError as e:
        raise PwocrError(f"{name}: {e}") from None
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[2] == 1:
        return array[:, :, 0]
    if array.ndim == 3 and array.shape[2] in (3, 4):
        # NumPy images from users are RGB(A) (Pillow's order), not OpenCV's BGR; alpha is dropped.
        rgb = np.ascontiguousarray(array[:, :, :3])
        return rgb if colour else colour_to_gray(rgb)
    raise PwocrError(f"{name}: expected an HxW or HxWx1/3/4 array, got shape {array.shape}")


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (and its subfolders with ``recursive``), sorted by path; hidden ones skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PwocrError(f"{folder}: folder not found")
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in found
        if p.is_file()
        and p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def expand_inputs(
    inputs: Sequence[str],
    recursive: bool = False,
    warn: Callable[[str], None] | None = None,
    stdin: Callable[[], bytes] | None = None,
) -> Iterator[ImageSource]:
    """The images that command-line arguments name, in order: files, folders, globs and ``-`` (stdin).

    A folder gives its images (``recursive``: with its subfolders'); a pattern with ``*``, ``?`` or
    ``[`` that names no existing file is expanded (for shells that do not); ``-`` reads one image
    from standard input. A name that does not exist is passed on, so the reader reports it as a
    skipped input; a folder or pattern with no image is reported through ``warn``.
    """
    warn = warn or (lambda message: print(f"pwocr: {message}", file=sys.stderr))
    stdin_used = False
    for arg in inputs:
        if arg == "-":
            if stdin_used:
                raise PwocrError("'-' (standard input) can be given once")
            stdin_used = True
            yield NamedBytes("<stdin>", stdin() if stdin else sys.stdin.buffer.read())
            continue
        path = Path(arg)
        if path.is_dir():
            files = list_images(path, recursive)
            if not files:
                warn(f"{path}: no images found{'' if recursive else ' (--recursive reads subfolders)'}")
            yield from files
        elif not path.exists() and glob.has_magic(arg):
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=recursive))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in IMAGE_SUFFIXES]
            for folder in (m for m in matches if m.is_dir()):
                files.extend(list_images(folder, recursive))
            if not files:
                warn(f"{arg}: no image matches")
            yield from files
        else:
            yield path
