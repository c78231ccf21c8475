"""The split into extras: reading needs none of them, and a command that needs a missing one says so in one line.

The CLI runs in a subprocess where the modules of ``[train]`` and ``[serve]`` (and rapidocr) cannot
be imported, as in a fresh ``pip install pwocr``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pwocr.extras import EXTRA_MODULES

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

#: Import names of the distributions the extras list.
MODULE_OF = {
    "torch": "torch",
    "safetensors": "safetensors",
    "onnx": "onnx",
    "tensorboard": "tensorboard",
    "matplotlib": "matplotlib",
    "rich": "rich",
    "fonttools": "fontTools",
    "opencv-python-headless": "cv2",
    "fastapi": "fastapi",
    "fastapi-offline": "fastapi_offline",
    "uvicorn": "uvicorn",
    "python-multipart": "python_multipart",
}
BLOCKED = sorted({m for modules in EXTRA_MODULES.values() for m in modules} | {"rapidocr"})

#: Runs ``pwocr`` with every optional module unimportable (``None`` in ``sys.modules`` stops an import).
RUN_WITHOUT_EXTRAS = (
    "import sys\n"
    f"for name in {BLOCKED!r}: sys.modules[name] = None\n"
    "from pwocr.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def pwocr_without_extras(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_EXTRAS, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def requirement_names(requirements: list[str]) -> set[str]:
    from packaging.requirements import Requirement

    return {Requirement(r).name.lower() for r in requirements}


def test_the_extras_of_pyproject_are_the_modules_pwocr_checks_for():
    extras = PYPROJECT["project"]["optional-dependencies"]
    for extra, modules in EXTRA_MODULES.items():
        assert {MODULE_OF[name] for name in requirement_names(extras[extra])} == set(modules), extra


def test_reading_depends_on_no_extra():
    base = requirement_names(PYPROJECT["project"]["dependencies"])
    assert base == {"numpy", "pillow", "onnxruntime", "pillow-heif"}  # no OpenCV: 180 MB of the install
    assert not base & set(MODULE_OF)


def test_no_dependency_is_pinned_without_a_reason():
    # Bounds, not pins: an exact or capped requirement needs its known break written beside it.
    text = (ROOT / "pyproject.toml").read_text()
    for line in text.splitlines():
        if line.strip().startswith('"') and ("==" in line or "<" in line):
            assert "#" in line, f"a pin or cap without its reason: {line.strip()}"


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["train", "--help"], "train"),
        (["train", "--synth", "1.0", "--steps_per_epoch", "1"], "train"),
        (["export", "--out", "model.onnx"], "train"),
        (["synth", "--count", "1", "--out", "lines"], "train"),
        (["calibrate", "--out", "calibrated.safetensors"], "train"),
        (["serve", "--help"], "serve"),
        (["serve"], "serve"),
    ],
)
def test_a_command_without_its_extra_says_in_one_line_which_to_install(tmp_path, args, extra):
    result = pwocr_without_extras(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"pip install 'pwocr[{extra}]'" in lines[0] and f"pwocr {args[0]}" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing was started


def test_help_lists_every_command_without_the_extras(tmp_path):
    result = pwocr_without_extras("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("recognize", "evaluate", "train", "serve", "export"):
        assert command in result.stdout


def test_a_line_reads_without_the_extras(tmp_path):
    from conftest import draw_line

    draw_line("Xq7!mZ2#", size=40).convert("RGB").save(tmp_path / "line.png")
    result = pwocr_without_extras("recognize", "line.png", "--json", "--layout", "line", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reading = json.loads(result.stdout)
    assert reading["image"] == "line.png" and reading["text"]


def test_a_whole_photo_reads_without_the_extras(tmp_path):
    from pwocr.synth.fonts import fonts_for
    from pwocr.synth.scenes import compose_scene

    scene = compose_scene(np.random.default_rng(7), fonts_for("eval"), kind="wifi_card")
    Image.fromarray(scene.image).save(tmp_path / "card.jpg", quality=92)
    result = pwocr_without_extras("recognize", "card.jpg", "--json", "--layout", "photo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    photo = json.loads(result.stdout)
    assert photo["lines"] and photo["password"]["text"]


#: Reads a whole photo and a line through the API where any attempt to import OpenCV fails and is recorded.
READ_WITHOUT_OPENCV = """
import importlib.abc, json, sys
tried = []
class NoOpenCV(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "cv2" or name.startswith("cv2."):
            tried.append(name)
            raise ImportError("OpenCV is not installed")
sys.meta_path.insert(0, NoOpenCV())
from pwocr import Recognizer, read_image
recognizer = Recognizer()
photo = read_image(recognizer, "card.jpg")
line = recognizer.read("line.png")
print(json.dumps({"password": photo.password.reading.text, "lines": len(photo.lines), "line": line.text, "tried": tried}))
"""


def test_reading_never_imports_opencv(tmp_path):
    from conftest import draw_line

    from pwocr.synth.fonts import fonts_for
    from pwocr.synth.scenes import compose_scene

    scene = compose_scene(np.random.default_rng(7), fonts_for("eval"), kind="wifi_card")
    Image.fromarray(scene.image).save(tmp_path / "card.jpg", quality=92)
    draw_line("Xq7!mZ2#", size=40).convert("RGB").save(tmp_path / "line.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", READ_WITHOUT_OPENCV], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)
    assert read["tried"] == []
    assert read["password"] == scene.password and read["lines"] >= 2
    assert read["line"]


def test_a_video_without_opencv_names_the_train_extra(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"frames that will never be decoded")
    result = pwocr_without_extras("recognize", "--fuse", "clip.mp4", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "clip.mp4: reading a video needs pwocr[train] (cv2 is not installed)" in line
    assert "pip install torch==2.13.0 && pip install 'pwocr[train]'" in line


def test_a_safetensors_checkpoint_never_exported_needs_the_train_extra(tmp_path):
    from conftest import draw_line

    draw_line("abc").save(tmp_path / "line.png")
    tiny = ROOT / "tests" / "fixtures" / "tiny.safetensors"
    env = {"PWOCR_CACHE_DIR": str(tmp_path / "cache")}  # no export of it cached yet
    result = pwocr_without_extras("recognize", "line.png", "--checkpoint_path", str(tiny), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert str(tiny) in result.stderr and "pip install 'pwocr[train]'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["recognize", "line.png", "--backend", "torch"],
        ["recognize", "line.png", "--use_cuda"],
        ["evaluate", "--val_file", "labels.csv", "--display_confusion", "confusion.png"],
    ],
)
def test_a_reading_option_that_needs_torch_says_so_in_one_line(tmp_path, args):
    from conftest import draw_line

    draw_line("abc").save(tmp_path / "line.png")
    (tmp_path / "labels.csv").write_text("filename,label\nline.png,abc\n")
    result = pwocr_without_extras(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pip install 'pwocr[train]'" in result.stderr


def test_the_train_hint_installs_the_readmes_torch_first(tmp_path):
    # Left to resolve alone, pwocr[train] would take the newest torch: a CUDA build of several GB.
    result = pwocr_without_extras("train", cwd=tmp_path)
    assert "pip install torch==2.13.0 && pip install 'pwocr[train]'" in result.stderr
    readme = (ROOT / "README.md").read_text()
    assert 'pip install torch==2.13.0 && pip install -e ".[train' in readme


def test_the_api_names_the_extra_too(tmp_path):
    script = (
        f"import sys\nfor name in {BLOCKED!r}: sys.modules[name] = None\n"
        "try:\n    from pwocr import CRNN\nexcept ImportError as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "pwocr.CRNN needs pwocr[train]" in result.stdout, result.stderr
