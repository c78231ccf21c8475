"""``pwocr synth``: render a fixed synthetic set to disk as PNGs plus a seed-format CSV."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from rich.progress import track

from pwocr.alphabet import resolve_charset
from pwocr.data.labels import write_labels
from pwocr.errors import PwocrError
from pwocr.io import atomic_write
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
    overwrite: bool = False,
) -> int:
    """Render ``count`` lines into ``out`` (``000000.png``...) and ``out/labels.csv``; returns the count.

    ``colour`` writes RGB lines (what a colour model trains on), else gray ones. A folder that holds
    any of these files already is refused, unless ``overwrite``.
    """
    folder = Path(out)
    digits = max(6, len(str(count - 1)))
    names = [f"{i:0{digits}d}.png" for i in range(count)]
    refuse_to_replace(folder, ["labels.csv", *names], overwrite)
    fonts = fonts_from_folder(fonts_folder) if fonts_folder else fonts_for(fonts_split)  # type: ignore[arg-type]
    config = SynthConfig(
        alphabet=resolve_charset(alphabet), min_length=min_length, max_length=max_length, colour=colour
    )
    synthesizer = PasswordSynthesizer(seed=seed, config=config, fonts=fonts)
    rows = []
    for name in track(names, description="rendering", disable=count < 200):
        image, label = synthesizer.sample()
        write_image(folder / name, cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if colour else image)
        rows.append((name, label))
    write_labels(folder / "labels.csv", rows)
    return count


def write_scene_set(
    out: str | os.PathLike[str],
    count: int,
    seed: int,
    fonts_split: str = "eval",
    overwrite: bool = False,
    fonts_folder: str | None = None,
) -> int:
    """Compose ``count`` whole-photo scenes into ``out`` as JPEGs (as phones save them), with their truth.

    ``labels.csv`` gives each photo's password (``image,label``); ``scenes.json`` every line's four
    corners, text and role (password, label, decoy, other, other_password), the scene's kind and
    condition (plain, small, glare) and other networks' passwords, for evaluating line detection and
    the pick. Returns the count. A folder that holds any of these files already is refused, unless
    ``overwrite``. ``fonts_folder``'s fonts replace the split's.
    """
    import json

    from pwocr.synth.scenes import compose_scenes

    folder = Path(out)
    digits = max(4, len(str(count - 1)))
    names = [f"scene{i:0{digits}d}.jpg" for i in range(count)]
    refuse_to_replace(folder, ["labels.csv", "scenes.json", *names], overwrite)
    rows, truth = [], {}
    fonts = fonts_from_folder(fonts_folder) if fonts_folder else None
    scenes = compose_scenes(count, seed, split=fonts_split, fonts=fonts)  # type: ignore[arg-type]
    for name, scene in zip(names, track(scenes, total=count, description="composing", disable=count < 20)):
        write_image(folder / name, cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
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


def refuse_to_replace(folder: Path, names: Sequence[str], overwrite: bool) -> None:
    """Raise naming the first of ``names`` already in ``folder`` (an earlier set, the user's work), unless ``overwrite``."""
    if overwrite or not folder.is_dir():
        return
    there = set(os.listdir(folder))
    found = [name for name in names if name in there]
    if found:
        more = f" and {len(found) - 1} more of the files it would write" if len(found) > 1 else ""
        raise PwocrError(
            f"{folder}: already holds {found[0]}{more}; write to a new folder, or pass --overwrite to replace them"
        )


def write_image(path: Path, image: np.ndarray, params: Sequence[int] = ()) -> None:
    """Encode ``image`` in the format of ``path``'s extension and write it atomically; a failure names ``path``."""
    try:
        encoded, data = cv2.imencode(path.suffix, image, list(params))
    except cv2.error:
        encoded = False
    if not encoded:
        raise PwocrError(f"{path}: cannot write the image (OpenCV could not encode it as {path.suffix})")
    atomic_write(path, data.tobytes())
