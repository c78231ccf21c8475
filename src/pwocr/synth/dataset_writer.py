"""``pwocr synth``: render a fixed synthetic set to disk as PNGs plus a seed-format CSV."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
from rich.progress import track

from pwocr.alphabet import resolve_charset
from pwocr.data.labels import write_labels
from pwocr.synth.fonts import fonts_for, fonts_from_folder
from pwocr.synth.render import PasswordSynthesizer, SynthConfig


def write_synthetic_set(
    out: str | os.PathLike[str],
    count: int,
    seed: int,
    alphabet: str = "printable",
    min_length: int = 6,
    max_length: int = 20,
    fonts_split: str = "train",
    fonts_folder: str | None = None,
) -> int:
    """Render ``count`` lines into ``out`` (``000000.png``...) and ``out/labels.csv``; returns the count."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    fonts = fonts_from_folder(fonts_folder) if fonts_folder else fonts_for(fonts_split)  # type: ignore[arg-type]
    config = SynthConfig(alphabet=resolve_charset(alphabet), min_length=min_length, max_length=max_length)
    synthesizer = PasswordSynthesizer(seed=seed, config=config, fonts=fonts)
    rows = []
    digits = max(6, len(str(count - 1)))
    for i in track(range(count), description="rendering", disable=count < 200):
        gray, label = synthesizer.sample()
        name = f"{i:0{digits}d}.png"
        cv2.imwrite(str(folder / name), gray)
        rows.append((name, label))
    write_labels(folder / "labels.csv", rows)
    return count
