"""The bundled, open-licensed fonts that synthetic passwords are rendered in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pwocr.errors import PwocrError
from pwocr.imaging import resize

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
    """All fonts listed in ``pwocr/fonts/fonts.json``, the manifest of the fonts bundled for training.

    A source checkout has every file; the wheel ships the manifest and the display font only (the
    training fonts are 11 MB that reading never opens), so a listed file may be missing.
    """
    folder = Path(str(resources.files("pwocr") / "fonts"))
    entries = json.loads((folder / "fonts.json").read_text())
    return tuple(
        FontSpec(folder / e["file"], e["family"], e["category"], e["split"], folder / e["license"]) for e in entries
    )


#: The font pwocr shows passwords in (the web page, ``--draw``, ``evaluate``'s reports), shipped in
#: the wheel with its licence: DejaVu Sans Mono's dotted zero, serifed I and tailed l cannot be mistaken.
DISPLAY_FONT = "DejaVuSansMono.ttf"


def display_font() -> Path:
    """The bundled font pwocr shows passwords in (``DISPLAY_FONT``)."""
    path = Path(str(resources.files("pwocr") / "fonts" / DISPLAY_FONT))
    if not path.is_file():
        raise PwocrError(f"{path}: the display font is missing from this installation of pwocr")
    return path


def fonts_for(split: Split | Literal["all"]) -> tuple[FontSpec, ...]:
    """Bundled fonts of one split (``train``: training data; ``eval``: held-out test sets)."""
    fonts = _listed(split)
    absent = [f for f in fonts if not f.path.is_file()]
    if absent:
        raise PwocrError(
            f"{absent[0].path}: the bundled training fonts ship with pwocr's source, not its wheel: "
            "pip install -e '.[train]' in a clone of pwocr, or render in your own fonts (--fonts FOLDER)"
        )
    return fonts


def _listed(split: Split | Literal["all"]) -> tuple[FontSpec, ...]:
    fonts = tuple(f for f in bundled_fonts() if split == "all" or f.split == split)
    if not fonts:
        raise PwocrError(f"no bundled fonts in split {split!r}")
    return fonts


def _stem_key(path: Path | str) -> str:
    return "".join(c for c in Path(path).stem.lower() if c.isalnum())


@dataclass(frozen=True)
class HeldOutFamily:
    """A font family of the look-alike benchmark: a Debian package no training recipe may use."""

    family: str
    category: str
    package: str
    files: tuple[str, ...]


def _held_out_manifest() -> dict:
    return json.loads((Path(str(resources.files("pwocr") / "fonts")) / "held_out.json").read_text())


@lru_cache(maxsize=1)
def held_out_families() -> tuple[HeldOutFamily, ...]:
    """The benchmark's held-out families (``pwocr/fonts/held_out.json``), kept out of every training font set."""
    return tuple(
        HeldOutFamily(e["family"], e["category"], e["package"], tuple(e["files"]))
        for e in _held_out_manifest()["families"]
    )


@lru_cache(maxsize=1)
def held_out_keys() -> frozenset[str]:
    """Name keys of every font file that training must never see: the bundled ``eval`` split and every
    file of the benchmark's held-out packages (not only the files it renders in)."""
    packaged = (name for files in _held_out_manifest()["package_files"].values() for name in files)
    return frozenset({_stem_key(f.path) for f in _listed("eval")} | {_stem_key(name) for name in packaged})


def covers(path: Path, characters: str) -> bool:
    """Whether the font maps every character of ``characters`` to a glyph (a missing one renders as a box)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # fontTools raises many types for broken or exotic files
        return False
    return all(ord(c) in cmap for c in characters)


#: Letters whose lower case is a different shape from their capital in any text font.
_CASE_LETTERS = "abdeghnqrt"


def _ink(font: ImageFont.FreeTypeFont, char: str) -> np.ndarray | None:
    """The glyph's ink, cropped to its bounding box and scaled to 24 x 24 (``None`` for an empty glyph)."""
    left, top, right, bottom = font.getbbox(char)
    if right <= left or bottom <= top:
        return None
    canvas = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(canvas).text((1 - left, 1 - top), char, font=font, fill=255)
    ink = np.asarray(canvas) > 32  # a hairline face's strokes are light at any size
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if not len(rows):
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.uint8) * 255
    return resize(crop, 24, 24, "area") > 127


#: Symbol fonts whose cmap maps ASCII to pictures (URW's Dingbats, Linux Biolinum's keyboard keys).
_SYMBOL_FONTS = frozenset({"d050000l", "linbiolinumk"})


def draws_plain_text(path: Path) -> bool:
    """Whether the font draws text as its labels spell it: lower case unlike capitals, letters not pictures.

    Titling, all-caps and small-caps fonts draw ``a`` as a (small) ``A``, and symbol fonts draw
    pictures for letters: rendered with a label that says ``a``, they teach a model that a capital
    may be lower case, or nothing at all. A font whose letters cannot be compared (empty glyphs) is
    not kept either.
    """
    if _stem_key(path) in _SYMBOL_FONTS:
        return False
    try:
        font = ImageFont.truetype(str(path), 64)
    except OSError:
        return False
    compared = same = 0
    for letter in _CASE_LETTERS:
        lower, upper = _ink(font, letter), _ink(font, letter.upper())
        if lower is not None and upper is not None:
            compared += 1
            same += (lower & upper).sum() > 0.7 * max((lower | upper).sum(), 1)
    return compared >= 5 and same < 0.7 * compared


def _family_key(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def font_family(path: Path) -> str:
    """The family a font file's name table declares (typographic family first), or ``""``."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            names = font["name"]
            for name_id in (16, 1):
                record = names.getName(name_id, 3, 1) or names.getName(name_id, 1, 0)
                if record is not None:
                    return record.toUnicode()
    except Exception:  # fontTools raises many types for broken or exotic files
        return ""
    return ""


@lru_cache(maxsize=1)
def held_out_family_keys() -> frozenset[str]:
    """The held-out families by the names their files declare (a renamed copy still declares its family)."""
    return frozenset(_family_key(name) for name in _held_out_manifest()["family_names"])


def is_held_out(path: Path) -> bool:
    """Whether a font file belongs to a family no training may use: by its file name, or by the family it declares."""
    if _stem_key(path) in held_out_keys():
        return True
    family = _family_key(font_family(path))
    return bool(family) and family in held_out_family_keys()


def fonts_from_folder(folder: str | Path, characters: str = "") -> tuple[FontSpec, ...]:
    """``.ttf``/``.otf`` fonts under ``folder`` (recursively), to render data in one's own fonts.

    A font that lacks a glyph for one of ``characters`` is left out, since it would draw a box
    where the label says a character, and so is one that does not draw plain text
    (``draws_plain_text``: caps-only, small-caps and symbol fonts); so is every held-out file
    (``is_held_out``: a file of the bundled ``eval`` fonts or of the look-alike benchmark's packages,
    or a font declaring one of the benchmark's families, however its file is named), so that test
    sets stay in fonts no model was trained on.
    """
    folder = Path(folder)
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".ttf", ".otf"} and p.is_file())
    files = [p for p in found if not is_held_out(p)]
    # The case test only matters when labels hold both cases (a digits-only set has no capitals to confuse).
    cased = sum(c in characters and c.upper() in characters for c in _CASE_LETTERS) >= 5
    kept = [p for p in files if not characters or (covers(p, characters) and (not cased or draws_plain_text(p)))]
    if not kept:
        why = " that draw every character" if files else " outside the held-out benchmark families" if found else ""
        raise PwocrError(f"{folder}: no .ttf or .otf fonts found{why}")
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
