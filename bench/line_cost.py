"""Where a password line's reading time goes on this CPU: width, batch and threads, and what a narrower line costs.

Two measurements of the shipped ONNX graph, for issue 23's question (can a line read 2x as fast as
PP-OCRv6 small on the same conv stack?):

1. ``cost``: milliseconds per line of random input at widths 128, 256 and 512 px (the model's
   height), batches of 1, 4 and 16, one and two onnxruntime threads. Time that grows in step with
   width on one thread says the graph is compute-bound, not held back by per-call overhead.
2. ``squeeze``: the held-out synthetic password lines of ``bench/compare_peer.py`` read through
   ``Recognizer`` with every line resized ``--scales`` times narrower than its aspect, exact
   accuracy and median ms per line: the cheapest way to fewer pixels, and what it costs.

Run it on an idle machine; the timings are medians of repeated runs.

    python bench/line_cost.py --out bench/results/line_cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
from compare_peer import TEST_SEED  # bench/ is on the path

from pwocr.data.images import colour_to_gray
from pwocr.data.preprocess import LinePreprocessor
from pwocr.inference.engine import onnx_session
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.render import SynthConfig, render_set


def graph_cost(path: str, widths: list[int], batches: list[int]) -> list[dict]:
    """Median ms per line of the graph alone, by threads, width and batch."""
    rows = []
    for threads in (1, 2):
        session = onnx_session(path, threads)
        channels = session.get_inputs()[0].shape[1]
        for width in widths:
            for batch in batches:
                x = np.random.default_rng(0).random((batch, channels, 48, width), dtype=np.float32)
                for _ in range(3):
                    session.run(["log_probs"], {"images": x})
                times = []
                for _ in range(max(5, 40 // batch)):
                    started = time.perf_counter()
                    session.run(["log_probs"], {"images": x})
                    times.append(time.perf_counter() - started)
                ms = 1000 * statistics.median(times) / batch
                rows.append({"threads": threads, "width": width, "batch": batch, "ms_per_line": round(ms, 2)})
                print(f"threads {threads} width {width} batch {batch}: {ms:.2f} ms/line", flush=True)
    return rows


def squeezed(recognizer: Recognizer, count: int, scales: list[float]) -> list[dict]:
    """Exact accuracy and median ms per line with every line ``scale`` times as wide as its aspect gives."""
    rendered = render_set(count, TEST_SEED, split="eval", config=SynthConfig(colour=True))
    images = [image if recognizer.preprocess.colour else colour_to_gray(image) for image, _ in rendered]
    truths = [text for _, text in rendered]
    base = recognizer.preprocess
    rows = []
    for scale in scales:
        recognizer.preprocess = _Squeezed(base, scale)  # type: ignore[assignment]
        right, times = 0, []
        for image, truth in zip(images, truths):
            started = time.perf_counter()
            right += recognizer.read(image).text == truth
            times.append(time.perf_counter() - started)
        row = {
            "scale": scale,
            "exact": round(right / len(images), 4),
            "median_ms": round(1000 * statistics.median(times), 2),
        }
        rows.append(row)
        print(f"width x{scale}: exact {row['exact']:.2%}, {row['median_ms']:.2f} ms/line", flush=True)
    recognizer.preprocess = base
    return rows


class _Squeezed:
    """The model's preprocessing with every line's width scaled by ``scale`` (training's width jitter is 0.8-1.2)."""

    def __init__(self, base: LinePreprocessor, scale: float) -> None:
        self.base, self.scale = base, scale

    def __getattr__(self, name: str) -> object:
        return getattr(self.base, name)

    def __call__(self, image: np.ndarray, width_scale: float = 1.0, min_width: int = 0) -> np.ndarray:
        return self.base(image, width_scale * self.scale, min_width)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600, help="held-out synthetic lines for the squeeze test")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.8, 0.65])
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    recognizer = Recognizer("default", backend="onnx")
    result = {
        "machine": {"cores": os.cpu_count(), "load_average_before": os.getloadavg()},
        "cost": graph_cost(str(recognizer.engine.path), [128, 256, 512], [1, 4, 16]),
        "squeeze": squeezed(recognizer, args.count, args.scales),
    }
    result["machine"]["load_average_after"] = os.getloadavg()
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
