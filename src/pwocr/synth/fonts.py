"""The bundled, open-licensed fonts that synthetic passwords are rendered in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from PIL import ImageFont

from pwocr.errors import PwocrError

Split = Literal["train", "eval"]


@dataclass(frozen=True)
class FontSpec:
    """One bundled font file; ``split`` says whether it renders training data or only held-out test data."""

    path: Path
    family: str
    category: str  # sans, mono or serif
    split: Split
    license: Path


@lru_cache(maxsize=1)
def bundled_fonts() -> tuple[FontSpec, ...]:
    """All fonts shipped in ``pwocr/fonts`` as listed in its ``fonts.json`` manifest."""
    folder = Path(str(resources.files("pwocr") / "fonts"))
    entries = json.loads((folder / "fonts.json").read_text())
    return tuple(
        FontSpec(folder / e["file"], e["family"], e["category"], e["split"], folder / e["license"]) for e in entries
    )


def fonts_for(split: Split | Literal["all"]) -> tuple[FontSpec, ...]:
    """Bundled fonts of one split (``train``: training data; ``eval``: held-out test sets)."""
    fonts = tuple(f for f in bundled_fonts() if split == "all" or f.split == split)
    if not fonts:
        raise PwocrError(f"no bundled fonts in split {split!r}")
    return fonts


def fonts_from_folder(folder: str | Path) -> tuple[FontSpec, ...]:
    """User-supplied ``.ttf``/``.otf`` fonts, to render data in the fonts of one's own screens."""
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".ttf", ".otf"})
    if not files:
        raise PwocrError(f"{folder}: no .ttf or .otf fonts found")
    return tuple(FontSpec(p, p.stem, "user", "train", p) for p in files)


@lru_cache(maxsize=2048)
def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """A cached FreeType font; opening one costs more than rendering a line with it."""
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as e:
        raise PwocrError(f"{path}: not a font FreeType can open ({e})") from None
