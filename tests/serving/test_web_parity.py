"""One truth: the page's reader (JavaScript over onnxruntime-web, in headless chromium) reads as ``pwocr recognize`` does.

Sixty rendered lines (colour and gray PNGs, shorter and taller than the model's 48 pixels, so both
of OpenCV's resizers and both colour paths are crossed) are read by the exported site's worker and
by the CLI; the texts must be equal and every confidence within 1e-3.
"""

import base64
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from web_site import READ_IN_WORKER, chromium, site, static_server

from pwocr.synth.render import SynthConfig, render_set

__all__ = ["chromium", "site"]  # fixtures

LINES = 60
TOLERANCE = 1e-3


def _resized(image: np.ndarray, height: int) -> np.ndarray:
    width = max(8, round(image.shape[1] * height / image.shape[0]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> list[Path]:
    """Rendered lines at several heights: a third below 48 px (INTER_LINEAR), one in ten at exactly 96 (2x area), gray PNGs too."""
    folder = tmp_path_factory.mktemp("lines")
    rendered = render_set(LINES, seed=18, split="eval", config=SynthConfig(colour=True))
    paths = []
    for i, (image, _) in enumerate(rendered):
        if i % 3 == 0:
            image = _resized(image, 24 + i % 20)
        elif i % 10 == 1:
            image = _resized(image, 96)
        if i % 5 == 2:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # saved as a gray PNG: read as gray, as Pillow does
        path = folder / f"line{i:02d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def _recognize(paths: list[Path], flags: list[str]) -> list[dict]:
    command = [
        sys.executable,
        "-m",
        "pwocr.cli.main",
        "recognize",
        "--layout",
        "line",
        "--json",
        *flags,
        *map(str, paths),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr  # 1: a line with no reading that fits --length
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _read_in_page(site: Path, chromium, paths: list[Path], options: dict, log: Path) -> list[dict]:
    images = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in paths]
    with static_server(site, log) as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(READ_IN_WORKER, [images, options])
        page.close()
    return got


def _assert_same(python: dict, js: dict) -> None:
    name = python["image"]
    assert js["text"] == python["text"], name
    assert js["raw"] == python["raw"], name
    assert abs(js["confidence"] - python["confidence"]) <= TOLERANCE, name
    assert [c["text"] for c in js["candidates"]] == [c["text"] for c in python["candidates"]], name
    for a, b in zip(js["candidates"], python["candidates"]):
        assert abs(a["confidence"] - b["confidence"]) <= TOLERANCE, name
    assert [c["char"] for c in js["chars"]] == [c["char"] for c in python["chars"]], name
    for a, b in zip(js["chars"], python["chars"]):
        assert abs(a["confidence"] - b["confidence"]) <= TOLERANCE, name
        assert a["confusable"] == b["confusable"], name
        assert [x["char"] for x in a["lookalikes"]] == [x["char"] for x in b["lookalikes"]], name


def test_the_page_reads_every_line_as_pwocr_recognize_does(site, chromium, lines, tmp_path):
    expected = _recognize(lines, [])
    got = _read_in_page(site, chromium, lines, {}, tmp_path / "http.log")
    assert len(got) == len(expected) == LINES
    for python, js in zip(expected, got):
        _assert_same(python, js)


@pytest.mark.parametrize(
    ("flags", "options"),
    [
        (["--candidates", "4"], {"candidates": "4"}),
        (["--candidates", "8"], {"candidates": "8"}),
        (["--candidates", "3", "--charset", "alnum"], {"candidates": "3", "charset": "alnum"}),
        (
            ["--charset", "digits+punctuation", "--min_length", "4"],
            {"charset": "digits+punctuation", "min_length": "4"},
        ),
        (["--length", "9"], {"length": "9"}),
    ],
)
def test_candidates_and_constraints_agree_with_pwocr_recognize(site, chromium, lines, tmp_path, flags, options):
    subset = lines[:15]
    expected = _recognize(subset, flags)
    got = _read_in_page(site, chromium, subset, options, tmp_path / "http.log")
    for python, js in zip(expected, got, strict=True):
        _assert_same(python, js)


FUSE_IN_WORKER = """async ([groups, options]) => {
  const worker = new Worker("reader/worker.js", { type: "module" });
  const fuse = (files) => new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.type === "reading") resolve(data.reading);
      else if (data.type === "error") reject(new Error(data.message));
    };
    worker.postMessage({ type: "fuse", id: 0, files, options });
  });
  const out = [];
  for (const group of groups) {
    const files = group.map(([name, b64]) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: "image/png" }));
    out.push(await fuse(files));
  }
  worker.terminate();
  return out;
}"""


@pytest.mark.parametrize(("flags", "options"), [([], {}), (["--candidates", "3"], {"candidates": "3"})])
def test_fused_frames_agree_with_pwocr_recognize_fuse(site, chromium, tmp_path, flags, options):
    from pwocr.synth.frames import jittered_frames

    rng = np.random.default_rng(18)
    groups = []
    for i, (image, _) in enumerate(render_set(4, seed=81, split="eval", config=SynthConfig(colour=True))):
        paths = []
        for j, frame in enumerate(jittered_frames(image, 4, rng)):
            paths.append(tmp_path / f"p{i}f{j}.png")
            Image.fromarray(frame).save(paths[-1])
        groups.append(paths)
    expected = [_recognize(paths, ["--fuse", *flags])[0] for paths in groups]
    encoded = [[[p.name, base64.b64encode(p.read_bytes()).decode()] for p in paths] for paths in groups]
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(FUSE_IN_WORKER, [encoded, options])
        page.close()
    for python, js in zip(expected, got, strict=True):
        assert js["image"] == python["image"].rsplit("/", 1)[-1]
        _assert_same(python, js)
