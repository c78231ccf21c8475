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
    colour: bool = False,
) -> int:
    """Render ``count`` lines into ``out`` (``000000.png``...) and ``out/labels.csv``; returns the count.

    ``colour`` writes RGB lines (what a colour model trains on), else gray ones.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    fonts = fonts_from_folder(fonts_folder) if fonts_folder else fonts_for(fonts_split)  # type: ignore[arg-type]
    config = SynthConfig(
        alphabet=resolve_charset(alphabet), min_length=min_length, max_length=max_length, colour=colour
    )
    synthesizer = PasswordSynthesizer(seed=seed, config=config, fonts=fonts)
    rows = []
    digits = max(6, len(str(count - 1)))
    for i in track(range(count), description="rendering", disable=count < 200):
        image, label = synthesizer.sample()
        name = f"{i:0{digits}d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if colour else image)
        rows.append((name, label))
    write_labels(folder / "labels.csv", rows)
    return count


def write_scene_set(out: str | os.PathLike[str], count: int, seed: int, fonts_split: str = "eval") -> int:
    """Compose ``count`` whole-photo scenes into ``out`` as JPEGs (as phones save them), with their truth.

    ``labels.csv`` gives each photo's password (``image,label``); ``scenes.json`` every line's four
    corners, text and role (password, label, decoy, other, other_password), the scene's kind and
    condition (plain, small, glare) and other networks' passwords, for evaluating line detection and
    the pick. Returns the count.
    """
    import json

    from pwocr.io import atomic_write
    from pwocr.synth.scenes import compose_scenes

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rows, truth = [], {}
    digits = max(4, len(str(count - 1)))
    scenes = compose_scenes(count, seed, split=fonts_split)  # type: ignore[arg-type]
    for i, scene in enumerate(track(scenes, total=count, description="composing", disable=count < 20)):
        name = f"scene{i:0{digits}d}.jpg"
        cv2.imwrite(str(folder / name), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        rows.append((name, scene.password))
        truth[name] = {
            "kind": scene.kind,
            "condition": scene.condition,
            "password": scene.password,
            "others": list(scene.others),
            "lines": [
                {"points": line.points.round(1).tolist(), "text": line.text, "role": line.role} for line in scene.lines
            ],
        }
    write_labels(folder / "labels.csv", rows)
    atomic_write(folder / "scenes.json", json.dumps(truth, indent=1, ensure_ascii=False))
    return count
