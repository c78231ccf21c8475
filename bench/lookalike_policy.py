"""How the decoder's flag thresholds (``pwocr.decoding.confidence.FlagPolicy``) were chosen.

Renders the look-alike benchmark's three kinds of strings in the TRAINING fonts (bundled training
split and ``/usr/share/fonts``, held-out files excluded, a seed of its own), reads them once, then
scores a grid of policies on the same probability tables: the share of wrong characters flagged,
silent errors (a wrong reading with nothing flagged) and the share of right readings that carry a
flag (the cost: a flag the user must look at). The held-out families of ``bench/lookalike.py``
play no part, so its figures stay a test of the chosen policy.

    python bench/lookalike_policy.py --count 1500 --out bench/results/lookalike_policy.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lookalike import render_samples, training_font_groups, wrong_characters

from pwocr.decoding.confidence import FlagPolicy, char_confidences, string_probability
from pwocr.decoding.ctc import greedy_decode
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.io import atomic_write

TUNING_SEED = 31415926


def score(policy: FlagPolicy, tables: list[np.ndarray], truths: list[str], recognizer: Recognizer) -> dict:
    wrong = flagged = silent = right_flagged = right = 0
    for probs, truth in zip(tables, truths):
        greedy = greedy_decode(probs, recognizer.alphabet)
        chars = char_confidences(probs, recognizer.alphabet, greedy.labels, policy=policy)
        reading = Reading("", greedy.text, greedy.raw, string_probability(probs, greedy.labels), (), tuple(chars))
        if greedy.text == truth:
            right += 1
            right_flagged += bool(reading.uncertain)
            continue
        w, f = wrong_characters(truth, reading)
        wrong, flagged = wrong + w, flagged + f
        silent += not reading.uncertain
    return {
        **{k: getattr(policy, k) for k in ("close_ratio", "lookalike_ratio", "blank_ratio", "missing_mass")},
        "wrong_chars_flagged": flagged / max(wrong, 1),
        "silent_errors": silent / len(truths),
        "right_readings_flagged": right_flagged / max(right, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    samples = render_samples(args.count, TUNING_SEED, training_font_groups())
    recognizer = Recognizer(args.checkpoint, batch_size=64)
    colour = recognizer.preprocess.colour
    lines = [s.image if colour else cv2.cvtColor(s.image, cv2.COLOR_RGB2GRAY) for s in samples]
    tables = recognizer.probabilities(lines)
    truths = [s.text for s in samples]
    exact = np.mean([greedy_decode(t, recognizer.alphabet).text == s for t, s in zip(tables, truths)])
    print(f"{len(samples)} lines in training fonts; exact {exact:.2%}", flush=True)
    rows = []  # the ratios of FlagPolicy not varied here keep their defaults
    for lookalike, missing in itertools.product((0.01, 0.02, 0.05), (0.01, 0.02, 0.05, 1.0)):
        row = score(FlagPolicy(lookalike_ratio=lookalike, missing_mass=missing), tables, truths, recognizer)
        rows.append(row)
        print(
            f"lookalike {lookalike:<5} missing {missing:<5} wrong chars flagged "
            f"{row['wrong_chars_flagged']:.1%}  silent {row['silent_errors']:.2%}  "
            f"right readings flagged {row['right_readings_flagged']:.1%}",
            flush=True,
        )
    if args.out:
        atomic_write(args.out, json.dumps({"n": len(samples), "exact": float(exact), "policies": rows}, indent=1))


if __name__ == "__main__":
    main()
