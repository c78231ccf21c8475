"""Loading images from any source users have, and turning them into the model's input lines."""

from __future__ import annotations

import errno
import glob
import importlib.util
import io
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pwocr.errors import PwocrError
from pwocr.extras import require
from pwocr.imaging import resize
from pwocr.io import special_file_kind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NamedBytes:
    """Encoded image bytes with a name for messages and results (``<stdin>``, an upload's file name)."""

    name: str
    data: bytes


#: Anything ``Recognizer.read`` accepts as one image.
ImageSource = str | os.PathLike | bytes | NamedBytes | Image.Image | np.ndarray


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
    if isinstance(source, np.ndarray):
        return f"<array {'x'.join(map(str, source.shape))}>"
    hint = " (pass its bytes: .read() or .getvalue())" if hasattr(source, "read") else ""
    raise TypeError(f"an image is a path, bytes, a PIL image or a NumPy array, not {type(source).__name__}{hint}")


def refuse_one_image(images: object, method: str) -> None:
    """A ``TypeError`` where ``method``, which takes many images, was given one: a path string would
    otherwise be read character by character, and an array row by row."""
    if isinstance(images, (str, bytes, NamedBytes, os.PathLike, Image.Image, np.ndarray)):
        raise TypeError(f"{method} takes a list of images, not one {type(images).__name__}; read one with read()")


#: HEIC/HEIF (the iPhone camera's default) opens through the pillow-heif plugin, registered on
#: first need so that reading a PNG does not pay for importing it.
HEIF_SUPPORTED = importlib.util.find_spec("pillow_heif") is not None
_HEIF_SUFFIXES = {".heic", ".heif", ".hif"}

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm"}
IMAGE_SUFFIXES |= _HEIF_SUFFIXES if HEIF_SUPPORTED else set()
IMAGE_SUFFIXES |= {".avif"} if ".avif" in Image.registered_extensions() else set()

#: Formats decoded, judged by content (JPEG includes phones' MPO; PPM includes PBM and PGM).
#: Pillow opens more, and some of those run programs (EPS runs Ghostscript) or read other files:
#: a hostile file named ``photo.png`` must not reach them.
FORMATS = ("PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "WEBP", "AVIF", "HEIF", "PPM")

#: Largest image decoded, in pixels (a 12 MP phone photo is 12e6; a 100 MP camera raw export fits).
MAX_PIXELS = 120_000_000

#: Widest ratio of an image's long side to its short side: a 94-character line is about 60:1, and
#: beyond this an image is a sliver that every resize would round to zero pixels.
MAX_ASPECT = 1000

# pwocr checks pixel counts itself, from the header, against its own limit (``MAX_PIXELS``, the
# server's ``--max_pixels``); Pillow's warning would only print noise before that one-line answer.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

#: EXIF orientations that store the picture turned by 90 degrees (width and height swap upright).
_SIDEWAYS = (5, 6, 7, 8)


class ImageError(PwocrError):
    """An image that cannot be read, and which kind of problem it has (``problem``), for callers that branch on it.

    ``problem`` is one of ``missing``, ``not_a_file``, ``unsupported`` (not an image of ``FORMATS``),
    ``too_large`` (over the pixel limit), ``degenerate`` (empty, or a sliver) or ``corrupt``.
    """

    def __init__(self, name: str, problem: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.problem = problem


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says, no pixel decoded: its upright size, format, mode and EXIF orientation."""

    name: str
    width: int  # upright: after the EXIF orientation is applied
    height: int
    format: str | None  # Pillow's format name; None for an array or an image made in memory
    mode: str
    orientation: int = 1  # EXIF orientation tag, 1 (upright) to 8

    @property
    def pixels(self) -> int:
        return self.width * self.height


def probe(
    source: ImageSource, max_pixels: int | None = None, formats: Sequence[str] = FORMATS, verify: bool = False
) -> ImageInfo:
    """An image's size, format and orientation from its header, refused as ``load`` would refuse it.

    Raises a one-line ``ImageError`` naming the source and the problem: a missing file, a folder,
    FIFO, device or socket (opening a FIFO would block), a dangling or looping symlink, content
    not of ``formats``, a size of zero or a sliver over ``MAX_ASPECT``, more than ``max_pixels``
    (default ``MAX_PIXELS``), or a header that does not parse. With ``verify`` the whole stream's
    checksums are checked too (Pillow's ``verify``: no pixel kept), so a file cut short or damaged
    is refused now rather than when its pixels are decoded (training checks its images so).
    """
    if isinstance(source, np.ndarray):
        return _array_info(source, describe(source))
    image = _open(source, formats)
    try:
        info = _checked_info(image, describe(source), max_pixels)
    finally:
        if image is not source:
            image.close()
    if verify:
        _verify(source, formats)
    return info


def _verify(source: ImageSource, formats: Sequence[str]) -> None:
    """Pillow's stream check on a fresh open (``verify`` must come first), its many exception types as one ``ImageError``."""
    image = _open(source, formats)
    try:
        image.verify()
    except Exception as e:  # Pillow raises many types for broken files
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImageError(describe(source), "corrupt", f"corrupt image data ({why})") from None
    finally:
        if image is not source:
            image.close()


def load(
    source: ImageSource,
    colour: bool = False,
    max_pixels: int | None = None,
    max_side: int | None = None,
    formats: Sequence[str] = FORMATS,
) -> np.ndarray:
    """Decode an image upright as uint8: gray ``H x W``, or with ``colour`` RGB ``H x W x 3`` when it has colour.

    The one place pwocr decodes an image. It refuses what ``probe`` refuses, before any pixel is
    decoded. Without ``colour`` a colour image is turned to gray along its main colour axis
    (``colour_to_gray``); with it, a gray image stays 2-D (the model's preprocessing repeats it
    over the channels), so a gray photo never costs three times its memory.

    EXIF orientation is applied (phones store photos sideways and say so in EXIF); transparency is
    flattened onto white; 16-bit and float images are scaled to 8 bits rather than clipped.

    Args:
        source: a path, bytes, ``NamedBytes``, PIL image or NumPy array (RGB(A) or gray, any dtype).
        colour: keep colour (RGB) when the image has it.
        max_pixels: refuse larger images (default ``MAX_PIXELS``).
        max_side: shrink an image whose long side is over 1.5 times this to about this long side; a
            JPEG is decoded at reduced scale straight from its DCT (Pillow's ``draft``), so a 50 MP
            photo never exists at full size in memory.
        formats: the Pillow formats accepted (content, not the name, decides).
    """
    name = describe(source)
    if isinstance(source, np.ndarray):
        _array_info(source, name)
        return _shrink(_array_to_image(source, name, colour), max_side)
    image = _open(source, formats)
    try:
        info = _checked_info(image, name, max_pixels)
        pixels = _pixels_to_array(_decode(image, info, max_side), name, colour)
    finally:
        if image is not source:
            image.close()  # frees the decoded pixels now, not when the garbage collector gets to them
    return _shrink(pixels, max_side)


def _check_path(path: Path, name: str) -> None:
    """Refuse what is not a regular file before opening it: opening a FIFO blocks, a device never ends."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if "://" in name:
            raise ImageError(
                name, "missing", "a web address: pwocr reads files on this machine; download it first"
            ) from None
        if path.is_symlink():
            raise ImageError(name, "missing", f"a symlink to {os.readlink(path)!r}, which does not exist") from None
        raise ImageError(name, "missing", "file not found") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ImageError(name, "not_a_file", "a symlink loop (the link points back to itself)") from None
        raise ImageError(name, "missing", f"cannot be read ({e.strerror or e})") from None
    kind = special_file_kind(mode)
    if kind is not None:
        raise ImageError(name, "not_a_file", f"is {kind}, not an image" + (" file" if kind != "a folder" else ""))


def _open(source: ImageSource, formats: Sequence[str]) -> Image.Image:
    """The source as a lazily decoded PIL image of one of ``formats``; HEIF's plugin registered on first need."""
    if isinstance(source, Image.Image):
        return source
    name = describe(source)
    if isinstance(source, (bytes, NamedBytes)):
        data = source.data if isinstance(source, NamedBytes) else source
        if not data:
            raise ImageError(name, "degenerate", "the file is empty (0 bytes)")
        fp: io.BytesIO | Path = io.BytesIO(data)
    else:
        fp = Path(source)
        _check_path(fp, name)
        if fp.stat().st_size == 0:
            raise ImageError(name, "degenerate", "the file is empty (0 bytes)")
    try:
        try:
            return Image.open(fp, formats=_openable(formats))
        except UnidentifiedImageError:
            if not _register_heif(formats):
                raise
            if isinstance(fp, io.BytesIO):
                fp.seek(0)
            return Image.open(fp, formats=_openable(formats))
    except UnidentifiedImageError:
        unsupported = ImageError(
            name, "unsupported", f"not an image pwocr reads (by content: {accepted_names(formats)})"
        )
        raise _damaged(name, fp) or unsupported from None
    except Image.DecompressionBombError:
        raise ImageError(name, "too_large", "too many pixels to decode safely (a decompression bomb?)") from None
    except OSError as e:
        unreadable = ImageError(name, "not_a_file", f"cannot be read ({e.strerror or e})")
        raise (_damaged(name, fp) if e.errno is None else None) or unreadable from None  # errno None: Pillow's own
    except Exception as e:  # a header that lies can break a plugin in any way: the file's fault
        raise ImageError(name, "corrupt", f"unreadable image header ({_what(e)})") from None


#: The first bytes of the formats pwocr reads, for naming the format of a file Pillow cannot open.
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _damaged(name: str, fp: io.BytesIO | Path) -> ImageError | None:
    """The error for a file that starts as a format pwocr reads but whose header cannot be parsed."""
    claimed = _signature_format(fp)
    if claimed is None:
        return None
    return ImageError(name, "corrupt", f"a damaged or truncated {claimed} (its header cannot be read)")


def _signature_format(fp: io.BytesIO | Path) -> str | None:
    """The format a file's first bytes announce (``None``: none pwocr reads, or unreadable)."""
    try:
        if isinstance(fp, io.BytesIO):
            head = fp.getvalue()[:12]
        else:
            with fp.open("rb") as f:
                head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((fmt for magic, fmt in _SIGNATURES.items() if head.startswith(magic)), None)


def accepted_names(formats: Sequence[str] = FORMATS) -> str:
    """The accepted formats this installation reads, as messages name them (HEIC through pillow-heif,
    whose plugin registers only when a HEIC file first arrives)."""
    heif = "HEIF" in formats and importlib.util.find_spec("pillow_heif") is not None
    names = [f for f in _openable(formats) if f not in ("MPO", "HEIF")] + (["HEIC/HEIF"] if heif else [])
    return ", ".join(names)


def _openable(formats: Sequence[str]) -> list[str]:
    """The formats of ``formats`` this Pillow build opens (``Image.open`` fails on an unregistered name)."""
    Image.init()
    return [f for f in formats if f in Image.OPEN]


def _register_heif(formats: Sequence[str]) -> bool:
    """Register pillow-heif if it is wanted, installed and not yet registered; whether that was done now."""
    global _heif_registered
    if "HEIF" not in formats or not HEIF_SUPPORTED or _heif_registered:
        return False
    import pillow_heif

    pillow_heif.register_heif_opener()
    _heif_registered = True
    return True


_heif_registered = False


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8; 1 where there is none or it is broken), from the header alone.

    Pillow finds a PNG's ``eXIf`` chunk placed after the pixels only by decoding them all: asked
    here, it would decode every PNG at its probe and, for damaged pixel data, swallow the error and
    leave blank pixels. Such a chunk is read after the decode instead (``_decode``).
    """
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block: the picture is read as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _checked_info(image: Image.Image, name: str, max_pixels: int | None) -> ImageInfo:
    """The image's ``ImageInfo``, or an ``ImageError`` for a size pwocr will not decode."""
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels  # read now, so the limit can be changed
    orientation = _orientation(image)
    width, height = image.size
    if orientation in _SIDEWAYS:
        width, height = height, width
    info = ImageInfo(name, width, height, image.format, image.mode, orientation)
    _check_size(info, max_pixels)
    return info


def _check_size(info: ImageInfo, max_pixels: int | None = None) -> None:
    name, width, height = info.name, info.width, info.height
    if width <= 0 or height <= 0:
        raise ImageError(name, "degenerate", f"the image is empty ({width}x{height})")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(
            name, "degenerate", f"{width}x{height} is a sliver, not a photo or a text line (over {MAX_ASPECT}:1)"
        )
    if max_pixels is not None and info.pixels > max_pixels:
        raise ImageError(
            name,
            "too_large",
            f"{width}x{height} is {round(info.pixels / 1e6, 1):g} MP, more than the {max_pixels / 1e6:g} MP pwocr decodes",
        )


def _array_info(array: np.ndarray, name: str) -> ImageInfo:
    if array.size == 0:
        raise ImageError(name, "degenerate", "the image is empty")
    if array.ndim not in (2, 3):
        raise ImageError(name, "corrupt", f"expected an HxW or HxWx1/2/3/4 array, got shape {array.shape}")
    info = ImageInfo(name, array.shape[1], array.shape[0], None, f"array {array.dtype}")
    _check_size(info)
    return info


def _what(error: BaseException) -> str:
    """An exception as a short phrase for a one-line message: its text, else its type's name."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if text.lower() == "error" or text.startswith("decoder error") or text.startswith("-"):
        return "its data is corrupt"  # Pillow's codecs say no more than this
    return text if text and len(text) < 120 else type(error).__name__


def _decode(image: Image.Image, info: ImageInfo, max_side: int | None) -> Image.Image:
    """The image's pixels, upright (a large JPEG's at reduced scale): a corrupt or truncated stream is a one-line ``ImageError``."""
    name = info.name
    try:
        if max_side is not None and info.format in ("JPEG", "MPO") and max(image.size) > max_side:
            scale = max_side / max(image.size)
            image.draft(image.mode, (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        image.load()
        late_exif = info.format == "PNG" and "exif" in image.info  # an eXIf chunk after the pixels
        return upright(image) if info.orientation != 1 or late_exif else image
    except Image.DecompressionBombError:
        raise ImageError(name, "too_large", "too many pixels to decode safely (a decompression bomb?)") from None
    except MemoryError:
        raise ImageError(name, "too_large", "not enough memory to decode it") from None
    except Exception as e:  # a crafted file can break a decoder in any way: the file's fault, not a crash
        raise ImageError(
            name, "corrupt", f"unreadable {info.format or ''} image ({_what(e)})".replace("  ", " ")
        ) from None


def _pixels_to_array(image: Image.Image, name: str, colour: bool) -> np.ndarray:
    """Decoded pixels as uint8 gray or RGB, transparency flattened onto white, deep samples scaled."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_image(np.asarray(image), name, colour)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Flatten transparency onto white, as a viewer shows it; gray with alpha stays gray.
        gray = image.mode in ("LA", "La")
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        if gray:
            image = image.convert("L")
    if image.mode in ("L", "1", "LA", "La"):
        return np.asarray(image if image.mode == "L" else image.convert("L"))
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))  # no copy when it is RGB
    return rgb if colour else colour_to_gray(rgb)


def _shrink(pixels: np.ndarray, max_side: int | None) -> np.ndarray:
    """Pixels whose long side is over 1.5 ``max_side``, resized to ``max_side`` (area-averaged); others as they are."""
    if max_side is None or max(pixels.shape[:2]) <= max_side * 1.5:
        return pixels
    scale = max_side / max(pixels.shape[:2])
    return resize(pixels, max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)), "area")


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; the same object when it is upright already.

    ``ImageOps.exif_transpose`` copies even an upright image: for a 40 MP photo, 120 MB more.
    """
    if _orientation(image) == 1:
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
    if array.ndim == 3 and array.shape[2] in (2, 4):
        # Gray or RGB with alpha (Pillow's LA and RGBA): transparency flattened onto white, as for a file.
        return _pixels_to_array(Image.fromarray(np.ascontiguousarray(array)), name, colour)
    if array.ndim == 3 and array.shape[2] == 3:
        # NumPy images from users are RGB (Pillow's order), not OpenCV's BGR.
        rgb = np.ascontiguousarray(array)
        return rgb if colour else colour_to_gray(rgb)
    raise PwocrError(f"{name}: expected an HxW or HxWx1/2/3/4 array, got shape {array.shape}")


#: Video files ``recognize --fuse`` takes frames from (OpenCV's wheel decodes them with its FFmpeg,
#: so reading a video needs OpenCV, which comes with ``pwocr[train]``).
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".avi", ".mkv"}


def video_frames(path: str | os.PathLike[str], count: int = 12) -> list[np.ndarray]:
    """Up to ``count`` frames spread evenly over a video, as RGB arrays; a one-line error if none can be read."""
    require("train", f"{path}: reading a video", modules=("cv2",))
    if not Path(path).is_file():
        raise PwocrError(f"{path}: " + ("not a file" if Path(path).exists() else "file not found"))
    # FFmpeg's own complaints (`moov atom not found`) would reach stderr unprefixed; the one-line error says it.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise PwocrError(f"{path}: not a video pwocr can read")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    picks = set(np.linspace(0, total - 1, min(count, total)).round().astype(int).tolist()) if total > 0 else None
    frames: list[np.ndarray] = []
    index = 0
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if picks is None or index in picks:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        index += 1
    capture.release()
    if not frames:
        raise PwocrError(f"{path}: no frame could be read from the video")
    return frames


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (and its subfolders with ``recursive``), sorted by path; hidden ones skipped."""
    folder = Path(folder)
    try:
        if not folder.is_dir():
            raise PwocrError(f"{folder}: " + ("a file, not a folder" if folder.exists() else "folder not found"))
    except OSError as e:  # a name too long for the file system: is_dir passes on what it cannot stat
        raise PwocrError(f"{folder}: cannot open the folder ({e.strerror or e})") from None
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p for p in found if _named_as_image(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _named_as_image(path: Path) -> bool:
    """Whether a folder entry is named as an image, whatever it is: a dangling or looping symlink, or a FIFO,
    is listed so that it gets a row saying what is wrong with it (``probe``), not silently left out."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.is_dir()


def _is_folder(path: Path) -> bool:
    """``path.is_dir()``, false where the path cannot even be looked at (a name too long for the file
    system): the path is then passed on, and the reader reports it as a skipped input."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def expand_inputs(
    inputs: Sequence[str],
    recursive: bool = False,
    stdin: Callable[[], bytes] | None = None,
) -> Iterator[ImageSource]:
    """The images that command-line arguments name, in order: files, folders, globs and ``-`` (stdin).

    A folder gives its images (``recursive``: with its subfolders'); a pattern with ``*``, ``?`` or
    ``[`` that names no existing file is expanded (for shells that do not); ``-`` reads one image
    from standard input. A name that does not exist is passed on, so the reader reports it as a
    skipped input; a folder or pattern with no image is logged (a warning of the ``pwocr`` logger).
    """
    if list(inputs).count("-") > 1:  # before anything is read: a reading must not be lost to this
        raise PwocrError("'-' (standard input) can be given once")
    for arg in inputs:
        if arg == "-":
            yield NamedBytes("<stdin>", stdin() if stdin else sys.stdin.buffer.read())
            continue
        path = Path(arg)
        if _is_folder(path):
            files = list_images(path, recursive)
            if not files:
                logger.warning("%s: no images found%s", path, "" if recursive else " (--recursive reads subfolders)")
            yield from files
        elif not _exists(path) and glob.has_magic(arg):
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=recursive))
            files = [m for m in matches if _named_as_image(m)]
            for folder in (m for m in matches if m.is_dir()):
                files.extend(list_images(folder, recursive))
            if not files:
                logger.warning("%s: no image matches", arg)
            yield from files
        else:
            yield path
