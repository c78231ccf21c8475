"""What storing PP-OCRv6's weights as float16 changes: the shipped files against rapidocr 3.10's.

pwocr ships ``PP-OCRv6_rec_small.onnx`` and ``PP-OCRv6_det_small.onnx`` with their large weights
stored as float16 and cast back to float32 in the graph (``pwocr.rapidocr_models.store_weights_as_fp16``;
10.7 MB instead of 21.2 MB and 5.1 MB instead of 9.9 MB).

The detector: both files find the lines of composed photos (``pwocr.synth.scenes``, held-out fonts)
and the boxes are compared: photos with as many boxes, and how far the matched boxes' corners moved.
(``bench/photos.py --also_detector`` measures what that changes in the password picked.)

The recognizer: both files are run by the label reader of photo mode
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

from pwocr.data.images import load
from pwocr.data.labels import read_labels
from pwocr.io import atomic_write
from pwocr.layout.detector import TextDetector
from pwocr.layout.labels import LabelReader
from pwocr.layout.photo import luminance
from pwocr.rapidocr_models import DETECTOR_FILE, RECOGNIZER_FILE, installed_rapidocr_file, rapidocr_model_path
from pwocr.synth.render import render_set
from pwocr.synth.scenes import compose_scenes

#: Far from every seed training derives, as ``compare_peer.py``'s.
TEST_SEED = 20261125


def gray_lines(count: int, real_val: Path) -> dict[str, list[np.ndarray]]:
    """``count`` rendered lines (held-out fonts) and ``count`` real word photos, as 2-D uint8."""
    rendered = [image for image, _ in render_set(count, TEST_SEED, "eval")]
    real = [load(item.path) for item in read_labels(real_val / "iiit5k-train" / "labels.csv")[:count]]
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


def compare_detectors(photos: int) -> dict:
    """The shipped detector's boxes against rapidocr's file's on ``photos`` composed photos; beside them, as a
    yardstick, rapidocr's file's boxes on the same photos with one gray level of noise."""
    original_path, shipped_path = installed_rapidocr_file(DETECTOR_FILE), rapidocr_model_path(DETECTOR_FILE)
    original, shipped = TextDetector(original_path, threads=1), TextDetector(shipped_path, threads=1)
    rng = np.random.default_rng(TEST_SEED)
    pairs: dict[str, list[tuple[list, list]]] = {"shipped vs original": [], "original with 1 gray level of noise": []}
    for scene in compose_scenes(photos, TEST_SEED, split="eval"):
        gray = luminance(scene.image)
        boxes = original(gray)
        pairs["shipped vs original"].append((boxes, shipped(gray)))
        pairs["original with 1 gray level of noise"].append((boxes, original(one_gray_level_of_noise(gray, rng))))
    return {
        "original_mb": original_path.stat().st_size / 1e6,
        "shipped_mb": shipped_path.stat().st_size / 1e6,
        "photos": photos,
        **{name: box_moves(found) for name, found in pairs.items()},
    }


def box_moves(found: list[tuple[list, list]]) -> dict:
    """How many photos keep their box count, and how far the corners of those photos' boxes move (in pixels):
    each first box against its nearest second box, so that two boxes on one row never pair up crosswise."""
    moves = []
    for a, b in found:
        if len(a) == len(b):
            nearest = (min(float(np.abs(x.points - y.points).max()) for y in b) for x in a)
            moves.append(max(nearest, default=0.0))
    return {
        "photos_with_as_many_boxes": len(moves),
        "of_those, every corner within 0.5 px": sum(m <= 0.5 for m in moves),
        "of_those, every corner within 2 px": sum(m <= 2 for m in moves),
        "largest_corner_move_px": max(moves, default=0.0),
        "median_of_largest_move_per_photo_px": float(np.median(moves)) if moves else 0.0,
    }


def one_gray_level_of_noise(line: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``line`` with each pixel moved by -1, 0 or +1 gray level: the yardstick of a change too small to see."""
    return np.clip(line.astype(np.int16) + rng.integers(-1, 2, line.shape), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="lines of each kind")
    parser.add_argument("--photos", type=int, default=40, help="composed photos for the detector")
    parser.add_argument("--real_val", default="../shared/real-val", help="folder of labelled real word sets")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    original_path, shipped_path = installed_rapidocr_file(RECOGNIZER_FILE), rapidocr_model_path(RECOGNIZER_FILE)
    original, shipped = LabelReader(original_path, threads=1), LabelReader(shipped_path, threads=1)
    sets = gray_lines(args.count, Path(args.real_val))
    rng = np.random.default_rng(TEST_SEED)
    results = {
        "detector": compare_detectors(args.photos),
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
