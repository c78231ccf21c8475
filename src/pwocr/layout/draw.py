"""``--draw``: the photo with every detected line boxed and labelled with its reading, and the pick.

The drawing is for a person checking a result: the password's box is thick and green with the
value on a dark tag, the other lines thin and orange with their text beside them, so a wrong box
(a missed line, a label read as the password) is seen at a glance.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pwocr.data.images import ImageSource
from pwocr.errors import PwocrError
from pwocr.io import atomic_path
from pwocr.layout.photo import PhotoReading, load_photo
from pwocr.synth.fonts import display_font, load_font

_PICK = (40, 200, 80)
_LINE = (255, 150, 30)
_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def _font(size: int) -> ImageFont.FreeTypeFont:
    return load_font(display_font(), max(10, size))


Rect = tuple[float, float, float, float]  # left, top, right, bottom


def _overlap(a: Rect, b: Rect) -> float:
    """The area two rectangles share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def place_tag(box: Rect, size: tuple[float, float], taken: list[Rect], canvas: tuple[int, int]) -> Rect:
    """Where a ``size`` tag for ``box`` goes: beside it, above or below, inside the picture, on nothing taken.

    The first spot that overlaps no box and no tag wins (right, left, below, above, then the
    same further out); where every spot is covered, the one covering least.
    """
    w, h = size
    left, top, right, bottom = box
    gap = 6.0
    spots = [
        (right + gap, top),
        (left - gap - w, top),
        (left, bottom + gap / 2),
        (left, top - gap / 2 - h),
        (right - w, bottom + gap / 2),
        (right - w, top - gap / 2 - h),
        (left, bottom + gap + h),
        (left, top - gap - 2 * h),
    ]
    best: tuple[float, Rect] | None = None
    for x, y in spots:
        x = min(max(2.0, x), canvas[0] - w - 2)
        y = min(max(2.0, y), canvas[1] - h - 2)
        rect = (x, y, x + w, y + h)
        covered = sum(_overlap(rect, other) for other in taken)
        if covered == 0:
            return rect
        if best is None or covered < best[0]:
            best = (covered, rect)
    assert best is not None
    return best[1]


def annotated_photo(reading: PhotoReading, image: ImageSource) -> Image.Image:
    """The photo (as read: upright, at the decoded size) with boxes, readings and the password marked.

    Lines are numbered from 0, as the CLI, the JSON's ``line`` and the web page number them.
    """
    photo = load_photo(image)
    h, w = photo.shape[:2]
    if (w, h) != reading.size:
        raise PwocrError(f"{reading.image}: the image is {w}x{h}, the reading was of {reading.size}")
    rgb = photo if photo.ndim == 3 else np.repeat(photo[:, :, None], 3, axis=2)
    # Dimmed, so the boxes and tags stand out on any photo.
    canvas = Image.fromarray((rgb * 0.7 + 40).astype(np.uint8)).convert("RGBA")
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    scale = max(canvas.size) / 1000
    picked = reading.password.line if reading.password else -1
    boxes = [np.asarray(line.box.points, np.float64) for line in reading.lines]
    taken: list[Rect] = [(*b.min(0), *b.max(0)) for b in boxes]  # type: ignore[misc]
    for i, (line, points) in enumerate(zip(reading.lines, boxes)):
        is_pick = i == picked
        colour = _PICK if is_pick else _LINE
        corners = [tuple(p) for p in points.tolist()]
        draw.line([*corners, corners[0]], fill=(*colour, 255), width=max(2, round((4 if is_pick else 2) * scale)))
        text = f"{i}: {line.reading.text}"
        if is_pick and reading.password is not None:
            text = f"{i}: PASSWORD {reading.password.reading.text} ({reading.password.reading.confidence:.0%})"
        font = _font(round(max(12, min(line.box.height * 0.45, 24 * scale))))
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        size = (x1 - x0 + 6, y1 - y0 + 4)
        rect = place_tag((*points.min(0), *points.max(0)), size, taken, canvas.size)  # type: ignore[arg-type]
        taken.append(rect)
        draw.rectangle(rect, fill=(0, 0, 0, 190))
        draw.text((rect[0] + 3 - x0, rect[1] + 2 - y0), text, font=font, fill=(*colour, 255))
    return Image.alpha_composite(canvas, overlay).convert("RGB")


def draw_reading(reading: PhotoReading, image: ImageSource, out: str | os.PathLike[str]) -> Path:
    """Write ``image`` with ``reading`` drawn on it to ``out`` (PNG, JPEG or WebP by suffix), atomically."""
    out = Path(out)
    fmt = _SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise PwocrError(f"{out}: --draw writes .png, .jpg or .webp files")
    canvas = annotated_photo(reading, image)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format=fmt)
    return out
