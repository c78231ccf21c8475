"""Reading speed on two cores: pwocr one line at a time and batched, against PP-OCRv6 small, in one run.

Two sets of 300 lines: passwords rendered on screens in held-out fonts (``bench/compare_peer.py``'s
synthetic test set) and real word crops (IIIT 5K-Word's first 300). pwocr reads each set one line
at a time (``Recognizer.read``, median ms) and all at once (``read_batch``: lines batched by width
bucket, lines/s over the whole set); PP-OCRv6 small reads one line at a time through rapidocr
(median ms and lines/s), as its pipeline reads a photo's lines. Both read in the same process,
alternating sets, after a warm-up; the ratios are what to quote. Also checks that the batched
readings equal the one-at-a-time ones.

    python bench/throughput.py --out bench/results/throughput.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from compare_peer import TEST_SEED, load_set, read_peer, read_pwocr  # bench/ is on the path

from pwocr.data.images import colour_to_gray
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.render import SynthConfig, render_set


def password_set(count: int, colour: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """pwocr's inputs and PP-OCRv6's (BGR) for ``count`` synthetic password lines."""
    rendered = [image for image, _ in render_set(count, TEST_SEED, split="eval", config=SynthConfig(colour=True))]
    ours = rendered if colour else [colour_to_gray(image) for image in rendered]
    return ours, [cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for image in rendered]


def measure(recognizer: Recognizer, peer, ours: list[np.ndarray], theirs: list[np.ndarray]) -> dict:
    read_pwocr(recognizer, ours[:5])
    read_peer(peer, theirs[:5])
    single_texts, single = read_pwocr(recognizer, ours)
    started = time.perf_counter()
    batched = recognizer.read_batch(ours)
    batched_seconds = time.perf_counter() - started
    _, peer_single = read_peer(peer, theirs)
    n = len(ours)
    result = {
        "n": n,
        "pwocr_single_median_ms": 1000 * statistics.median(single),
        "pwocr_single_lines_per_s": n / sum(single),
        "pwocr_batched_lines_per_s": n / batched_seconds,
        "ppocrv6_single_median_ms": 1000 * statistics.median(peer_single),
        "ppocrv6_single_lines_per_s": n / sum(peer_single),
        "batched_equals_single": [r.text for r in batched] == single_texts,
    }
    result["single_ratio_median"] = result["ppocrv6_single_median_ms"] / result["pwocr_single_median_ms"]
    result["batched_ratio"] = result["pwocr_batched_lines_per_s"] / result["ppocrv6_single_lines_per_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="lines in each set")
    parser.add_argument("--real_val", default="../shared/real-val", help="folder of labelled real word sets")
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    from rapidocr import RapidOCR

    peer = RapidOCR(params={"Global.log_level": "critical"})
    recognizer = Recognizer(args.checkpoint, batch_size=64)
    colour = recognizer.preprocess.colour
    sets = {"passwords": password_set(args.count, colour)}
    words = Path(args.real_val) / "iiit5k-train"
    if words.is_dir():
        ours, theirs, _ = load_set(str(words), args.count, colour)
        sets["words"] = (ours, theirs)
    results = {name: measure(recognizer, peer, *inputs) for name, inputs in sets.items()}
    for name, r in results.items():
        print(
            f"{name}: {r['n']} lines  pwocr one at a time {r['pwocr_single_median_ms']:.2f} ms "
            f"(PP-OCRv6 {r['ppocrv6_single_median_ms']:.2f} ms: {r['single_ratio_median']:.2f}x)  "
            f"pwocr batched {r['pwocr_batched_lines_per_s']:.0f} lines/s "
            f"(PP-OCRv6 {r['ppocrv6_single_lines_per_s']:.0f} one at a time: {r['batched_ratio']:.2f}x)  "
            f"batched readings equal: {r['batched_equals_single']}",
            flush=True,
        )
    if args.out:
        atomic_write(args.out, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
