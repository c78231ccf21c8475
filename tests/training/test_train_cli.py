"""``pwocr train`` checks every flag and label before any work: one line on stderr, exit code 2."""

import json

import pytest
from conftest import make_labelled_folder

from pwocr.cli.main import main


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pwocr: error: "), err
    return err


def test_no_data_arguments_explains_instead_of_training(capsys, tmp_path):
    err = _error(capsys, ["train", "--out", str(tmp_path / "c")])
    assert "nothing to train on" in err and "--train_file" in err and "--synth 1.0" in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch_size", "0"], "--batch_size 0: must be at least 1"),
        (["--lr", "-1"], "--lr -1.0: the learning rate must be a positive number"),
        (["--lr", "nan"], "--lr nan"),
        (["--epochs_num", "0"], "--epochs_num 0: must be at least 1"),
        (["--val_each", "-1"], "--val_each -1: must be 0 or more"),
        (["--synth", "2"], "--synth 2.0: the synthetic share must be between 0 and 1"),
        (["--keep_last", "0"], "--keep_last 0: must be at least 1"),
        (["--nproc", "0"], "--nproc 0: must be at least 1"),
        (["--alphabet", "digit"], "--alphabet 'digit': unknown charset name"),
        (["--weights_file", "nope.safetensors"], "--weights_file: nope.safetensors: checkpoint not found"),
        (["--fonts", "bundled:nofonts"], "--fonts bundled:nofonts: nofonts is not a folder"),
        (["--synth_min_length", "9", "--synth_max_length", "8"], "longer than --synth_max_length 8"),
    ],
)
def test_bad_flags_are_one_line_errors(capsys, tiny_set, tmp_path, flags, message):
    base = ["train", "--train_file", str(tiny_set), "--out", str(tmp_path / "c"), "--logs", str(tmp_path / "l")]
    assert message in _error(capsys, base + flags)
    assert not (tmp_path / "c").exists()


def test_label_with_a_space_after_the_comma_names_file_and_line(capsys, tiny_checkpoint, tmp_path):
    csv = make_labelled_folder(tmp_path / "d", ["abc", "abd"])
    csv.write_text(csv.read_text().replace("img01.png,abd", "img01.png, abd"))
    err = _error(
        capsys,
        ["train", "--train_file", str(csv), "--weights_file", str(tiny_checkpoint), "--out", str(tmp_path / "c")],
    )
    assert f"{csv}:3: label has character ' ' (character 1 of 4)" in err and "abd" not in err
    assert "a space after the comma" in err and "--extend_alphabet" in err


def test_label_outside_an_explicit_alphabet(capsys, tmp_path):
    csv = make_labelled_folder(tmp_path / "d", ["123", "12x"])
    err = _error(capsys, ["train", "--train_file", str(csv), "--alphabet", "digits", "--out", str(tmp_path / "c")])
    assert f"{csv}:3: label has character 'x' (character 3 of 3) that is not in --alphabet 'digits'" in err
    assert "12x" not in err  # a label is a password: its place is named, never its text


def test_resume_of_nothing(capsys, tmp_path):
    assert "nothing to resume" in _error(capsys, ["train", "--resume", "--out", str(tmp_path)])


def _train_args(folder, out, *more):
    """A tiny CPU run of two steps on the tiny set, with relative paths when ``folder`` is relative."""
    args = [
        "train",
        "--imgs_folder",
        folder,
        "--train_file",
        f"{folder}/labels.csv",
        "--model",
        "crnn-tiny",
        "--alphabet",
        "printable",
        "--epochs_num",
        "1",
        "--steps_per_epoch",
        "2",
        "--batch_size",
        "2",
        "--n_workers",
        "0",
        "--no_calibrate",
        "--no_progress",
        "--out",
        out,
        "--logs",
        f"{out}-logs",
        *more,
    ]
    return [str(a) for a in args]


def test_resume_from_another_directory_finds_the_run_s_files(capsys, tiny_set, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(tiny_set.parent, tmp_path / "work" / "photos")
    monkeypatch.chdir(tmp_path / "work")
    assert main(_train_args("photos", "run")) == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code = main(["train", "--resume", "--out", str(tmp_path / "work" / "run"), "--epochs_num", "2", "--no_progress"])
    err = capsys.readouterr().err
    assert code == 0 and "label file not found" not in err, err


def test_resume_names_a_setting_it_cannot_change_rather_than_a_missing_companion(capsys, tiny_set, tmp_path):
    assert main(_train_args(tiny_set.parent, tmp_path / "run")) == 0
    capsys.readouterr()
    err = _error(capsys, ["train", "--resume", "--out", str(tmp_path / "run"), "--synth_word_share", "0.5"])
    assert "--resume continues the run" in err and "start a new run" in err and "--synth_words FILE" not in err


def test_train_counts_skipped_rows_and_strict_refuses_them(capsys, tiny_set, tmp_path):
    import shutil

    photos = shutil.copytree(tiny_set.parent, tmp_path / "photos")
    with (photos / "labels.csv").open("a") as f:
        f.write("missing.png,abc\n../outside.png,abc\nimg00.png,abc\n")
    assert main(_train_args(photos, tmp_path / "run")) == 0
    err = capsys.readouterr().err
    assert "labels.csv:9: " in err and "is outside" in err and "labels.csv:10: " in err and "named again" in err
    assert "missing.png: file not found; skipped" in err
    assert f"{photos / 'labels.csv'}: 2 of 9 rows skipped" in err and "1 of 7 rows skipped" in err
    assert main(_train_args(photos, tmp_path / "strict", "--strict")) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "error" in line] == [
        f"pwocr: error: {photos / 'labels.csv'}: 2 of 9 rows skipped (listed above); --strict trains on every row or none"
    ]


def test_a_full_disk_during_training_is_one_line_and_leaves_the_last_checkpoint(
    capsys, tiny_set, tmp_path, monkeypatch
):
    import safetensors.torch
    from safetensors import SafetensorError

    assert main(_train_args(tiny_set.parent, tmp_path / "run")) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}

    def full(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\0" * 100)  # part of the file got out before the disk filled
        message = (
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'
        )
        raise SafetensorError(message)

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    capsys.readouterr()
    code = main(_train_args(tiny_set.parent, tmp_path / "run", "--epochs_num", "1"))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"pwocr: error: {tmp_path / 'run'}/") and last.endswith(
        ".safetensors: cannot write (No space left on device); the previous file is intact"
    )
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before


def test_a_run_says_in_its_summary_whether_it_kept_its_labels_formats(tiny_set, tmp_path):
    labels = ["ab1", "cd2", "ef3", "gh4", "ij5", "kl6", "12x", "34y", "56z", "78w", "90v", "!Zz"]
    csv = make_labelled_folder(tmp_path / "patterned", labels)
    val = ["--val_file", csv, "--val_each", "1", "--synth_val_count", "4"]
    assert main(_train_args(csv.parent, tmp_path / "run", *val)) == 0
    formats = json.loads((tmp_path / "run" / "summary.json").read_text())["formats"]
    assert formats["shapes"] == 2 and formats["labels_covered"] == pytest.approx(11 / 12, abs=1e-4)
    assert set(formats["exact_readings"]["real"]) == {"without", "with", "of"}
    assert main(_train_args(csv.parent, tmp_path / "off", *val, "--no_format_prior")) == 0
    assert json.loads((tmp_path / "off" / "summary.json").read_text())["formats"] is None


def test_resume_may_change_what_the_run_s_end_fits(capsys, tiny_set, tmp_path):
    assert main(_train_args(tiny_set.parent, tmp_path / "run")) == 0
    resumed = ["train", "--resume", "--out", str(tmp_path / "run"), "--epochs_num", "2", "--no_progress"]
    assert main([*resumed, "--no_format_prior"]) == 0, capsys.readouterr().err
