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
from web_site import chromium, site, static_server

from pwocr.synth.render import SynthConfig, render_set

__all__ = ["chromium", "site"]  # fixtures

LINES = 60
TOLERANCE = 1e-3

#: Reads files with the site's own worker, one at a time, and returns their readings (the JSON of recognize --json).
READ_IN_WORKER = """async (images) => {
  const worker = new Worker("reader/worker.js", { type: "module" });
  const read = (name, bytes) => new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.type === "reading") resolve(data.reading);
      else if (data.type === "error") reject(new Error(data.message));
    };
    worker.postMessage({ type: "read", id: name, file: new File([bytes], name, { type: "image/png" }) });
  });
  const out = [];
  for (const [name, b64] of images) out.push(await read(name, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  worker.terminate();
  return out;
}"""


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


def _recognize(paths: list[Path]) -> list[dict]:
    command = [sys.executable, "-m", "pwocr.cli.main", "recognize", "--layout", "line", "--json", *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_the_page_reads_every_line_as_pwocr_recognize_does(site, chromium, lines, tmp_path):
    expected = _recognize(lines)
    images = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in lines]
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(READ_IN_WORKER, images)
        page.close()
    assert len(got) == len(expected) == LINES
    for python, js in zip(expected, got):
        assert js["text"] == python["text"], python["image"]
        assert js["raw"] == python["raw"], python["image"]
        assert abs(js["confidence"] - python["confidence"]) <= TOLERANCE, python["image"]
        assert [c["char"] for c in js["chars"]] == [c["char"] for c in python["chars"]]
        for a, b in zip(js["chars"], python["chars"]):
            assert abs(a["confidence"] - b["confidence"]) <= TOLERANCE, python["image"]
            assert a["confusable"] == b["confusable"], python["image"]
