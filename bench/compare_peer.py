"""pwocr against PP-OCRv6 (PyPI ``rapidocr``, recognition only), side by side in one process.

Both read the same images: the real photos of ``../shared/domain`` and a synthetic test set rendered
with held-out fonts and a seed never used in training. Prints word and character accuracy for
each, and reading speed as medians and ratios. Install the peer with ``pip install -e ".[bench]"``.

    python bench/compare_peer.py --count 2000 --out bench/results/compare_peer.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from pwocr.data.images import load_gray
from pwocr.data.labels import atomic_write_text, read_labels
from pwocr.evaluation.metrics import compute_metrics
from pwocr.inference.recognizer import Recognizer
from pwocr.synth.render import render_set

#: Far from every seed training derives (``seed * 100003 + epoch``, workers ``* 1009``) and validation's.
TEST_SEED = 20261125


def read_peer(engine, grays: list[np.ndarray]) -> tuple[list[str], list[float]]:
    texts, seconds = [], []
    for gray in grays:
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        started = time.perf_counter()
        result = engine(bgr, use_det=False, use_cls=False, use_rec=True)
        seconds.append(time.perf_counter() - started)
        texts.append("".join(result.txts or ()).replace(" ", ""))
    return texts, seconds


def read_pwocr(recognizer: Recognizer, grays: list[np.ndarray]) -> tuple[list[str], list[float]]:
    texts, seconds = [], []
    for gray in grays:
        started = time.perf_counter()
        texts.append(recognizer.read(gray).text)
        seconds.append(time.perf_counter() - started)
    return texts, seconds


def batch_throughput(recognizer: Recognizer, grays: list[np.ndarray]) -> float:
    started = time.perf_counter()
    recognizer.read_batch(grays)
    return len(grays) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="../shared/domain", help="folder with labels.csv of real photos")
    parser.add_argument("--count", type=int, default=2000, help="synthetic test lines")
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    from rapidocr import RapidOCR

    peer = RapidOCR(params={"Global.log_level": "critical"})
    recognizer = Recognizer(args.checkpoint, backend="onnx", batch_size=64)
    domain = read_labels(Path(args.domain) / "labels.csv", args.domain)
    sets = {
        "domain": ([load_gray(i.path) for i in domain], [i.label for i in domain]),
        "synthetic": tuple(map(list, zip(*render_set(args.count, TEST_SEED, split="eval")))),
    }
    results: dict[str, dict] = {}
    for name, (grays, truths) in sets.items():
        read_peer(peer, grays[:3])  # warm both up outside the timings
        read_pwocr(recognizer, grays[:3])
        ours, our_seconds = read_pwocr(recognizer, grays)
        theirs, their_seconds = read_peer(peer, grays)
        m_ours, m_theirs = compute_metrics(truths, ours), compute_metrics(truths, theirs)
        our_median, their_median = statistics.median(our_seconds), statistics.median(their_seconds)
        results[name] = {
            "n": len(truths),
            "pwocr": {
                **m_ours.as_dict(),
                "median_ms": our_median * 1000,
                "batch_images_per_s": batch_throughput(recognizer, grays),
            },
            "ppocrv6": {**m_theirs.as_dict(), "median_ms": their_median * 1000},
            "speedup_median": their_median / our_median,
        }
        if name == "domain":
            results[name]["readings"] = [
                {"truth": t, "pwocr": a, "ppocrv6": b} for t, a, b in zip(truths, ours, theirs)
            ]
    print(f"{'set':<10} {'model':<8} {'word acc':>9} {'char acc':>9} {'CER':>7} {'median ms':>10}")
    for name, r in results.items():
        for model in ("pwocr", "ppocrv6"):
            m = r[model]
            print(
                f"{name:<10} {model:<8} {m['word_accuracy']:>9.2%} {m['char_accuracy']:>9.2%} {m['cer']:>7.2%} {m['median_ms']:>10.2f}"
            )
        print(
            f"{name:<10} pwocr reads one image {r['speedup_median']:.2f}x as fast as PP-OCRv6 (median); "
            f"batched: {r['pwocr']['batch_images_per_s']:.0f} images/s"
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
