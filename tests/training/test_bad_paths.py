"""Folders a run cannot write, and paths given again on --resume: one-line errors before any work, or none."""

import logging
import os
from pathlib import Path

import pytest
from conftest import draw_line, tiny_config

from pwocr.data.labels import LabelledImage, write_labels
from pwocr.errors import PwocrError
from pwocr.training.trainer import train


@pytest.fixture()
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"out": "{file}"}, "--out {file}: {file} is a file, not a folder"),
        ({"out": "{file}/sub"}, "--out {file}/sub: {file} is a file, not a folder"),
        ({"logs": "{file}"}, "--logs {file}: {file} is a file, not a folder"),
        ({"logs": "{file}/x"}, "--logs {file}/x: {file} is a file, not a folder"),
        ({"logs": "/proc/nope/logs"}, "--logs /proc/nope/logs: cannot create the folder"),
        ({"out": "{file}", "nproc": 2}, "--out {file}: {file} is a file, not a folder"),
    ],
)
def test_a_folder_the_run_cannot_make_is_one_line_before_any_work(tiny_set, tmp_path, a_file, changes, expected):
    changes = {k: v.format(file=a_file) if isinstance(v, str) else v for k, v in changes.items()}
    config = tiny_config(tmp_path, tiny_set, **changes)
    with pytest.raises(PwocrError) as error:
        train(config, progress=False)
    message = str(error.value)
    assert message.startswith(expected.format(file=a_file)) and "\n" not in message
    assert not (tmp_path / "c").exists() and not (tmp_path / "l").exists()  # nothing made by a refused run


def test_a_folder_the_run_can_make_is_not_left_behind_by_the_check(tmp_path):
    from pwocr.training.config import check_folder

    check_folder("--out", str(tmp_path / "new" / "run"))
    assert not (tmp_path / "new").exists()


def test_resume_accepts_the_relative_paths_the_run_was_started_with(tiny_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tiny_set.parent.parent)
    images, labels = tiny_set.parent.name, str(Path(tiny_set.parent.name) / tiny_set.name)
    settings = dict(imgs_folder=images, train_file=labels, alphabet="printable", epochs=1, steps_per_epoch=1)
    settings.update(batch_size=2, synth_val_count=2, calibrate=False, format_prior=False, seed=1)
    assert len(train(tiny_config(tmp_path, **settings), progress=False)) == 1
    given = ("imgs_folder", "train_file", "resume")
    again = tiny_config(tmp_path, imgs_folder=images, train_file=labels, resume=True, resume_overrides=given)
    assert train(again, progress=False) == []  # the same run, finished: nothing to do, no error
    other = tiny_config(tmp_path, imgs_folder=str(tmp_path), resume=True, resume_overrides=("imgs_folder", "resume"))
    with pytest.raises(PwocrError, match=f"--imgs_folder {tmp_path}: --resume continues"):
        train(other, progress=False)


def test_an_unreadable_training_image_is_named_by_its_csv_line(tmp_path, caplog):
    from pwocr.alphabet import Alphabet
    from pwocr.model.config import ModelConfig
    from pwocr.training.datasets import check_labelled_images

    draw_line("123").save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"junk")
    items = [
        LabelledImage(tmp_path / "good.png", "123", "train.csv:2"),
        LabelledImage(tmp_path / "bad.png", "456", "train.csv:3"),
    ]
    alphabet = Alphabet("0123456789")
    with caplog.at_level(logging.WARNING, logger="pwocr"):
        kept = check_labelled_images(items, alphabet, ModelConfig(alphabet=alphabet.chars))
    assert kept == items[:1]
    assert any(m.startswith("train.csv:3: ") and "bad.png" in m for m in caplog.messages)


def test_skipped_validation_rows_do_not_say_training(tiny_set, tmp_path, caplog):
    from pwocr.training.setup import label_rows

    val = tmp_path / "val.csv"
    rows = [(p.name, "a1!") for p in sorted(tiny_set.parent.glob("*.png"))[:3]]
    write_labels(val, [*rows, (os.path.join("..", "elsewhere.png"), "a1!")])
    config = tiny_config(tmp_path, tiny_set, val_file=str(val))
    with caplog.at_level(logging.WARNING, logger="pwocr"):
        assert len(label_rows(config, "val_file")) == 3
    summary = caplog.messages[-1]
    assert "1 of 4 rows skipped" in summary and "validating on the other 3" in summary and "training" not in summary
