"""The cost of n-best beam search (K = 5) over greedy decoding, per image, at batch 64.

Both modes read the same synthetic lines (held-out fonts) with the same forward passes; the time
per image includes preprocessing, the model and decoding. Also reports top-1/3/5 word accuracy and
the calibration of string confidences on that set.

    python bench/beam_overhead.py --out bench/results/beam_overhead.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from pwocr.evaluation.calibration import calibration
from pwocr.evaluation.evaluate import evaluate
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.render import SynthConfig, render_set

TEST_SEED = 20261126


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=512, help="synthetic lines (a multiple of 64)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    recognizer = Recognizer(args.checkpoint, backend="onnx", batch_size=64)
    # Rendered as the model reads: in colour for a colour model.
    samples = render_set(args.count, TEST_SEED, split="eval", config=SynthConfig(colour=recognizer.preprocess.colour))
    lines = [g for g, _ in samples]
    recognizer.read_batch(lines[:64])  # warm-up

    def per_image(candidates: int) -> float:
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            for start in range(0, len(lines), 64):
                recognizer.read_batch(lines[start : start + 64], candidates=candidates)
            times.append((time.perf_counter() - started) / len(lines))
        return statistics.median(times)

    greedy, beam = per_image(1), per_image(5)
    report = evaluate(recognizer, samples, top_k=(1, 3, 5))
    truths = report.truths
    greedy_readings = recognizer.read_batch(lines)
    results = {
        "n": len(lines),
        "greedy_ms_per_image": greedy * 1000,
        "beam5_ms_per_image": beam * 1000,
        "beam_overhead": beam / greedy - 1,
        "word_accuracy": report.metrics.word_accuracy,
        "top3_word_accuracy": report.top_k_word_accuracy[3],
        "top5_word_accuracy": report.top_k_word_accuracy[5],
        "char_accuracy": report.metrics.char_accuracy,
        "calibration_beam": calibration(
            [r.confidence for r in report.readings], [r.text == t for r, t in zip(report.readings, truths)]
        ).as_dict(),
        "calibration_greedy": calibration(
            [r.confidence for r in greedy_readings], [r.text == t for r, t in zip(greedy_readings, truths)]
        ).as_dict(),
    }
    print(
        f"greedy {greedy * 1000:.2f} ms/image, beam K=5 {beam * 1000:.2f} ms/image: {results['beam_overhead']:+.1%} at batch 64"
    )
    print(
        f"word accuracy top-1 {results['word_accuracy']:.2%}, top-3 {results['top3_word_accuracy']:.2%}, top-5 {results['top5_word_accuracy']:.2%}"
    )
    c = results["calibration_beam"]
    print(
        f"calibration: ECE {c['ece']:.3f}; below confidence {c['threshold']:.3f}, {c['wrong_flagged']:.1%} of wrong readings are flagged "
        f"and {c['right_flagged']:.1%} of right ones"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
