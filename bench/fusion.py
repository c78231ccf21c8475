"""What fusing frames gains: exact readings of 1 frame against 3 and 5 fused, on jittered renders.

Each password is rendered once (held-out fonts, colour, as ``bench/compare_peer.py`` renders), then
photographed five times with small moves, varying blur and a glare spot that lands elsewhere each
time (``pwocr.synth.frames``). Reported: the clean render's exact rate, one jittered frame's, and
``Recognizer.read_fused`` over the first 3 and all 5 frames.

    python bench/fusion.py --count 200 --out bench/results/fusion.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.frames import jittered_frames
from pwocr.synth.render import SynthConfig, render_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    recognizer = Recognizer()
    rng = np.random.default_rng(args.seed)
    exact = {"clean render": 0, "1 jittered frame": 0, "3 frames fused": 0, "5 frames fused": 0}
    rendered = render_set(args.count, seed=args.seed, split="eval", config=SynthConfig(colour=True))
    for image, label in rendered:
        frames = jittered_frames(image, 5, rng)
        exact["clean render"] += recognizer.read(image).text == label
        exact["1 jittered frame"] += recognizer.read(frames[0]).text == label
        exact["3 frames fused"] += recognizer.read_fused(frames[:3]).text == label
        exact["5 frames fused"] += recognizer.read_fused(frames).text == label
    results = {"passwords": args.count, "exact": {k: round(v / args.count, 4) for k, v in exact.items()}}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        atomic_write(args.out, text + "\n")


if __name__ == "__main__":
    main()
