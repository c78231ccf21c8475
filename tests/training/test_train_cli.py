"""``pwocr train`` checks every flag and label before any work: one line on stderr, exit code 2."""

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
    assert f"{csv}:3: label ' abd' has character ' '" in err
    assert "a space after the comma" in err and "--extend_alphabet" in err


def test_label_outside_an_explicit_alphabet(capsys, tmp_path):
    csv = make_labelled_folder(tmp_path / "d", ["123", "12x"])
    err = _error(capsys, ["train", "--train_file", str(csv), "--alphabet", "digits", "--out", str(tmp_path / "c")])
    assert f"{csv}:3: label '12x' has character 'x' that is not in --alphabet 'digits'" in err


def test_resume_of_nothing(capsys, tmp_path):
    assert "nothing to resume" in _error(capsys, ["train", "--resume", "--out", str(tmp_path)])
