"""How a model's padding (``ModelConfig.pad_width`` and ``pad_multiple``) trades real-photo accuracy for time.

PP-OCRv6 pads every line to 320 pixels; its feature extractor, which ``crnn-svtr`` keeps, was
trained so. Padding costs time in proportion to the padded width, so the width is a measured
choice: this reads the real word sets of ``../shared/real-val`` (scored ignoring case and
symbols), the screen photos of ``../shared/domain`` and synthetic lines in held-out fonts
(exact) with one checkpoint at several padding widths, one image at a time, and prints word
accuracy and the median time per image for each. ``--multiples`` then tries width buckets at the
checkpoint's own ``pad_width``: each line padded to the next multiple of so many pixels, so lines of a
bucket batch together (``Recognizer`` batches by bucket). Only the reading changes; the
checkpoint's weights are the same throughout.

    python bench/pad_width.py --widths 0,128,192,320 --out bench/results/pad_width.json
    python bench/pad_width.py --widths 128 --multiples 0,32,64 --out bench/results/pad_multiple.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np
from compare_peer import TEST_SEED  # the synthetic test set of bench/compare_peer.py (bench/ is on the path)

from pwocr.data.images import colour_to_gray, load
from pwocr.data.labels import read_labels
from pwocr.evaluation.metrics import normalise_text
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.render import SynthConfig, render_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="0,128,192,320", help="padding widths to try, comma-separated")
    parser.add_argument("--multiples", default="", help="pad_multiple values to try, comma-separated")
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--real_val", default="../shared/real-val", help="folder of labelled real word sets")
    parser.add_argument("--domain", default="../shared/domain", help="folder with labels.csv of real photos")
    parser.add_argument("--count", type=int, default=500, help="synthetic test lines")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    recognizer = Recognizer(args.checkpoint)
    base = recognizer.preprocess
    sets: dict[str, tuple[list[np.ndarray], list[str], bool]] = {}
    for name in ("iiit5k-train", "svt-train"):
        csv = Path(args.real_val) / name / "labels.csv"
        if csv.is_file():
            items = read_labels(csv)
            sets[name] = ([load(i.path, base.colour) for i in items], [i.label for i in items], True)
    items = read_labels(Path(args.domain) / "labels.csv")
    sets["domain"] = ([load(i.path, base.colour) for i in items], [i.label for i in items], False)
    synthetic = render_set(args.count, TEST_SEED, split="eval", config=SynthConfig(colour=True))
    images = [image if base.colour else colour_to_gray(image) for image, _ in synthetic]
    sets["synthetic"] = (images, [text for _, text in synthetic], False)

    results: dict[str, dict] = {}
    settings = [(int(w), base.pad_multiple) for w in args.widths.split(",") if w]
    settings += [(base.pad_width, int(m)) for m in args.multiples.split(",") if m]
    for width, multiple in settings:
        recognizer.preprocess = dataclasses.replace(base, pad_width=width, pad_multiple=multiple)
        row: dict[str, dict] = {}
        for name, (images, truths, ignore) in sets.items():
            recognizer.read(images[0])  # warm up outside the timings
            right, seconds = 0, []
            for image, truth in zip(images, truths):
                started = time.perf_counter()
                text = recognizer.read(image).text
                seconds.append(time.perf_counter() - started)
                right += normalise_text(text, ignore, ignore) == normalise_text(truth, ignore, ignore)
            row[name] = {
                "n": len(truths),
                "word_accuracy": right / len(truths),
                "median_ms": 1000 * statistics.median(seconds),
            }
        results[f"{width}" if multiple == base.pad_multiple else f"{width}/{multiple}"] = row
        print(
            f"pad {width:>4} multiple {multiple:>3}: "
            + "  ".join(f"{n} {r['word_accuracy']:.2%} {r['median_ms']:.1f} ms" for n, r in row.items()),
            flush=True,
        )
    if args.out:
        atomic_write(args.out, json.dumps({"checkpoint": args.checkpoint, "widths": results}, indent=1))


if __name__ == "__main__":
    main()
