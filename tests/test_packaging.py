"""What the wheel ships: what reading and the web page open, and not the training fonts or fp16 weights."""

from __future__ import annotations

import hashlib
import subprocess
import tomllib
from pathlib import Path

import pytest

from pwocr.errors import PwocrError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pwocr"


def shipped_files() -> set[Path]:
    """The package files the wheel's package-data patterns select (setuptools reads them as globs)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pwocr"]
    return {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}


def test_the_wheel_ships_what_reading_and_the_page_open():
    from pwocr.rapidocr_models import ANGLE_FILE, DETECTOR_FILE, HEAD_FILE, RECOGNIZER_FILE, rapidocr_model_path
    from pwocr.synth.fonts import display_font

    shipped = shipped_files()
    needed = [
        PACKAGE / "weights" / "default.onnx",
        rapidocr_model_path(DETECTOR_FILE),
        rapidocr_model_path(ANGLE_FILE),
        rapidocr_model_path(RECOGNIZER_FILE),
        rapidocr_model_path(HEAD_FILE),
        PACKAGE / "weights" / "ppocrv6" / "LICENSE",
        PACKAGE / "weights" / "ppocrv6" / "MODIFICATIONS.md",
        display_font(),
        PACKAGE / "fonts" / "licenses" / "fonts-dejavu-core.txt",
        PACKAGE / "fonts" / "fonts.json",
        PACKAGE / "fonts" / "held_out.json",
        *(p for p in (PACKAGE / "serving" / "static").rglob("*") if p.is_file()),
        PACKAGE / "py.typed",
    ]
    assert [p for p in needed if p not in shipped] == []


def test_the_wheel_leaves_the_training_files_in_the_source_tree():
    shipped = shipped_files()
    assert PACKAGE / "weights" / "default.safetensors" not in shipped
    fonts = {p.name for p in shipped if p.suffix in {".ttf", ".otf"}}
    assert fonts == {"DejaVuSansMono.ttf"}


@pytest.mark.parametrize(
    "name",
    [
        "PP-OCRv6_det_small.onnx",
        "PP-OCRv6_rec_small.onnx",
        "PP-OCRv6_rec_head.onnx",
        "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    ],
)
def test_the_ppocrv6_files_are_the_pinned_ones(name):
    """rapidocr 3.10's files, the detector and recognizer with float16-stored weights, and the
    recognizer's CTC layer cut from it (derived as tests/test_rapidocr_models.py checks)."""
    from pwocr.rapidocr_models import SHA256, rapidocr_model_path

    assert hashlib.sha256(rapidocr_model_path(name).read_bytes()).hexdigest() == SHA256[name]


def repository_files() -> set[Path]:
    """The files git tracks here (none outside a clone), and every file under the package's weights."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        listed = b""
    tracked = {ROOT / name for name in listed.decode().split("\0") if name}
    return {p for p in tracked | set((PACKAGE / "weights").rglob("*")) if p.is_file()}


def test_no_file_is_over_20_mb():
    """A project rule: a weight file over 20 MB is split or stored smaller (as the PP-OCRv6 recognizer is)."""
    sizes = {p.relative_to(ROOT).as_posix(): p.stat().st_size for p in repository_files()}
    assert "src/pwocr/weights/ppocrv6/PP-OCRv6_rec_small.onnx" in sizes
    assert {name: size for name, size in sizes.items() if size >= 20_000_000} == {}


def test_without_the_fp16_weights_the_shipped_model_reads_from_its_onnx_graph(tmp_path, monkeypatch):
    import pwocr.checkpoints as checkpoints

    (tmp_path / "default.onnx").write_bytes(b"graph")
    monkeypatch.setattr(checkpoints, "default_weights_path", lambda: tmp_path / "default.safetensors")
    assert checkpoints.resolve_checkpoint("default") == tmp_path / "default.onnx"
    with pytest.raises(PwocrError, match=r"not an ONNX graph \(the shipped model's weights ship with pwocr's source"):
        checkpoints.load_state("default")


def test_without_the_training_fonts_synthesis_says_where_they_are(monkeypatch):
    import dataclasses

    from pwocr.synth import fonts

    missing = tuple(dataclasses.replace(f, path=Path("/nowhere") / f.path.name) for f in fonts.bundled_fonts())
    monkeypatch.setattr(fonts, "bundled_fonts", lambda: missing)
    with pytest.raises(PwocrError, match=r"ship with pwocr's source, not its wheel.*--fonts FOLDER"):
        fonts.fonts_for("train")
