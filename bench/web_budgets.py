"""The in-page reader's budgets in headless chromium, per model variant (fp32, fp16-stored weights, int8), beside Python.

For each variant the site is exported, served by ``python -m http.server`` (a static host, no
compression), and opened in a fresh headless chromium:

- first visit: the bytes the static server sent (raw, and gzip-compressed as a static host that
  compresses would send them), until the line reader is loaded, the whole-photo reader's files
  (fetched in the background once the line reader is ready) are here and the service worker has the site;
- second visit (a reload): the bytes of models and WebAssembly sent again (the budget is 0);
- line latency: the median wall time from handing a line to the worker to its reading, over
  rendered lines, on the first visit (one thread: a static host is not cross-origin isolated)
  and the second (the service worker adds the isolation headers: several threads); Python's
  ``Recognizer.read`` on the same files beside it, one thread and default threads;
- a whole photo (``--photos``, composed scenes of about 1280 x 960): the bytes the first one
  fetches from the server (none: the first visit fetched the whole-photo reader), the wall time of
  the first (the reader loaded from the service worker's copy) and of the next ones, and whether the page's answer is ``pwocr recognize``'s (password,
  line texts, largest confidence difference); Python's ``read_image`` on the same files beside it;
- a 12 MP photo and memory: the page, opened in a new tab (one thread: not isolated) and then
  reloaded (isolated by the service worker's headers: two threads), each time with its one worker,
  the line reader loaded and the whole-photo reader's files fetched (this photo builds its
  sessions), is handed a 12 MP photo through its file input (a line stretched to
  4000 x 3000: decoded whole, sent through the detector, which finds one line in it, and read as
  that line): the wall time until the result shows, the tab's renderer process (PSS, from /proc)
  before and after, and the browser's own ``measureUserAgentSpecificMemory`` where isolated;
- parity: readings equal to Python's fp32 reading, and the largest confidence difference.

    python bench/web_budgets.py --out bench/results/web_budgets.json
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from pwocr.inference.engine import OnnxEngine
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.serving.webapp import WebApp, onnxruntime_web
from pwocr.synth.render import SynthConfig, render_set
from pwocr.synth.scenes import compose_scenes

#: The composed whole photos' seed: far from every seed training and the other benchmarks use.
PHOTO_SEED = 20261204

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

READ_ALL = """async (images) => {
  const worker = new Worker("reader/worker.js", { type: "module" });
  const ask = (message) => new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.type === "reading" || data.type === "ready") resolve(data);
      else if (data.type === "error") reject(new Error(data.message));
    };
    worker.postMessage(message);
  });
  const ready = await ask({ type: "load" });
  // The whole-photo reader's files are fetched in the background after "ready": the timed lines wait for them,
  // as on a page at rest.
  if (ready.photos) {
    await new Promise((resolve) => {
      worker.onmessage = ({ data }) => (data.type === "photo-ready" || data.type === "photo-unavailable") && resolve();
    });
  }
  const out = [];
  for (const [name, b64] of images) {
    const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: "image/png" });
    const started = performance.now();
    const answer = await ask({ type: "read", id: name, file });
    out.push({ ms: performance.now() - started, reading: answer.reading, timings: answer.timings });
  }
  self.benchWorker = worker;
  return { threads: ready.threads, isolated: self.crossOriginIsolated, lines: out };
}"""

READ_PHOTOS = """async (images) => {
  const worker = self.benchWorker;
  const out = [];
  for (const [name, b64] of images) {
    const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: "image/png" });
    const started = performance.now();
    const answer = await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.type === "reading") resolve(data);
        else if (data.type === "error") reject(new Error(data.message));
      };
      worker.postMessage({ type: "read", id: name, file });
    });
    out.push({ ms: performance.now() - started, reading: answer.reading, timings: answer.timings });
  }
  return out;
}"""

MEASURED_MEMORY = """async () => {
  if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
  return (await performance.measureUserAgentSpecificMemory()).bytes;
}"""


# ---------------------------------------------------------------- model variants


def int8_dynamic(source: Path, target: Path) -> None:
    """onnxruntime's dynamic int8 quantisation (weights int8, activations quantised per call), metadata kept."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    quantised = onnx.load(str(target))
    original = onnx.load(str(source))
    del quantised.metadata_props[:]
    quantised.metadata_props.extend(original.metadata_props)
    onnx.save(quantised, str(target))


# ---------------------------------------------------------------- measurements


@contextmanager
def static_server(folder: Path, log: Path) -> Iterator[str]:
    """``python -m http.server`` over ``folder`` (a static host, no compression), its requests logged to ``log``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "w") as sink:
        command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(folder), str(port)]
        server = subprocess.Popen(command, stdout=sink, stderr=sink)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/site.json", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=10)


def served_bytes(log: Path, site: Path, start: int = 0) -> tuple[int, int, list[str]]:
    """Raw and gzip bytes of the 200 responses http.server logged from line ``start``, and their paths."""
    raw = packed = 0
    paths = []
    for line in log.read_text().splitlines()[start:]:
        m = re.search(r'"GET (\S+) HTTP/[\d.]+" 200', line)
        if not m:
            continue
        path = m.group(1).split("?")[0].lstrip("/") or "index.html"
        data = (site / path).read_bytes()
        raw += len(data)
        packed += len(gzip.compress(data, 6))
        paths.append(path)
    return raw, packed, paths


def renderer_pss_mb() -> list[float]:
    """PSS of each chromium renderer process, in MB, largest first (the bench's chromium is the only one running).

    The largest is the tab's, where its worker reads; the others are the service worker's and, after a
    reload that changed process, the old page's until chromium lets it go.
    """
    sizes = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"chrom" not in cmdline or b"--type=renderer" not in cmdline:
                continue
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        sizes.append(int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1)) / 1024)
    return sorted(sizes, reverse=True)


def read_big_photo(page, photo: Path) -> dict:
    """The page, once its line reader is loaded and the whole-photo files fetched, handed ``photo`` through its
    file input: wall time until the result shows, and the tab's memory before and after (its renderer's PSS; the
    browser's own count where isolated)."""
    page.wait_for_selector("body[data-reader=ready]", timeout=300_000)
    page.wait_for_selector("body[data-photos=ready]", timeout=300_000)
    before = renderer_pss_mb()
    started = time.perf_counter()
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#result:not([hidden])", timeout=300_000)
    ms = (time.perf_counter() - started) * 1000
    after = renderer_pss_mb()
    measured = page.evaluate(MEASURED_MEMORY)
    return {
        "isolated": page.evaluate("self.crossOriginIsolated"),
        "read_ms": round(ms),
        "tab_renderer_pss_mb": {"before": round(before[0]), "after": round(after[0])},
        "other_renderers_pss_mb_after": [round(x) for x in after[1:]],
        "browser_measured_memory_mb": round(measured / 1e6) if measured else None,
    }


def python_latency(model: Path, files: list[Path], threads: int | None) -> float:
    recognizer = Recognizer(model, threads=threads)
    recognizer.read(files[0])
    times = []
    for path in files:
        started = time.perf_counter()
        recognizer.read(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def python_photos(files: list[Path]) -> tuple[list[dict], float]:
    """``pwocr recognize``'s answers for the photos (``read_image``, one warm-up call first) and its median seconds."""
    from pwocr.reader import read_image

    recognizer = Recognizer()
    read_image(recognizer, files[0])
    answers, times = [], []
    for path in files:
        started = time.perf_counter()
        answers.append(read_image(recognizer, path).as_dict())
        times.append(time.perf_counter() - started)
    return answers, statistics.median(times)


def photo_parity(got: list[dict], expected: list[dict]) -> dict:
    """How the page's whole-photo answers compare with Python's."""
    worst = 0.0
    same_lines = 0
    for js, python in zip(got, expected):
        texts = [line["text"] for line in js["lines"]]
        same_lines += texts == [line["text"] for line in python["lines"]]
        if texts == [line["text"] for line in python["lines"]]:
            worst = max(
                [worst, *(abs(a["confidence"] - b["confidence"]) for a, b in zip(js["lines"], python["lines"]))]
            )
    picks = sum(
        (js["password"] or {}).get("text") == (py["password"] or {}).get("text") for js, py in zip(got, expected)
    )
    return {
        "same_password": f"{picks}/{len(expected)}",
        "same_line_texts": f"{same_lines}/{len(expected)}",
        "max_line_confidence_diff": round(worst, 6),
    }


def measure_variant(
    name: str,
    graph: Path,
    runtime: Path,
    files: list[Path],
    big: bytes,
    expected: list[dict],
    photos: list[Path] | None = None,
    photo_answers: list[dict] | None = None,
) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix=f"pwocr-web-{name}-") as tmp:
        site = Path(tmp) / "site"
        app = WebApp(OnnxEngine(graph), runtime, half_weights=name == "fp16")
        sent_graph_bytes = app.graph.stat().st_size
        for path, source in app.files.items():
            atomic_write(site / path, source if isinstance(source, bytes) else source.read_bytes())
        images = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in files]
        log = Path(tmp) / "http.log"
        with static_server(site, log) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(f"{url}/")
            page.wait_for_selector("body[data-reader=ready]", timeout=300_000)
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=300_000)
            page.wait_for_selector("body[data-photos=ready]", timeout=300_000)
            first_raw, first_gzip, _ = served_bytes(log, site)
            first = page.evaluate(READ_ALL, images)
            before = len(log.read_text().splitlines())
            page.reload()
            page.wait_for_selector("body[data-reader=ready]", timeout=300_000)
            page.wait_for_selector("body[data-photos=ready]", timeout=300_000)
            second = page.evaluate(READ_ALL, images)
            _, _, again = served_bytes(log, site, before)
            photo_results = None
            if photos:
                before_photo = len(log.read_text().splitlines())
                encoded = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in photos]
                read = page.evaluate(READ_PHOTOS, encoded)
                photo_raw, photo_gzip, photo_paths = served_bytes(log, site, before_photo)
                photo_results = {
                    "first_whole_photo_fetches_mb": {
                        "raw": round(photo_raw / 1e6, 2),
                        "gzip": round(photo_gzip / 1e6, 2),
                    },
                    "first_visit_and_first_whole_photo_mb": {
                        "raw": round((first_raw + photo_raw) / 1e6, 2),
                        "gzip": round((first_gzip + photo_gzip) / 1e6, 2),
                    },
                    "files_fetched_for_it": photo_paths,
                    "photo_ms": [round(x["ms"]) for x in read],
                    "photo_ms_by_stage": [{k: round(v) for k, v in x["timings"].items()} for x in read],
                    "parity_with_python": photo_parity([x["reading"] for x in read], photo_answers or []),
                }
            # The 12 MP photo through the page itself, in a new tab (the old one closed), with its one worker, as a user
            # has it: decoded whole, through the detector (one line found) and read as that line. A new tab's first
            # page is not cross-origin isolated on a static host (one thread); after a reload the service worker's
            # headers make it so (two threads).
            page.close()
            time.sleep(3)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(f"{url}/")
            big_path = Path(tmp) / "big.jpg"
            big_path.write_bytes(big)
            big_reads = {"new tab": read_big_photo(page, big_path)}
            page.reload()
            big_reads["after a reload"] = read_big_photo(page, big_path)
            browser.close()
    readings = [line["reading"] for line in second["lines"]]
    same = sum(r["text"] == e["text"] for r, e in zip(readings, expected))
    worst = max(abs(r["confidence"] - e["confidence"]) for r, e in zip(readings, expected))
    return {
        "model_mb": round(sent_graph_bytes / 1e6, 2),
        "first_visit_mb": {"raw": round(first_raw / 1e6, 2), "gzip": round(first_gzip / 1e6, 2)},
        "second_visit_model_files_sent": [p for p in again if p.endswith((".onnx", ".wasm"))],
        "line_ms_median": {
            f"first visit, {first['threads']} thread(s), isolated={first['isolated']}": round(
                statistics.median(x["ms"] for x in first["lines"]), 1
            ),
            f"second visit, {second['threads']} thread(s), isolated={second['isolated']}": round(
                statistics.median(x["ms"] for x in second["lines"]), 1
            ),
        },
        "line_ms_median_by_stage (second visit)": {
            stage: round(statistics.median(x["timings"][stage] for x in second["lines"]), 1)
            for stage in ("decode", "preprocess", "run", "decoding")
        },
        "whole_photos": photo_results,
        "photo_12mp": big_reads,
        "parity_with_python_fp32": {"same_text": f"{same}/{len(expected)}", "max_confidence_diff": round(worst, 6)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--variants", default="fp32,fp16,int8")
    parser.add_argument("--photos", type=int, default=2, help="composed whole photos to read (0: none)")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    runtime = onnxruntime_web()
    assert runtime is not None
    fp32 = Recognizer().engine.path
    with tempfile.TemporaryDirectory(prefix="pwocr-web-bench-") as tmp:
        folder = Path(tmp)
        files = []
        for i, (image, _) in enumerate(render_set(args.lines, seed=5, split="eval", config=SynthConfig(colour=True))):
            files.append(folder / f"line{i:02d}.png")
            Image.fromarray(image).save(files[-1])
        line = np.asarray(Image.open(files[0]).convert("RGB"))
        big = Image.fromarray(line).resize((4000, 3000))  # a 12 MP photo, as the page would be handed one
        big_path = folder / "big.jpg"
        big.save(big_path, quality=90)
        recognizer = Recognizer()
        expected = [recognizer.read(p).as_dict() for p in files]
        photos = []
        for i, scene in enumerate(compose_scenes(args.photos, PHOTO_SEED, size=(1280, 960), condition="plain")):
            photos.append(folder / f"photo{i:02d}.png")
            Image.fromarray(scene.image).save(photos[-1])
        photo_answers, photo_seconds = python_photos(photos) if photos else ([], None)
        graphs = {"fp32": fp32, "fp16": fp32, "int8": folder / "int8.onnx"}
        results: dict = {
            "load_average_at_start": os.getloadavg()[0],
            "python_whole_photo_ms_median": round(photo_seconds * 1000) if photo_seconds else None,
            "python_line_ms_median": {
                "1 thread": round(python_latency(fp32, files, 1), 1),
                "default threads": round(python_latency(fp32, files, None), 1),
            },
        }
        for name in args.variants.split(","):
            if name == "int8":
                int8_dynamic(fp32, graphs[name])
            try:
                results[name] = measure_variant(
                    name, graphs[name], runtime, files, big_path.read_bytes(), expected, photos, photo_answers
                )
            except Exception as e:  # a variant the browser cannot run is a result too
                results[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
            print(name, json.dumps(results[name], indent=1), flush=True)
        results["load_average_at_end"] = os.getloadavg()[0]
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        atomic_write(args.out, text + "\n")


if __name__ == "__main__":
    main()
