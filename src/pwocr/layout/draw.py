"""``--draw``: the photo with every detected line boxed and labelled with its reading, and the pick.

The drawing is for a person checking a result: the password's box is thick and green with the
value on a dark tag, the other lines thin and orange with their text beside them, so a wrong box
(a missed line, a label read as the password) is seen at a glance.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
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


def render(reading: PhotoReading, image: ImageSource) -> Image.Image:
    """The photo (as read: upright, at the decoded size) with boxes, readings and the password marked."""
    photo = load_photo(image)
    h, w = photo.shape[:2]
    if (w, h) != reading.size:
        raise PwocrError(f"{reading.image}: the image is {w}x{h}, the reading was of {reading.size}")
    rgb = photo if photo.ndim == 3 else cv2.cvtColor(photo, cv2.COLOR_GRAY2RGB)
    # Dimmed, so the boxes and tags stand out on any photo.
    canvas = Image.fromarray((rgb * 0.7 + 40).astype(np.uint8)).convert("RGBA")
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    scale = max(canvas.size) / 1000
    picked = reading.password.line if reading.password else -1
    for i, line in enumerate(reading.lines):
        points = [tuple(p) for p in np.asarray(line.box.points).tolist()]
        is_pick = i == picked
        colour = _PICK if is_pick else _LINE
        draw.line([*points, points[0]], fill=(*colour, 255), width=max(2, round((4 if is_pick else 2) * scale)))
        text = f"{i}: {line.reading.text}"
        if is_pick and reading.password is not None:
            text = f"PASSWORD {reading.password.reading.text} ({reading.password.reading.confidence:.0%})"
        font = _font(round(max(12, min(line.box.height * 0.45, 24 * scale))))
        # The tag goes right of the box where it fits, else under it; always inside the picture.
        width = draw.textlength(text, font=font)
        right = max(p[0] for p in points)
        x = right + 6 if right + 6 + width < canvas.width else min(points[3][0], canvas.width - width - 4)
        y = points[1][1] if x > right else points[3][1] + 2
        x, y = max(2.0, x), min(max(2.0, y), canvas.height - font.size * 1.3)
        left, top, r, bottom = draw.textbbox((x, y), text, font=font)
        draw.rectangle((left - 3, top - 2, r + 3, bottom + 2), fill=(0, 0, 0, 190))
        draw.text((x, y), text, font=font, fill=(*colour, 255))
    canvas = Image.alpha_composite(canvas, overlay).convert("RGB")
    return canvas


def draw_reading(reading: PhotoReading, image: ImageSource, out: str | os.PathLike[str]) -> Path:
    """Write ``image`` with ``reading`` drawn on it to ``out`` (PNG, JPEG or WebP by suffix), atomically."""
    out = Path(out)
    fmt = _SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise PwocrError(f"{out}: --draw writes .png, .jpg or .webp files")
    canvas = render(reading, image)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format=fmt)
    return out
