"""pwocr against PP-OCRv6 small (PyPI ``rapidocr``, recognition only), side by side in one process.

Both read the same images, each as it takes them (pwocr as its model's preprocessing loads them, RGB or
gray; PP-OCRv6 the colour photo, BGR): the real word photos of ``../shared/real-val`` (IIIT 5K-Word and
Street View Text training splits, upper-case letter-and-digit labels, so scored ignoring case and
symbols as scene-text benchmarks are), the real screen photos of ``../shared/domain`` and a
synthetic test set rendered in colour in held-out fonts with a seed never used in training (both
scored exactly). For each model: word accuracy, character accuracy, top-3 word accuracy and the median
time to read one image. PP-OCRv6's reading is rapidocr's own; its top-3 comes from the same CTC
prefix beam search pwocr uses, run over its recognizer's output probabilities. Install the peer
with ``pip install -e ".[bench]"``.

    python bench/compare_peer.py --out bench/results/compare_peer.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from pwocr.alphabet import Alphabet
from pwocr.data.images import colour_to_gray, load
from pwocr.data.labels import read_labels
from pwocr.decoding.beam import prefix_beam_search
from pwocr.evaluation.metrics import compute_metrics, normalise_text
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.render import SynthConfig, render_set

#: Far from every seed training derives (``seed * 100003 + epoch``, workers ``* 1009``) and validation's.
TEST_SEED = 20261125


class PeerTopK:
    """PP-OCRv6 small's recognizer run directly on onnxruntime, for its output probabilities (top-k only).

    Preprocessing follows rapidocr's ``TextRecognizer`` for one line: 48 pixels high, aspect kept,
    BGR scaled to [-1, 1], padded on the right to at least 320 pixels.
    """

    def __init__(self) -> None:
        from pwocr.inference.engine import onnx_session
        from pwocr.rapidocr_models import RECOGNIZER_FILE, installed_rapidocr_file

        # rapidocr's own file, not pwocr's float16-stored copy: the peer's top-k from the peer's model.
        self.session = onnx_session(installed_rapidocr_file(RECOGNIZER_FILE))
        characters = self.session.get_modelmeta().custom_metadata_map["character"].splitlines()
        # Class 0 is the blank; the last class is a space, which rapidocr appends to the dictionary.
        chars = "".join(dict.fromkeys([*characters, " "]))
        self.alphabet = Alphabet(chars) if len(chars) == len(characters) + 1 else None

    def top_k(self, bgr: np.ndarray, k: int) -> list[str]:
        if self.alphabet is None:
            return []
        h, w = bgr.shape[:2]
        width = min(max(1, math.ceil(48 * w / h)), 48 * 50)
        line = cv2.resize(bgr, (width, 48)).astype(np.float32)
        padded = np.zeros((48, max(320, width), 3), np.float32)
        padded[:, :width] = (line / 255.0 - 0.5) / 0.5
        probs = self.session.run(None, {"x": padded.transpose(2, 0, 1)[None]})[0][0]
        return [c.text.replace(" ", "") for c in prefix_beam_search(probs, self.alphabet, top_k=k)]


def read_peer(engine, images: list[np.ndarray]) -> tuple[list[str], list[float]]:
    texts, seconds = [], []
    for bgr in images:
        started = time.perf_counter()
        result = engine(bgr, use_det=False, use_cls=False, use_rec=True)
        seconds.append(time.perf_counter() - started)
        texts.append("".join(result.txts or ()).replace(" ", ""))
    return texts, seconds


def read_pwocr(recognizer: Recognizer, images: list[np.ndarray]) -> tuple[list[str], list[float]]:
    texts, seconds = [], []
    for image in images:
        started = time.perf_counter()
        texts.append(recognizer.read(image).text)
        seconds.append(time.perf_counter() - started)
    return texts, seconds


def top_k_accuracy(truths: list[str], candidates: list[list[str]], ignore: bool) -> float:
    def norm(text: str) -> str:
        return normalise_text(text, ignore_case=ignore, ignore_symbols=ignore)

    return float(np.mean([norm(t) in {norm(c) for c in cs} for t, cs in zip(truths, candidates)]))


def load_set(folder: str, limit: int | None, colour: bool) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Each photo as pwocr loads it (RGB or gray) and as PP-OCRv6 takes it (colour, BGR, upright), and the labels."""
    items = read_labels(Path(folder) / "labels.csv", folder)[:limit]
    colours = [
        cv2.cvtColor(np.asarray(ImageOps.exif_transpose(Image.open(i.path)).convert("RGB")), cv2.COLOR_RGB2BGR)
        for i in items
    ]
    return [load(i.path, colour) for i in items], colours, [i.label for i in items]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real_val", default="../shared/real-val", help="folder of labelled real word sets")
    parser.add_argument("--domain", default="../shared/domain", help="folder with labels.csv of real photos")
    parser.add_argument("--count", type=int, default=1000, help="synthetic test lines")
    parser.add_argument("--limit", type=int, default=None, help="read at most this many images of each real set")
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    from rapidocr import RapidOCR

    peer = RapidOCR(params={"Global.log_level": "critical"})
    peer_top_k = PeerTopK()
    recognizer = Recognizer(args.checkpoint, backend="onnx", batch_size=64)
    # name -> (pwocr's inputs, PP-OCRv6's colour inputs, truths, scored ignoring case and symbols):
    # each model gets the photo as it takes it.
    colour = recognizer.preprocess.colour
    sets: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[str], bool]] = {}
    for name in ("iiit5k-train", "svt-train"):
        folder = Path(args.real_val) / name
        if folder.is_dir():
            sets[name] = (*load_set(str(folder), args.limit, colour), True)
    sets["domain"] = (*load_set(args.domain, None, colour), False)
    synthetic = render_set(args.count, TEST_SEED, split="eval", config=SynthConfig(colour=True))
    synthetic_rgb = [image for image, _ in synthetic]
    synthetic_bgr = [cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for image in synthetic_rgb]
    pwocr_inputs = synthetic_rgb if colour else [colour_to_gray(image) for image in synthetic_rgb]
    sets["synthetic"] = (pwocr_inputs, synthetic_bgr, [t for _, t in synthetic], False)

    results: dict[str, dict] = {}
    for name, (inputs, colours, truths, ignore) in sets.items():
        read_peer(peer, colours[:3])  # warm both up outside the timings
        read_pwocr(recognizer, inputs[:3])
        ours, our_seconds = read_pwocr(recognizer, inputs)
        theirs, their_seconds = read_peer(peer, colours)
        our_top = [[c.text for c in r.candidates] for r in recognizer.read_batch(inputs, candidates=3)]
        their_top = [peer_top_k.top_k(c, 3) or [t] for c, t in zip(colours, theirs)]
        m_ours = compute_metrics(truths, ours, ignore, ignore)
        m_theirs = compute_metrics(truths, theirs, ignore, ignore)
        our_median, their_median = statistics.median(our_seconds), statistics.median(their_seconds)
        results[name] = {
            "n": len(truths),
            "scoring": "ignoring case and symbols" if ignore else "exact",
            "pwocr": {
                **m_ours.as_dict(),
                "top3_word_accuracy": top_k_accuracy(truths, our_top, ignore),
                "median_ms": our_median * 1000,
            },
            "ppocrv6": {
                **m_theirs.as_dict(),
                "top3_word_accuracy": top_k_accuracy(truths, their_top, ignore),
                "median_ms": their_median * 1000,
            },
            "speedup_median": their_median / our_median,
        }
        if name == "domain":
            results[name]["readings"] = [
                {"truth": t, "pwocr": a, "ppocrv6": b} for t, a, b in zip(truths, ours, theirs)
            ]
        r = results[name]
        print(f"{name}: {r['n']} images, scored {r['scoring']}", flush=True)
        for model in ("pwocr", "ppocrv6"):
            m = r[model]
            print(
                f"  {model:<8} word {m['word_accuracy']:>7.2%}  char {m['char_accuracy']:>7.2%}  "
                f"top-3 {m['top3_word_accuracy']:>7.2%}  median {m['median_ms']:>6.2f} ms",
                flush=True,
            )
        print(f"  pwocr reads one image {r['speedup_median']:.2f}x as fast as PP-OCRv6 (median)", flush=True)
    if args.out:
        atomic_write(args.out, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
