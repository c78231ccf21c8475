"""One training writes in an --out folder at a time; a validation file that is the training file is said."""

import dataclasses
import logging
import os
import shutil
from pathlib import Path

import pytest
from conftest import make_labelled_folder, tiny_config

from pwocr.cli.main import main
from pwocr.errors import PwocrError
from pwocr.training.trainer import train

fcntl = pytest.importorskip("fcntl")  # no advisory locks on Windows: runs there are not kept apart


def _run(labels: Path, out: Path, *more: str) -> list[str]:
    """``pwocr train`` arguments for a one-step crnn-tiny run on ``labels`` into ``out``."""
    args = ["train", "--imgs_folder", labels.parent, "--train_file", labels, "--model", "crnn-tiny"]
    args += ["--alphabet", "printable", "--epochs_num", "1", "--steps_per_epoch", "1", "--batch_size", "2"]
    args += ["--n_workers", "0", "--no_calibrate", "--no_progress", "--out", out, "--logs", f"{out}-logs", *more]
    return [str(a) for a in args]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of ``folder`` (the folder itself as "."): its bytes and modification time."""
    files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    return {**files, ".": (b"", folder.stat().st_mtime_ns)}


@pytest.fixture()
def held(tmp_path: Path):
    """``tmp_path/run`` locked as a training in another process holds it."""
    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield out


def _refused(capsys, argv: list[str], out: Path) -> None:
    before = _snapshot(out)
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"pwocr: error: --out {out}: another training is writing to this folder (wait for it or choose another --out)\n"
    )
    assert _snapshot(out) == before  # nothing made, removed or written


def test_a_new_run_into_a_folder_another_training_holds_is_refused_at_once(capsys, tiny_set, held):
    _refused(capsys, _run(tiny_set, held), held)
    assert not Path(f"{held}-logs").exists()


def test_resume_of_a_folder_another_training_holds_is_refused_before_reading_it(capsys, held):
    (held / "last.pt").write_bytes(b"the other run's state, being written")
    _refused(capsys, ["train", "--resume", "--out", str(held), "--no_progress"], held)


def test_a_run_holds_its_folder_until_it_ends_and_leaves_no_lock_behind(tiny_set, tmp_path):
    out = tmp_path / "run"
    second: list[str] = []

    class SecondRun(logging.Handler):
        """Starts another training into the same folder while the first is at its first epoch's end."""

        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("epoch 1/") and not second:
                try:
                    config = tiny_config(tmp_path, tiny_set, out=str(out), alphabet="printable", epochs=1)
                    train(dataclasses.replace(config, steps_per_epoch=1, batch_size=2, calibrate=False), False)
                    second.append("trained")
                except PwocrError as e:
                    second.append(str(e))

    handler = SecondRun()
    logging.getLogger("pwocr").addHandler(handler)
    try:
        assert main(_run(tiny_set, out)) == 0
    finally:
        logging.getLogger("pwocr").removeHandler(handler)
    assert second == [f"--out {out}: another training is writing to this folder (wait for it or choose another --out)"]
    assert not (out / ".lock").exists() and (out / "last.pt").is_file()
    assert main(_run(tiny_set, out, "--resume", "--epochs_num", "2")) == 0  # the lock went with the first run


def test_a_run_refused_before_writing_leaves_no_folder(capsys, tmp_path):
    csv = make_labelled_folder(tmp_path / "d", ["123", "12x"])
    assert main(["train", "--train_file", str(csv), "--alphabet", "digits", "--out", str(tmp_path / "new" / "c")]) == 2
    assert "not in --alphabet" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_validating_on_the_training_file_is_warned_once_however_it_is_named(capsys, tiny_set, tmp_path):
    photos = shutil.copytree(tiny_set.parent, tmp_path / "photos")
    labels, val = photos / "labels.csv", ["--val_each", "1", "--synth_val_count", "2"]
    same = os.path.join(photos, "..", "photos", ".", "labels.csv")
    assert main(_run(labels, tmp_path / "a", "--val_file", same, *val)) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "is the --train_file" in line]
    assert warned == [
        f"--val_file {os.path.abspath(same)} is the --train_file: validation scores lines the model trains on, so "
        "they flatter it and choose the kept epoch and early stop for nothing; give a separate validation set"
    ]
    shutil.copy(labels, photos / "val.csv")  # the same rows in another file: a choice, not a mistake to warn of
    assert main(_run(labels, tmp_path / "b", "--val_file", photos / "val.csv", *val)) == 0
    assert "is the --train_file" not in capsys.readouterr().err
