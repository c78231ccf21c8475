"""Shared fixtures: tiny labelled image sets drawn here, and the committed tiny model overfit on them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pwocr.alphabet import Alphabet
from pwocr.data.labels import write_labels
from pwocr.errors import PwocrError
from pwocr.inference.engine import cache_dir
from pwocr.synth.fonts import fonts_for, load_font

if TYPE_CHECKING:
    from pwocr.training.config import TrainConfig

#: pwocr's own cache, read before the session's private one replaces it: onnxruntime-web for the
#: page's in-page reader is kept there, so it is fetched once per machine, not once per test run.
USER_CACHE = cache_dir()

#: Labels of the tiny set: repeats, quotes, a comma and a backslash, so CSV and CTC edge cases are covered.
TINY_LABELS = ["a1!", "Zz9", 'q"x', "77b", "k,\\", "M#m"]


def draw_line(text: str, size: int = 28, invert: bool = False, min_width: int = 84) -> Image.Image:
    """A clean rendering of ``text`` in the first bundled training font.

    Short labels all get the same width, so training batches need no padding and a model overfit
    on them reads each image alone exactly as it saw it in training.
    """
    font = load_font(fonts_for("train")[0].path, size)
    width = max(int(font.getlength(text)) + 12, min_width)
    image = Image.new("L", (width, size + 12), 0 if invert else 255)
    ImageDraw.Draw(image).text((6, 4), text, font=font, fill=255 if invert else 0)
    return image


def make_labelled_folder(folder: Path, labels: list[str], csv_name: str = "labels.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, label in enumerate(labels):
        name = f"img{i:02d}.png"
        draw_line(label).save(folder / name)
        rows.append((name, label))
    write_labels(folder / csv_name, rows)
    return folder / csv_name


def spelt_table(
    alphabet: Alphabet, *columns: dict[str, float], floor: float = 1e-4, dtype: type = np.float32
) -> np.ndarray:
    """A probability table with one step per column (characters by name, "-" the blank), a blank step
    after each; every other class gets ``floor`` before the rows are normalised."""
    rows = []
    for column in columns:
        for spec in (column, {"-": 1.0}):
            row = np.full(alphabet.num_classes, floor)
            for char, p in spec.items():
                row[0 if char == "-" else alphabet.index(char)] = p
            rows.append(row / row.sum())
    return np.asarray(rows, dtype=dtype)


def tiny_config(tmp_path: Path, labels: Path | None = None, **changes: Any) -> TrainConfig:
    """A crnn-tiny run writing to ``tmp_path`` (checkpoints in ``c``, logs in ``l``), its data prepared
    in the training process, trained on ``labels`` (a labels.csv) when given; ``changes`` set the rest."""
    from pwocr.training.config import TrainConfig

    base: dict[str, Any] = dict(model_size="crnn-tiny", n_workers=0, out=str(tmp_path / "c"), logs=str(tmp_path / "l"))
    if labels is not None:
        base.update(imgs_folder=str(labels.parent), train_file=str(labels))
    return TrainConfig(**{**base, **changes})


def tiny_fine_tune_config(checkpoint: Path, tmp_path: Path, **changes: Any) -> TrainConfig:
    """A short fine-tune of ``checkpoint`` on four new labels drawn in ``tmp_path/mine`` (also its
    validation set, beside 24 synthetic guard lines), writing to ``tmp_path/run``; ``changes`` set the rest."""
    from pwocr.training.config import TrainConfig

    csv = make_labelled_folder(tmp_path / "mine", ["zz9Q", "Q9zz", "9zQz", "zQ9z"])
    base: dict[str, Any] = dict(
        imgs_folder=str(csv.parent),
        train_file=str(csv),
        val_file=str(csv),
        weights_file=str(checkpoint),
        out=str(tmp_path / "run"),
        logs=str(tmp_path / "logs"),
        steps_per_epoch=2,
        batch_size=4,
        synth_val_count=24,
        synth_min_length=3,
        synth_max_length=5,
        n_workers=0,
    )
    return TrainConfig(**{**base, **changes})


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Exported ONNX graphs go to a cache of the session's own, never the user's ~/.cache."""
    import os

    os.environ["PWOCR_CACHE_DIR"] = str(tmp_path_factory.mktemp("pwocr-cache"))


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of six clean rendered labels with ``labels.csv``; returns the CSV path."""
    return make_labelled_folder(tmp_path_factory.mktemp("tiny"), TINY_LABELS)


#: A crnn-tiny overfit on the tiny set by ``fixtures/make_tiny_model.py``, committed so that no
#: test depends on a training trajectory (CPUs round differently).
TINY_MODEL = Path(__file__).parent / "fixtures" / "tiny.safetensors"


@pytest.fixture(scope="session")
def tiny_run(tiny_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short crnn-tiny training run on the tiny set; returns the run folder (checkpoints and logs)."""
    from pwocr.training.trainer import TrainConfig, train

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        imgs_folder=str(tiny_set.parent),
        train_file=str(tiny_set),
        val_file=str(tiny_set),
        out=str(out / "checkpoints"),
        logs=str(out / "logs"),
        model_size="crnn-tiny",
        alphabet="printable",
        epochs=2,
        steps_per_epoch=5,
        batch_size=6,
        lr=1e-2,
        n_workers=0,
        seed=0,
        val_each=1,
        augment=False,
    )
    train(config, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed tiny model, copied so a test cannot alter it; its ONNX graph is cached per session."""
    import shutil

    folder = tmp_path_factory.mktemp("tiny-model")
    return Path(shutil.copy(TINY_MODEL, folder / "tiny.safetensors"))


@pytest.fixture(scope="session")
def onnxruntime_web_folder() -> Path:
    """onnxruntime-web for the in-page reader, from pwocr's cache (fetched once with npm); skipped without npm."""
    from pwocr.serving.webapp import onnxruntime_web

    try:
        folder = onnxruntime_web(fetch=True, cache=USER_CACHE)
    except PwocrError as e:
        pytest.skip(f"no onnxruntime-web for the in-page reader: {e}")
    assert folder is not None
    return folder
