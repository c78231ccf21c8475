"""Pack the training fonts small enough to travel to a lent GPU machine (its working tree is capped).

Each font that ``pwocr train --fonts bundled:/usr/share/fonts`` would render with is cut down with
fontTools to the 94 printable ASCII characters and the space, without hinting instructions, and
the copies go into one ``.tar.xz``: 775 Debian fonts shrink from 207 MB to 5 MB. Held-out
families never get in, since the list comes from ``pwocr.synth.fonts.fonts_from_folder``; family
names stay in each copy's name table, so the held-out check still knows them there. The glyph
outlines are the originals; FreeType draws the unhinted copies with its own light hinting, a small
change of rendering that the camera effects dwarf.

    python recipes/gpu/subset_fonts.py /usr/share/fonts .gpu/fonts.tar.xz
"""

from __future__ import annotations

import argparse
import logging
import tarfile
import tempfile
from pathlib import Path

from fontTools import subset

from pwocr.alphabet import PRINTABLE_94
from pwocr.synth.fonts import fonts_from_folder


def subset_font(source: Path, target: Path) -> None:
    """``source`` cut down to printable ASCII, unhinted, with every name record kept."""
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.layout_features = ["kern", "liga"]
    options.hinting = False
    options.desubroutinize = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=" " + PRINTABLE_94)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def pack(folder: Path, archive: Path) -> int:
    """Subset every training font under ``folder`` into ``archive``; returns how many went in."""
    fonts = fonts_from_folder(folder, PRINTABLE_94)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "fonts"
        out.mkdir()
        for spec in fonts:
            # One file name per font: a name met twice keeps its folder as a prefix.
            name = (
                spec.path.name if not (out / spec.path.name).exists() else f"{spec.path.parent.name}__{spec.path.name}"
            )
            subset_font(spec.path, out / name)
        with tarfile.open(archive, "w:xz") as tar:
            tar.add(out, arcname="fonts")
    return len(fonts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="font folder (as given to pwocr train --fonts)")
    parser.add_argument("archive", type=Path, help="the .tar.xz to write")
    args = parser.parse_args()
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # one "table dropped" line per font otherwise
    print(f"{pack(args.folder, args.archive)} fonts in {args.archive} ({args.archive.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
