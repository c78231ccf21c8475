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


def display_font() -> Path:
    """The bundled font pwocr shows passwords in: Fira Code, whose I l 1 | and slashed 0 O cannot be mistaken."""
    return next(f.path for f in bundled_fonts() if f.path.name == "FiraCode-Regular.ttf")


def fonts_for(split: Split | Literal["all"]) -> tuple[FontSpec, ...]:
    """Bundled fonts of one split (``train``: training data; ``eval``: held-out test sets)."""
    fonts = tuple(f for f in bundled_fonts() if split == "all" or f.split == split)
    if not fonts:
        raise PwocrError(f"no bundled fonts in split {split!r}")
    return fonts


def _stem_key(path: Path) -> str:
    return "".join(c for c in path.stem.lower() if c.isalnum())


def covers(path: Path, characters: str) -> bool:
    """Whether the font maps every character of ``characters`` to a glyph (a missing one renders as a box)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # fontTools raises many types for broken or exotic files
        return False
    return all(ord(c) in cmap for c in characters)


def fonts_from_folder(folder: str | Path, characters: str = "") -> tuple[FontSpec, ...]:
    """``.ttf``/``.otf`` fonts under ``folder`` (recursively), to render data in one's own fonts.

    A font that lacks a glyph for one of ``characters`` is left out, since it would draw a box
    where the label says a character; so is every file of the bundled held-out (``eval``) fonts,
    so that test sets stay in fonts no model was trained on.
    """
    folder = Path(folder)
    held_out = {_stem_key(f.path) for f in fonts_for("eval")}
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in {".ttf", ".otf"} and p.is_file() and _stem_key(p) not in held_out
    )
    kept = [p for p in files if not characters or covers(p, characters)]
    if not kept:
        raise PwocrError(f"{folder}: no .ttf or .otf fonts found" + (" that draw every character" if files else ""))
    return tuple(FontSpec(p, p.stem, "user", "train", p) for p in kept)


def training_fonts(sources: str | None, characters: str = "") -> tuple[FontSpec, ...]:
    """Fonts to train on: ``bundled`` (the bundled training split), folders, or both joined by ``:``."""
    if not sources:
        return fonts_for("train")
    fonts: list[FontSpec] = []
    for source in sources.split(":"):
        fonts.extend(fonts_for("train") if source == "bundled" else fonts_from_folder(source, characters))
    # One copy of each font file name (bundled first): a family in two sources is not drawn twice as often.
    unique: dict[str, FontSpec] = {}
    for font in fonts:
        unique.setdefault(_stem_key(font.path), font)
    return tuple(unique.values())


@lru_cache(maxsize=2048)
def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """A cached FreeType font; opening one costs more than rendering a line with it."""
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as e:
        raise PwocrError(f"{path}: not a font FreeType can open ({e})") from None
