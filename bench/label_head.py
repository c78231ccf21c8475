"""PP-OCRv6's CTC layer over pwocr's own features, against PP-OCRv6's whole recognizer, as a photo's label reader.

A whole photo runs PP-OCRv6 small's recognizer on every line pwocr's model has already read, for
the line's words (spaces, accents, other scripts: ``pwocr.layout.labels``), about a fifth of a
photo's time. pwocr's network starts from PP-OCRv6's (``MODEL_CARD.md``): its conv stack and mixer
are PP-OCRv6's, moved a little by training, and end in the same 120 features per frame that
PP-OCRv6's 18,710-class CTC layer reads. This measures what that layer (one matrix product, cut
from the shipped recognizer as ``PP-OCRv6_rec_head.onnx``) reads over the shipped pwocr model's
features (its graph's ``features`` output), as photo mode now does, on:

- the lines of composed photos (``pwocr.synth.scenes``, held-out fonts, the seed of
  ``bench/photos.py``), found, joined, widened and straightened as photo mode does: readings exactly
  equal to a true line, spaces and accents included;
- real word photos (``../shared/real-val``: IIIT 5K-Word and Street View Text), scored as
  ``compare_peer.py`` scores them (case and symbols ignored);
- the time of each per line: PP-OCRv6's recognizer, against the matrix product alone (pwocr's
  features come with its own reading of the line, which photo mode runs anyway).

Greedy CTC over PP-OCRv6's dictionary in both (``LabelReader``), the CTC layer over the frames that
cover the line (not its padding).

    python bench/label_head.py --photos 100 --out bench/results/label_head.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from pwocr.data.images import load
from pwocr.data.labels import read_labels
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.layout.detector import crop_line, default_detector
from pwocr.layout.geometry import join_fragments, reading_order, with_margins
from pwocr.layout.ink import gray_crop
from pwocr.layout.labels import LabelReader
from pwocr.layout.photo import LINE_READ_HEIGHT, luminance
from pwocr.synth.scenes import compose_scenes

#: ``bench/photos.py``'s scenes.
SCENE_SEED = 20261126
REAL_SETS = ("iiit5k-train", "svt-train")


def scene_lines(count: int) -> list[tuple[np.ndarray, np.ndarray, set[str]]]:
    """Each composed photo's straightened lines as photo mode cuts them: (colour crop, gray crop, the photo's true lines)."""
    out = []
    for scene in compose_scenes(count, SCENE_SEED, split="eval"):
        boxes = default_detector()(luminance(scene.image))
        order, places = reading_order(boxes)
        boxes, places = join_fragments([boxes[k] for k in order], places)
        truth = {line.text for line in scene.lines}
        for box in with_margins(boxes, places, scene.image.shape):
            crop = crop_line(scene.image, box, min_height=LINE_READ_HEIGHT)
            out.append((crop, gray_crop(crop), truth))
    return out


def plain(text: str) -> str:
    """``compare_peer.py``'s scoring of a real word: case and symbols ignored."""
    return "".join(c for c in text.lower() if c.isalnum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100, help="composed photos")
    parser.add_argument("--real_val", default="../shared/real-val", help="folder of labelled real word sets")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    recognizer, labels = Recognizer("default", threads=2), LabelReader(threads=2)
    results: dict = {"photos": args.photos, "scene_seed": SCENE_SEED}
    own_ms, head_ms = [], []
    sets = [
        ("scene lines (exact, spaces and accents included)", scene_lines(args.photos), str),
        *[(f"{f} (case and symbols ignored)", real_words(Path(args.real_val) / f), plain) for f in REAL_SETS],
    ]
    for name, items, scored in sets:
        if not items:
            continue
        exact_own = exact_head = agree = 0
        for crop, gray, truth in items:
            t = time.perf_counter()
            own = labels(gray).text.strip()
            own_ms.append(1000 * (time.perf_counter() - t))
            _, (features,) = recognizer.probabilities_and_features([crop])
            t = time.perf_counter()
            ours = labels.from_features(features).text.strip()
            head_ms.append(1000 * (time.perf_counter() - t))
            truths = {scored(x) for x in truth}
            exact_own += scored(own) in truths
            exact_head += scored(ours) in truths
            agree += own == ours
        n = len(items)
        results[name] = {
            "lines": n,
            "PP-OCRv6 recognizer": round(exact_own / n, 4),
            "PP-OCRv6's CTC layer on pwocr's features": round(exact_head / n, 4),
            "same reading": round(agree / n, 4),
        }
        print(name, json.dumps(results[name]))
    results["ms per line, median"] = {
        "PP-OCRv6 recognizer": round(statistics.median(own_ms), 2),
        "CTC layer on pwocr's features": round(statistics.median(head_ms), 2),
    }
    print(json.dumps(results["ms per line, median"]))
    if args.out:
        atomic_write(args.out, json.dumps(results, indent=1))


def real_words(folder: Path) -> list[tuple[np.ndarray, np.ndarray, set[str]]]:
    """A real-val folder's word photos: (colour, gray, its label), or nothing where the folder is missing."""
    labels = folder / "labels.csv"
    if not labels.is_file():
        return []
    out = []
    for item in read_labels(labels):
        colour = load(item.path, colour=True)
        gray = colour if colour.ndim == 2 else load(item.path)
        out.append((colour, gray, {item.label}))
    return out


if __name__ == "__main__":
    main()
