"""A seeded corpus of hostile files read as one folder: no traceback, a row for every file, every good image read.

Each kind of file a careless or hostile user has (truncated, bit-flipped, bombs, every mode, empty,
symlinks, FIFOs, not images at all, odd names) is made here from a few clean line images.
"""

from __future__ import annotations

import csv
import io
import os
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_LABELS, draw_line
from PIL import Image

from pwocr.cli.main import main

SEED = 2026
#: Formats a good image is saved in; each is also truncated and bit-flipped.
FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP", "tif": "TIFF", "webp": "WEBP", "gif": "GIF", "ppm": "PPM"}


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header (with a valid CRC) claims ``width x height``: a bomb read from its header."""
    data = bytearray(_encoded(Image.new("L", (8, 8), 255), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def _good_images(rng: random.Random) -> dict[str, Image.Image]:
    """Clean lines in every mode pwocr reads: gray, RGB, RGBA, LA, P with transparency, 1-bit, CMYK, 16-bit, float."""
    out = {}
    for i, label in enumerate(TINY_LABELS):
        line = draw_line(label)
        out[f"good_{i}_L.png"] = line
        out[f"good_{i}_RGB.jpg"] = line.convert("RGB")
    line = draw_line(TINY_LABELS[0])
    rgba = line.convert("RGBA")
    rgba.putalpha(255)
    out["mode_RGBA.png"] = rgba
    out["mode_LA.png"] = line.convert("LA")
    out["mode_P.gif"] = line.convert("P")
    out["mode_1.png"] = line.convert("1")
    out["mode_CMYK.jpg"] = line.convert("CMYK")
    out["mode_I16.png"] = Image.fromarray(np.asarray(line).astype(np.uint16) * 257)
    out["mode_F.tif"] = Image.fromarray(np.asarray(line).astype(np.float32) / 255.0)
    for ext, fmt in FORMATS.items():
        out[f"format_{fmt}.{ext}"] = line.convert("RGB") if fmt in ("JPEG", "PPM") else line
    return out


def make_corpus(folder: Path, seed: int = SEED) -> set[str]:
    """Write the corpus into ``folder``; returns the names of the files that must be read."""
    rng = random.Random(seed)
    good = _good_images(rng)
    for name, image in good.items():
        image.save(folder / name)
    sources = [_encoded(draw_line(label), fmt) for label in TINY_LABELS[:3] for fmt in FORMATS.values()]
    for k in range(200):  # truncated and bit-flipped copies of every format
        data = bytearray(rng.choice(sources))
        if k % 2:
            data = data[: rng.randrange(1, len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        (folder / f"fuzz_{k:03d}.{rng.choice(list(FORMATS))}").write_bytes(bytes(data))
    for k, (w, h) in enumerate([(100_000, 100_000), (20_000, 20_000), (0, 10), (10, 0), (1, 65_000), (65_000, 1)]):
        (folder / f"bomb_{k}.png").write_bytes(_png_claiming(w, h))
    Image.new("L", (1, 3000), 255).save(folder / "sliver.png")
    for k in range(5):
        (folder / f"empty_{k}.jpg").write_bytes(b"")
        (folder / f"random_{k}.png").write_bytes(rng.randbytes(rng.randint(1, 4000)))
    (folder / "text.png").write_text("not an image\n")
    (folder / "page.jpg").write_text("<html><body>hello</body></html>")
    (folder / "ghostscript.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    (folder / "dangling.png").symlink_to(folder / "nowhere.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    (folder / "link_to_good.png").symlink_to(folder / "good_0_L.png")
    os.mkfifo(folder / "pipe.png")
    (folder / "dir.png").mkdir()  # a folder named as an image is not a file: no row expected
    odd = os.fsdecode(b"latin1_caf\xe9.png")
    good[odd] = draw_line(TINY_LABELS[1])
    good[odd].save(folder / odd)
    good["=formula.png"] = draw_line(TINY_LABELS[2])
    good["=formula.png"].save(folder / "=formula.png")
    return set(good) | {"link_to_good.png"}


def test_a_hostile_folder_gives_a_row_for_every_file_and_reads_every_good_image(capfd, tmp_path, tiny_checkpoint):
    folder = tmp_path / "hostile"
    folder.mkdir()
    good = make_corpus(folder)
    files = {p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name != "dir.png"}
    assert len(files) > 250
    code = main(["recognize", "--imgs_folder", str(folder), "--checkpoint_path", str(tiny_checkpoint)])
    _, err = capfd.readouterr()
    assert code == 1 and "Traceback" not in err
    with open(folder / "prediction.csv", newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.DictReader(f))
    names = [r["img"][1:] if r["img"].startswith("'=") else r["img"] for r in rows]
    assert sorted(names) == sorted(files)  # a row for every file, and only one
    status = dict(zip(names, (r["status"] for r in rows)))
    assert all(status[name] == "ok" for name in good), {n: status[n] for n in good if status[n] != "ok"}
    assert all(s == "ok" or s.startswith("skipped: ") for s in status.values())
    assert all(len(line) < 400 for line in err.splitlines())  # one line each, never a dump


@pytest.mark.parametrize("seed", [1, 2])
def test_the_corpus_is_the_same_for_a_seed(tmp_path, seed):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    make_corpus(a, seed), make_corpus(b, seed)
    fuzzed = sorted(p.name for p in a.glob("fuzz_*"))
    assert fuzzed == sorted(p.name for p in b.glob("fuzz_*"))
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in fuzzed)
