import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_LABELS, draw_line

from pwocr.checkpoints import save_weights
from pwocr.cli.main import main
from pwocr.data.labels import read_labels
from pwocr.model.crnn import CRNN, ModelConfig


@pytest.fixture
def photos(tiny_set, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(tiny_set.parent, folder)
    return folder


def read_predictions(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_recognize_folder_prints_and_writes_prediction_csv(capsys, photos, tiny_checkpoint):
    (photos / "corrupt.png").write_bytes(b"not a png")
    code, out, err = run(capsys, "recognize", "--imgs_folder", photos, "--checkpoint_path", tiny_checkpoint)
    assert code == 1  # done, but a file was skipped
    assert "corrupt.png" in err and "skipped" in err and "Traceback" not in err
    assert "read 6 of 7 images, skipped 1" in err
    assert not (photos / ".prediction.csv.partial").exists()
    assert "raw output: " not in out  # the raw CTC path is for --show_raw
    rows = read_predictions(photos / "prediction.csv")
    assert sorted(r["password"] for r in rows if r["status"] == "ok") == sorted(TINY_LABELS)
    assert {r["img"]: r["status"] for r in rows}["corrupt.png"].startswith("skipped: not an image pwocr reads")
    # The seed's two columns first, then the reading's probability and what happened to the file.
    assert (photos / "prediction.csv").read_text().startswith("img,password,confidence,status\n")


def test_recognize_json_has_candidates_and_chars(capsys, photos, tiny_checkpoint):
    code, out, _ = run(
        capsys, "recognize", photos / "img00.png", "--checkpoint_path", tiny_checkpoint, "--json", "--candidates", "3"
    )
    assert code == 0
    obj = json.loads(out)
    assert obj["text"] == TINY_LABELS[0]
    assert set(obj) == {"image", "text", "raw", "confidence", "candidates", "chars"}
    assert obj["candidates"][0]["text"] == obj["text"] and len(obj["candidates"]) <= 3
    assert [c["char"] for c in obj["chars"]] == list(obj["text"])
    assert all(0 <= c["confidence"] <= 1 for c in obj["chars"])


def test_recognize_with_charset_constraint(capsys, tmp_path, tiny_checkpoint):
    draw_line("77b").save(tmp_path / "x.png")
    code, out, _ = run(
        capsys, "recognize", tmp_path / "x.png", "--checkpoint_path", tiny_checkpoint, "--json", "--charset", "digits"
    )
    assert code == 0 and json.loads(out)["text"].isdigit()


def test_evaluate_json_metrics_and_reports(capsys, photos, tiny_checkpoint, tmp_path):
    code, out, _ = run(
        capsys,
        "evaluate",
        "--imgs_folder",
        photos,
        "--val_file",
        photos / "labels.csv",
        "--checkpoint_path",
        tiny_checkpoint,
        "--json",
        "--display_confusion",
        tmp_path / "c.png",
        "--display_wrong",
        tmp_path / "w.html",
    )
    assert code == 0
    metrics = json.loads(out)
    assert metrics["word_accuracy"] == 1.0 and metrics["char_accuracy"] == 1.0 and metrics["cer"] == 0.0
    assert metrics["n"] == len(TINY_LABELS)
    assert {"precision", "recall", "f1", "top3_word_accuracy", "top5_word_accuracy"} <= set(metrics)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert "0 wrong of 6" in (tmp_path / "w.html").read_text()


@pytest.mark.parametrize("target", ["labels", "checkpoint", "both reports"])
def test_evaluate_reports_never_replace_what_it_reads_or_each_other(capsys, photos, tiny_checkpoint, tmp_path, target):
    import shutil

    checkpoint = shutil.copy(tiny_checkpoint, tmp_path / "model.safetensors")
    labels = shutil.copy(photos / "labels.csv", tmp_path / "labels.csv")
    wrong = {"labels": labels, "checkpoint": checkpoint, "both reports": tmp_path / "same.out"}[target]
    before = {path: Path(path).read_bytes() for path in (labels, checkpoint)}
    code, _, err = run(
        capsys,
        *("evaluate", "--imgs_folder", photos, "--val_file", labels, "--checkpoint_path", checkpoint),
        *("--display_wrong", wrong, "--display_confusion", tmp_path / "same.out"),
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert all(Path(path).read_bytes() == content for path, content in before.items())
    assert not (tmp_path / "same.out").exists()


def test_train_accepts_every_seed_flag(capsys, tiny_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        capsys,
        "train",
        "--epochs_num",
        1,
        "--batch_size",
        4,
        "--use_cuda",
        "True",
        "--test_display",
        2,
        "--n_workers",
        0,
        "--lr",
        0.001,
        "--fixed_seed",
        1,
        "--val_each",
        1,
        "--imgs_folder",
        tiny_set.parent,
        "--train_file",
        tiny_set,
        "--val_file",
        tiny_set,
        "--model",
        "crnn-tiny",
        "--no_progress",
    )
    assert code == 0
    if not torch.cuda.is_available():
        assert "no CUDA GPU is available" in err
    assert " => " in err  # --test_display lines
    assert (tmp_path / "checkpoints" / "best.safetensors").is_file() and (tmp_path / "logs").is_dir()


def test_train_from_weights_file_default_name(capsys, tiny_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        capsys,
        "train",
        "--epochs_num",
        1,
        "--steps",
        1,
        "--n_workers",
        0,
        "--imgs_folder",
        tiny_set.parent,
        "--train_file",
        tiny_set,
        "--weights_file",
        "default",
        "--soup",
        1,
        "--synth",
        0,
        "--no_progress",
    )
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recognize", "--imgs_folder", "{empty}"], "no images found"),
        (["recognize", "{img}", "--checkpoint_path", "{tmp}/none.safetensors"], "checkpoint not found"),
        (["recognize", "{img}", "--checkpoint_path", "{other}"], "another architecture"),
        (["recognize", "{img}", "--checkpoint_path", "{junk}"], "not a"),
        (["recognize", "{tmp}/missing.png"], "no image could be read"),
        (["recognize", "{img}", "--length", "3", "--max_length", "2"], "cannot be combined"),
        (["recognize", "{img}", "--min_length", "3", "--max_length", "2"], "above max_length"),
        (["recognize", "{img}", "--charset", "digitz"], "unknown charset name 'digitz'"),
        (["recognize", "{img}", "--checkpoint_path", "{badmeta}"], "malformed model config"),
        (["evaluate", "--val_file", "{noheader}"], "expected a header row"),
        (["evaluate", "--imgs_folder", "{tmp}", "--val_file", "{onecol}"], "expected 2 columns"),
        (
            ["evaluate", "--val_file", "{accent}"],
            "accent.csv:2: label has character 'é' (character 4 of 4) that is not in",
        ),
        (["train", "--imgs_folder", "{tmp}", "--train_file", "{badchar}", "--alphabet", "digits"], "has character 'x'"),
        (["train", "--imgs_folder", "{tmp}", "--train_file", "{tmp}/none.csv"], "none.csv: file not found"),
        (["train", "--resume", "--out", "{tmp}/nothing"], "nothing to resume"),
    ],
)
def test_bad_input_gets_one_clear_line(capsys, tmp_path, tiny_checkpoint, args, message):
    (tmp_path / "empty").mkdir()
    draw_line("abc").save(tmp_path / "img.png")
    save_weights(CRNN(ModelConfig("abc", "crnn-tiny")), tmp_path / "other.safetensors")
    state = {k: v for k, v in CRNN(ModelConfig("abc", "crnn-small")).state_dict().items()}
    torch.save({"model": state, "model_config": ModelConfig("abc", "crnn-tiny").to_dict()}, tmp_path / "other.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    (tmp_path / "onecol.csv").write_text("filename\nimg.png\n")
    (tmp_path / "badchar.csv").write_text("filename,label\nimg.png,12x\n")
    (tmp_path / "noheader.csv").write_text("img.png,abc\n")
    (tmp_path / "accent.csv").write_text("filename,label\nimg.png,café\n")
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(1, np.float32)}, str(tmp_path / "badmeta.safetensors"), {"pwocr_model_config": "{oops"})
    subs = {
        "{empty}": tmp_path / "empty",
        "{img}": tmp_path / "img.png",
        "{tmp}": tmp_path,
        "{other}": tmp_path / "other.pt",
        "{junk}": tmp_path / "junk.safetensors",
        "{onecol}": tmp_path / "onecol.csv",
        "{badchar}": tmp_path / "badchar.csv",
        "{noheader}": tmp_path / "noheader.csv",
        "{accent}": tmp_path / "accent.csv",
        "{badmeta}": tmp_path / "badmeta.safetensors",
    }
    expanded = []
    for a in args:
        for k, v in subs.items():
            a = a.replace(k, str(v))
        expanded.append(a)
    if "--checkpoint_path" not in expanded and expanded[0] != "train":
        expanded += ["--checkpoint_path", str(tiny_checkpoint)]
    code, _, err = run(capsys, *expanded)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("pwocr: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    if message:
        assert message in lines[0]


def test_console_script_is_installed():
    out = subprocess.run(
        [sys.executable, "-m", "pwocr.cli.main", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert all(c in out for c in ("train", "recognize", "evaluate", "synth", "export"))


@pytest.mark.parametrize(
    "args", [["--candidates", "0"], ["--length", "0"], ["--batch_size", "0"], ["--max_length", "-1"]]
)
def test_nonsense_numbers_are_refused(capsys, args):
    with pytest.raises(SystemExit) as e:
        main(["recognize", "x.png", *args])
    assert e.value.code == 2
    assert "must" in capsys.readouterr().err


def test_recognize_and_evaluate_read_the_same_text(capsys, photos, tiny_checkpoint, tmp_path):
    _, out, _ = run(capsys, "recognize", "--imgs_folder", photos, "--checkpoint_path", tiny_checkpoint, "--json")
    recognized = {json.loads(line)["image"]: json.loads(line)["text"] for line in out.splitlines()}
    from pwocr.evaluation.evaluate import evaluate
    from pwocr.inference.recognizer import Recognizer

    items = read_labels(photos / "labels.csv")
    report = evaluate(Recognizer(tiny_checkpoint), items, top_k=(1, 5))
    assert {r.image: r.text for r in report.readings} == recognized


def test_version_and_help_import_no_torch():
    code = "import sys; from pwocr.cli.main import main; main(['--version'])"
    done = subprocess.run([sys.executable, "-c", code + "\n"], capture_output=True, text=True)
    assert done.stdout.startswith("pwocr ")
    check = "import sys, runpy; sys.argv = ['pwocr', '--help']\ntry:\n    runpy.run_module('pwocr.cli.main', run_name='__main__')\nexcept SystemExit:\n    pass\nassert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", check], check=True, capture_output=True)


def test_a_bomb_in_a_folder_is_skipped_and_the_rest_is_read(capsys, photos, tiny_checkpoint, monkeypatch):
    from PIL import Image

    from pwocr.data import images

    Image.new("L", (4000, 3000), 255).save(photos / "zz_bomb.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 5_000_000)
    code, _, err = run(capsys, "recognize", "--imgs_folder", photos, "--checkpoint_path", tiny_checkpoint)
    assert code == 1
    assert "zz_bomb.png: 4000x3000 is 12 MP, more than the 5 MP pwocr decodes; skipped" in err
    rows = read_predictions(photos / "prediction.csv")
    assert [r["status"] for r in rows].count("ok") == len(TINY_LABELS)
    assert rows[-1]["img"] == "zz_bomb.png" and rows[-1]["status"].startswith("skipped: 4000x3000 is 12 MP")


def test_every_command_and_flag_is_described_with_examples_and_fits_100_columns(monkeypatch):
    import argparse

    from pwocr.cli.main import build_parser

    monkeypatch.setenv("COLUMNS", "100")
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) >= {"recognize", "evaluate", "train", "synth", "split", "calibrate", "export", "serve"}
    for name, command in [("pwocr", parser), *commands.choices.items()]:
        assert command.description, name
        assert "examples:\n  pwocr " in command.epilog, name
        for action in command._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{name} {action.option_strings}"
        text = command.format_help()
        assert max(map(len, text.splitlines())) <= 100, name
        assert "(default: None)" not in text and "(default: SUPPRESS" not in text, name
    recognize = commands.choices["recognize"].format_help()
    assert "--n_workers" not in recognize and "--lr" not in recognize  # only its own flags


def _jpeg_claiming(width, height):
    """A real JPEG whose frame header is patched to claim ``width x height`` (Pillow cannot write such a file)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("layout", ["auto", "photo", "line"])
def test_slivers_get_a_row_and_the_folder_run_goes_on(capsys, photos, tiny_checkpoint, layout):
    from PIL import Image

    (photos / "a_tall.jpg").write_bytes(_jpeg_claiming(1, 65535))
    Image.new("L", (1, 50000), 255).save(photos / "b_tall.png")
    Image.new("L", (50000, 1), 255).save(photos / "c_wide.png")
    code, _, err = run(
        capsys, "recognize", "--imgs_folder", photos, "--layout", layout, "--checkpoint_path", tiny_checkpoint
    )
    assert code == 1 and "Traceback" not in err
    rows = {r["img"]: r for r in read_predictions(photos / "prediction.csv")}
    for name, size in (("a_tall.jpg", "1x65535"), ("b_tall.png", "1x50000"), ("c_wide.png", "50000x1")):
        assert rows[name]["status"] == f"skipped: {size} is a sliver, not a photo or a text line (over 1000:1)"
    assert sum(r["status"].startswith("ok") for r in rows.values()) == len(TINY_LABELS)


def test_evaluate_says_which_rows_it_skipped_and_exits_1(capsys, photos, tiny_checkpoint, tmp_path):
    import os

    (photos / "sub").mkdir()
    (tmp_path / "secret.png").write_bytes((photos / "img00.png").read_bytes())  # a readable image outside
    rows = (photos / "labels.csv").read_text().splitlines()
    rows += [
        "missing.png,abc",  # line 8
        "sub,abc",  # a folder
        "../secret.png,abc",  # outside the images folder
        f"{tmp_path / 'secret.png'},abc",  # absolute, outside too
        f"{rows[1]}",  # img00.png again, with the same label
        "img01.png,other",  # img01.png with a second label
    ]
    if os.path.exists("/etc/hostname"):
        rows.append("/etc/hostname,abc")  # a system file
    (photos / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["evaluate", "--val_file", photos / "labels.csv", "--checkpoint_path", tiny_checkpoint]
    code, out, err = run(capsys, *args, "--json")
    report = json.loads(out)
    skipped = {row["row"].rsplit(":", 1)[1]: row["reason"] for row in report["skipped_rows"]}
    assert code == 1 and report["n"] == len(TINY_LABELS) and report["skipped"] == len(rows) - 1 - len(TINY_LABELS)
    assert "missing.png: file not found" in skipped["8"]
    assert "sub: is a folder" in skipped["9"]
    assert "is outside" in skipped["10"] and "is outside" in skipped["11"]
    assert "named again (line 2 has the same label" in skipped["12"]
    assert "named again (line 3 has another label" in skipped["13"]
    assert all(f":{line}: " in err for line in skipped) and "Traceback" not in err
    code, out, _ = run(capsys, *args, "--allow_outside")
    # secret.png read once: its second name is the same file
    assert code == 1 and f"images                 {len(TINY_LABELS) + 1} of" in out


def test_messages_name_the_file_and_the_real_problem(capsys, photos, tiny_checkpoint, tmp_path, tiny_run, monkeypatch):
    import warnings

    from pwocr.checkpoints import read_config

    (tmp_path / "run").mkdir()
    shutil.copy(tiny_checkpoint, tmp_path / "run" / "best.safetensors")
    code, _, err = run(capsys, "recognize", photos / "img00.png", "--checkpoint_path", tmp_path / "run")
    assert code == 2 and err == (
        f"pwocr: error: {tmp_path / 'run'}: is a folder, not a checkpoint (a .safetensors, .pt or .onnx file); "
        f"did you mean {tmp_path / 'run' / 'best.safetensors'}?\n"
    )
    args = ["recognize", photos / "img00.png", "--checkpoint_path", tiny_checkpoint, "--alphabet", "literal:abcé"]
    code, _, err = run(capsys, *args)
    assert code == 2 and f"which the alphabet of {tiny_checkpoint} does not have" in err
    # train --weights_file last.pt: a training checkpoint's config is read as a .pt, not as safetensors
    assert read_config(tiny_run / "checkpoints" / "last.pt").alphabet
    # a library's warning is one line, not two lines of its source
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after the test
    code, _, _ = run(capsys, "recognize", photos / "img00.png", "--checkpoint_path", tiny_checkpoint)
    warnings.warn("something deep inside torch\n  and its second line", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "pwocr: warning: something deep inside torch\n"
