"""What storing PP-OCRv6's recognizer weights as float16 changes: the shipped file against rapidocr 3.10's.

pwocr ships ``PP-OCRv6_rec_small.onnx`` with its large weights stored as float16 and cast back to
float32 in the graph (``pwocr.rapidocr_models.store_weights_as_fp16``; 10.7 MB instead of 21.2 MB,
under the project's 20 MB a file). Both files are run by the label reader of photo mode
(``pwocr.layout.labels.LabelReader``, greedy CTC over PP-OCRv6's dictionary) on synthetic lines
rendered in held-out fonts and on real word photos (IIIT 5K-Word), and compared: the largest and
mean difference of the output probabilities, the frames whose most likely class changed, and the
greedy readings that changed; beside them, as a yardstick, what one gray level of noise on the
rendered lines changes in the original's outputs. Needs the peer (``pip install -e ".[bench]"``) for rapidocr's file.

    python bench/ppocrv6_fp16.py --out bench/results/ppocrv6_fp16.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path

import numpy as np

from pwocr.data.images import load_image
from pwocr.data.labels import read_labels
from pwocr.io import atomic_write
from pwocr.layout.labels import LabelReader
from pwocr.rapidocr_models import RECOGNIZER_FILE, installed_rapidocr_file, rapidocr_model_path
from pwocr.synth.render import render_set

#: Far from every seed training derives, as ``compare_peer.py``'s.
TEST_SEED = 20261125


def gray_lines(count: int, real_val: Path) -> dict[str, list[np.ndarray]]:
    """``count`` rendered lines (held-out fonts) and ``count`` real word photos, as 2-D uint8."""
    rendered = [image for image, _ in render_set(count, TEST_SEED, "eval")]
    real = [load_image(item.path) for item in read_labels(real_val / "iiit5k-train" / "labels.csv")[:count]]
    return {"rendered": rendered, "iiit5k": real}


def greedy(probs: np.ndarray) -> list[int]:
    """The classes greedy CTC reads from ``T x classes`` probabilities (equal lists, equal readings)."""
    return [int(label) for label, _ in groupby(probs.argmax(-1)) if label != 0]


def compare(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict:
    """How far each second ``T x classes`` output is from the first: probabilities, most likely classes, readings."""
    per_frame, flipped, changed, entries, total, lines = [], 0, 0, 0, 0.0, 0
    for p, q in pairs:
        diff = np.abs(p.astype(np.float64) - q)
        per_frame.append(diff.max(-1))
        total, entries = total + float(diff.sum()), entries + diff.size
        flipped += int((p.argmax(-1) != q.argmax(-1)).sum())
        changed += greedy(p) != greedy(q)
        lines += 1
    frames = np.concatenate(per_frame)
    return {
        "lines": lines,
        "frames": len(frames),
        "max_abs_prob_diff": float(frames.max()),
        "mean_abs_prob_diff": total / entries,
        "p99_frame_max_abs_prob_diff": float(np.percentile(frames, 99)),
        "frames_over_0.01": int((frames > 0.01).sum()),
        "frames_argmax_changed": flipped,
        "greedy_readings_changed": changed,
    }


def one_gray_level_of_noise(line: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``line`` with each pixel moved by -1, 0 or +1 gray level: the yardstick of a change too small to see."""
    return np.clip(line.astype(np.int16) + rng.integers(-1, 2, line.shape), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="lines of each kind")
    parser.add_argument("--real_val", default="../shared/real-val", help="folder of labelled real word sets")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    original_path, shipped_path = installed_rapidocr_file(RECOGNIZER_FILE), rapidocr_model_path(RECOGNIZER_FILE)
    original, shipped = LabelReader(original_path, threads=1), LabelReader(shipped_path, threads=1)
    sets = gray_lines(args.count, Path(args.real_val))
    rng = np.random.default_rng(TEST_SEED)
    results = {
        "original_mb": original_path.stat().st_size / 1e6,
        "shipped_mb": shipped_path.stat().st_size / 1e6,
        **{
            f"{kind}: shipped vs original": compare(
                (original.probabilities(x), shipped.probabilities(x)) for x in lines
            )
            for kind, lines in sets.items()
        },
        "rendered: original on the lines vs on them with 1 gray level of noise": compare(
            (original.probabilities(x), original.probabilities(one_gray_level_of_noise(x, rng)))
            for x in sets["rendered"]
        ),
    }
    print(json.dumps(results, indent=1))
    if args.out:
        atomic_write(args.out, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
