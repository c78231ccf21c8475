"""``pwocr calibrate`` refuses and skips what ``train`` and ``evaluate`` refuse and skip, in one line each."""

from pathlib import Path

import pytest
from conftest import TINY_LABELS, draw_line

from pwocr.cli.main import main
from pwocr.data.labels import write_labels
from pwocr.evaluation.calibration import MIN_FIT_LINES, fit_refusal

#: A label that must never reach a message: labels are passwords.
SECRET = "s3cr3t"


def calibration_set(folder: Path, right: int = 12, wrong: int = 12, extra: tuple[tuple[str, str], ...] = ()) -> Path:
    """Lines the tiny model reads right (drawn as labelled) and wrong (drawn as another label), then ``extra`` rows."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(right + wrong):
        label = TINY_LABELS[i % len(TINY_LABELS)]
        shown = label if i < right else TINY_LABELS[(i + 1) % len(TINY_LABELS)]
        draw_line(shown).save(folder / f"line{i:02d}.png")
        rows.append((f"line{i:02d}.png", label))
    write_labels(folder / "labels.csv", [*rows, *extra])
    return folder / "labels.csv"


def calibrate(tiny_checkpoint: Path, tmp_path: Path, *flags: str) -> int:
    return main(
        ["calibrate", "--checkpoint_path", str(tiny_checkpoint), "--out", str(tmp_path / "c.safetensors"), *flags]
    )


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pwocr: error: "), lines
    assert SECRET not in lines[0]
    return lines[0]


def test_the_fit_rule_is_train_s_lines_with_right_and_wrong_readings():
    assert fit_refusal([True, False] * (MIN_FIT_LINES // 2)) is None
    assert f"{MIN_FIT_LINES} or more" in (fit_refusal([True] + [False] * (MIN_FIT_LINES - 2)) or "")
    assert "0 of 30 right" in (fit_refusal([False] * 30) or "")
    assert "30 of 30 right" in (fit_refusal([True] * 30) or "")


@pytest.mark.parametrize(("right", "wrong", "said"), [(1, 0, "1 of 1 right"), (0, 24, "0 of 24 right")])
def test_too_few_lines_or_no_right_reading_is_refused(capsys, tiny_checkpoint, tmp_path, right, wrong, said):
    csv = calibration_set(tmp_path / "set", right, wrong)
    assert calibrate(tiny_checkpoint, tmp_path, "--val_file", str(csv)) == 2
    line = error_line(capsys)
    assert line.startswith(f"pwocr: error: {csv}: temperature not fitted") and said in line
    assert not (tmp_path / "c.safetensors").exists()


def test_a_label_outside_the_model_s_alphabet_is_refused_by_file_and_line(capsys, tiny_checkpoint, tmp_path):
    csv = calibration_set(tmp_path / "set", extra=(("extra.png", SECRET + "é"),))
    draw_line(SECRET).save(tmp_path / "set" / "extra.png")
    assert calibrate(tiny_checkpoint, tmp_path, "--val_file", str(csv)) == 2
    assert error_line(capsys).startswith(f"pwocr: error: {csv}:26: label has character 'é'")


def test_rows_outside_the_images_folder_are_skipped_unless_allowed(capsys, tiny_checkpoint, tmp_path):
    draw_line(TINY_LABELS[0]).save(tmp_path / "outside.png")
    csv = calibration_set(tmp_path / "set", extra=(("../outside.png", TINY_LABELS[0]),))
    assert calibrate(tiny_checkpoint, tmp_path, "--val_file", str(csv)) == 1  # written, but from a subset
    out, err = capsys.readouterr()
    assert (tmp_path / "c.safetensors").is_file()
    assert f"{csv}:26: " in err and "outside" in err and "on 24 lines (1 rows skipped" in out
    assert calibrate(tiny_checkpoint, tmp_path, "--val_file", str(csv), "--allow_outside") == 0
    assert "on 25 lines; wrote" in capsys.readouterr().out


def test_an_unreadable_image_is_skipped_naming_its_csv_line(capsys, tiny_checkpoint, tmp_path):
    csv = calibration_set(tmp_path / "set", extra=(("broken.png", SECRET),))
    (tmp_path / "set" / "broken.png").write_bytes(b"not an image")
    assert calibrate(tiny_checkpoint, tmp_path, "--val_file", str(csv)) == 1
    out, err = capsys.readouterr()
    assert f"{csv}:26: " in err and "broken.png" in err and SECRET not in err
    assert "on 24 lines (1 rows skipped" in out


def test_imgs_folder_without_val_file_is_refused(capsys, tiny_checkpoint, tmp_path):
    assert calibrate(tiny_checkpoint, tmp_path, "--imgs_folder", str(tmp_path), "--count", "30") == 2
    assert error_line(capsys).startswith(f"pwocr: error: --imgs_folder {tmp_path}: give --val_file")


@pytest.mark.parametrize(
    ("command", "out", "said"),
    [
        ("calibrate", "calibrated.onnx", "name the file .safetensors"),
        ("average", "averaged.onnx", "name the file .safetensors"),
        ("export", "model.safetensors", "name the file .onnx"),
        ("export", "models/", "is a folder: name the .onnx file to write"),
    ],
)
def test_an_out_file_in_another_format_or_a_folder_is_refused_before_anything_runs(
    capsys, tiny_checkpoint, tmp_path, command, out, said
):
    """``average --out x.onnx`` wrote safetensors that every reader opens as ONNX; ``export --out dir/`` a file ``dir``."""
    sources = [str(tiny_checkpoint)] * 2 if command == "average" else ["--checkpoint_path", str(tiny_checkpoint)]
    with pytest.raises(SystemExit) as ended:
        main([command, *sources, "--out", f"{tmp_path}/{out}"])
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"argument --out: {tmp_path}/{out}" in err[0] and said in err[0], err
    assert list(tmp_path.iterdir()) == []
