"""Is a 48-pixel line enough to tell look-alikes apart? Glyph differences at the model's height and at twice it.

For each held-out family of the look-alike benchmark and each look-alike pair (``l/I``, ``I/|``,
``1/l``, ``O/0``, ...), each glyph is drawn alone on a line as tall as the font's ascent plus
descent (so its height and position in the line are kept), the line scaled to 48 and to 96 pixels
as the model's preprocessing scales it (area interpolation), and the two glyphs compared: the share
of ink pixels that differ by more than a quarter of full scale. A pair that differs at 96 px but
not at 48 px is one the model's resolution loses; a pair that differs at neither is drawn alike by
the font, and only ``I or l`` is an honest answer. The glyphs are clean: a photo's blur and a
small font lose detail before the model's 48 px, which this does not measure.

    python bench/lookalike_resolution.py --out bench/results/lookalike_resolution.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lookalike import DEFAULT_CACHE, fetch_held_out_fonts

from pwocr.io import atomic_write
from pwocr.synth.fonts import load_font

PAIRS = ("lI", "I|", "1l", "1I", "O0", "oO", "5S", "8B", "vu", "@a", "J]", "~-", "6b", "'`", ".,", ":;")
#: Above this share of differing pixels two glyphs are told apart (about two pixels of a 48-px glyph's stroke).
DISTINCT = 0.08


def glyph_at(font_path: Path, char: str, height: int) -> np.ndarray:
    """``char`` on a line as tall as the font's ascent plus descent, scaled so the line is ``height`` px high."""
    font = load_font(font_path, 96)
    ascent, descent = font.getmetrics()
    width = int(font.getlength(char)) + 8
    canvas = Image.new("L", (width, ascent + descent), 0)
    ImageDraw.Draw(canvas).text((4, 0), char, font=font, fill=255)
    line = np.asarray(canvas, dtype=np.float32) / 255.0
    scale = height / line.shape[0]
    return cv2.resize(line, (max(1, round(line.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)


def difference(font_path: Path, a: str, b: str, height: int) -> float:
    """The share of ink pixels where two glyphs, aligned on a common width, differ noticeably."""
    ga, gb = glyph_at(font_path, a, height), glyph_at(font_path, b, height)
    width = max(ga.shape[1], gb.shape[1])
    pa = np.zeros((height, width), np.float32)
    pb = np.zeros((height, width), np.float32)
    pa[:, : ga.shape[1]] = ga
    pb[:, : gb.shape[1]] = gb
    ink = (pa > 0.25) | (pb > 0.25)
    return float((np.abs(pa - pb) > 0.25).sum() / max(ink.sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    fonts = fetch_held_out_fonts(args.cache)
    rows = {}
    for pair in PAIRS:
        counts = {"distinct at 48": 0, "distinct at 96 only": 0, "alike at both": 0}
        for files in fonts.values():
            d48, d96 = difference(files[0].path, *pair, 48), difference(files[0].path, *pair, 96)
            key = "distinct at 48" if d48 > DISTINCT else "distinct at 96 only" if d96 > DISTINCT else "alike at both"
            counts[key] += 1
        rows[f"{pair[0]}/{pair[1]}"] = counts
        print(f"{pair[0]}/{pair[1]}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
    if args.out:
        atomic_write(args.out, json.dumps({"families": len(fonts), "threshold": DISTINCT, "pairs": rows}, indent=1))


if __name__ == "__main__":
    main()
