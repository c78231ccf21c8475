"""Look-alike benchmark: pwocr and PP-OCRv6 small on passwords rendered in 40 font families no training uses.

The families (``pwocr/fonts/held_out.json``: sans, serif, old-style, mono, terminal/bitmap, OCR,
rounded, technical, signage, dyslexia-friendly) come from Debian packages outside
``recipes/fonts-debian.txt``; ``pwocr.synth.fonts`` keeps every file of those packages out of every
training font set. This script fetches the packages with ``apt-get download`` into a cache (they are
never installed, so a training run on this machine cannot pick them up from ``/usr/share/fonts``),
renders screens, prints and signs with the synthetic camera, in colour, one family drawn uniformly
per line, and three kinds of strings: uniformly random, person-like, and crowded with look-alikes
side by side. Both models read the same images in one run.

Reported per model: exact, top-3 and top-5 string accuracy, character accuracy, the confusion of
look-alike pairs, ECE of the string confidence; for pwocr also the silent-error rate (a wrong
reading with no character flagged), the share of wrong characters flagged (substitutions and
insertions at their position; a dropped character counts as flagged when a neighbour is), how many
top-5 misses the model itself scores below its fifth candidate (no candidate search reaches those),
the same by category, by string kind and speed per line (median, greedy, one line at a time).

    python bench/lookalike.py --count 1000 --out bench/results/lookalike.json

``--fonts train`` renders in the training fonts instead (bundled training split and ``/usr/share/fonts``,
held-out files excluded): the set the decoder's look-alike thresholds are tuned on, so that the
held-out families stay a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_peer import PeerTopK

from pwocr.alphabet import PRINTABLE_94
from pwocr.decoding.confidence import DEFAULT_FLAGS, PREVIOUS_FLAGS, string_probability
from pwocr.evaluation.calibration import expected_calibration_error
from pwocr.evaluation.metrics import GAP, align, compute_metrics
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.io import atomic_write
from pwocr.synth.fonts import FontSpec, held_out_families, training_fonts
from pwocr.synth.render import SynthConfig, chosen_password, lookalike_string, random_password, render_line

#: Not a seed that training (``seed * 100003 + epoch``), validation or compare_peer derives.
TEST_SEED = 20261203
KINDS = ("random", "person", "lookalike")
DEFAULT_CACHE = Path.home() / ".cache" / "pwocr" / "heldout-fonts"


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # RGB
    text: str
    kind: str
    family: str
    category: str


def fetch_held_out_fonts(cache: Path) -> dict[str, list[FontSpec]]:
    """Each held-out family's font files, downloaded from Debian once into ``cache`` (never installed)."""
    by_family: dict[str, list[FontSpec]] = {}
    for family in held_out_families():
        folder = cache / family.package
        if not folder.is_dir():
            _extract_package(family.package, folder)
        files = {p.name: p for p in folder.rglob("*") if p.is_file()}
        missing = [name for name in family.files if name not in files]
        if missing:
            raise SystemExit(f"{family.package}: no {', '.join(missing)} (remove {folder} to fetch it again)")
        by_family[family.family] = [
            FontSpec(files[name], family.family, family.category, "eval", files[name]) for name in family.files
        ]
    return by_family


def _extract_package(package: str, folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _download(package, tmp)
        (deb,) = Path(tmp).glob("*.deb")
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run
        partial.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
        partial.rename(folder)


def _download(package: str, folder: str) -> None:
    """``apt-get download`` one package; on a machine whose package lists are empty, refresh them once."""
    command = ["apt-get", "download", "-qq", package]
    if subprocess.run(command, cwd=folder, capture_output=True).returncode == 0:
        return
    subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"apt-get download {package} failed: {result.stderr.strip().splitlines()[-1:]}")


def sample_string(rng: np.random.Generator, kind: str) -> str:
    if kind == "random":
        return random_password(rng, PRINTABLE_94, 6, 16)
    if kind == "person":
        return chosen_password(rng, 6, 16)
    return lookalike_string(rng, PRINTABLE_94, 6, 16)


def render_samples(count: int, seed: int, fonts: dict[str, list[FontSpec]]) -> list[Sample]:
    """``count`` colour lines: a family drawn uniformly, then one of its files; the string kinds in turn."""
    rng = np.random.default_rng(seed)
    config = SynthConfig(colour=True)
    families = sorted(fonts)
    samples = []
    for i in range(count):
        family = families[int(rng.integers(0, len(families)))]
        files = fonts[family]
        font = files[int(rng.integers(0, len(files)))]
        kind = KINDS[i % len(KINDS)]
        text = sample_string(rng, kind)
        samples.append(Sample(render_line(text, rng, [font], config), text, kind, family, font.category))
    return samples


def training_font_groups() -> dict[str, list[FontSpec]]:
    """The training fonts, one 'family' per file (for ``--fonts train``)."""
    fonts = training_fonts("bundled:/usr/share/fonts", PRINTABLE_94)
    return {f.path.stem: [FontSpec(f.path, f.family, "train", "train", f.license)] for f in fonts}


# ---------------------------------------------------------------- scoring


def wrong_characters(truth: str, reading: Reading) -> tuple[int, int]:
    """How many characters of ``reading`` are wrong against ``truth``, and how many of them are flagged.

    Substitutions and insertions count at their position in the reading; a dropped character counts
    as one wrong character, flagged when a reading character beside the gap is.
    """
    flags = [c.confusable for c in reading.chars]
    wrong = flagged = 0
    position = 0  # index into the reading of the next predicted character
    for t, p in align(truth, reading.text):
        if p == GAP:
            wrong += 1
            beside = [i for i in (position - 1, position) if 0 <= i < len(flags)]
            flagged += any(flags[i] for i in beside)
            continue
        if t != p:
            wrong += 1
            flagged += flags[position] if position < len(flags) else 0
        position += 1
    return wrong, flagged


def confusions(truths: list[str], readings: list[str]) -> Counter[str]:
    """``truth -> read`` substitutions (``x -> `` a drop, `` -> x`` an insertion)."""
    counts: Counter[str] = Counter()
    for truth, read in zip(truths, readings):
        for t, p in align(truth, read):
            if t != p:
                counts[f"{t} -> {p}"] += 1
    return counts


def score_pwocr(samples: list[Sample], readings: list[Reading]) -> dict:
    truths = [s.text for s in samples]
    texts = [r.text for r in readings]
    right = [t == r for t, r in zip(truths, texts)]
    wrong_chars = flagged_chars = silent = silent_confident = unflagged_wrong = 0
    for truth, reading, ok in zip(truths, readings, right):
        if ok:
            continue
        w, f = wrong_characters(truth, reading)
        wrong_chars += w
        flagged_chars += f
        if not reading.uncertain:
            silent += 1
            silent_confident += reading.confidence >= 0.9
        unflagged_wrong += w > f
    metrics = compute_metrics(truths, texts)
    return {
        "exact": metrics.word_accuracy,
        "char_accuracy": metrics.char_accuracy,
        "top3": _top_k(truths, [[c.text for c in r.candidates] for r in readings], 3),
        "top5": _top_k(truths, [[c.text for c in r.candidates] for r in readings], 5),
        "silent_errors": silent / len(samples),
        "silent_errors_confident": silent_confident / len(samples),
        # Stricter: a wrong reading where some wrong character (or a drop) is not flagged, whatever else is.
        "wrong_with_an_unflagged_error": unflagged_wrong / len(samples),
        "wrong_chars_flagged": flagged_chars / max(wrong_chars, 1),
        "wrong_chars": wrong_chars,
        "flagged_right_readings": float(np.mean([bool(r.uncertain) for r, ok in zip(readings, right) if ok] or [0])),
        "ece": expected_calibration_error([r.confidence for r in readings], right, bins=15),
    }


def score_peer(samples: list[Sample], texts: list[str], scores: list[float], top: list[list[str]]) -> dict:
    truths = [s.text for s in samples]
    metrics = compute_metrics(truths, texts)
    right = [t == r for t, r in zip(truths, texts)]
    return {
        "exact": metrics.word_accuracy,
        "char_accuracy": metrics.char_accuracy,
        "top3": _top_k(truths, top, 3),
        "top5": _top_k(truths, top, 5),
        "ece": expected_calibration_error(scores, right, bins=15),
    }


def _top_k(truths: list[str], candidates: list[list[str]], k: int) -> float:
    return float(np.mean([t in cs[:k] for t, cs in zip(truths, candidates)]))


def by_group(samples: list[Sample], right: list[bool], key: str) -> dict[str, float]:
    groups: dict[str, list[bool]] = {}
    for sample, ok in zip(samples, right):
        groups.setdefault(getattr(sample, key), []).append(ok)
    return {name: float(np.mean(oks)) for name, oks in sorted(groups.items())}


# ---------------------------------------------------------------- reading


def model_lines(recognizer: Recognizer, samples: list[Sample]) -> list[np.ndarray]:
    return [s.image if recognizer.preprocess.colour else cv2.cvtColor(s.image, cv2.COLOR_RGB2GRAY) for s in samples]


def top5_misses_ranked_lower(recognizer: Recognizer, samples: list[Sample], readings: list[Reading]) -> dict:
    """Of the readings whose five candidates miss the truth, how many the model itself scores the truth
    below the fifth candidate: a wider candidate search cannot reach those, only a better model can."""
    misses = [i for i, (s, r) in enumerate(zip(samples, readings)) if s.text not in [c.text for c in r.candidates[:5]]]
    tables = recognizer.probabilities(model_lines(recognizer, [samples[i] for i in misses]))
    lower = 0
    for i, probs in zip(misses, tables):
        fifth = min(string_probability(probs, recognizer.alphabet.encode(c.text)) for c in readings[i].candidates[:5])
        truth = string_probability(probs, recognizer.alphabet.encode(samples[i].text))
        lower += len(readings[i].candidates) >= 5 and truth < fifth
    return {"top5_misses": len(misses), "top5_misses_ranked_lower_by_the_model": lower}


def read_pwocr(recognizer: Recognizer, samples: list[Sample], candidates: int) -> tuple[list[Reading], list[float]]:
    lines = model_lines(recognizer, samples)
    readings = recognizer.read_batch(lines, candidates=candidates)
    seconds = []
    for line in lines[:3]:
        recognizer.read(line)  # warm-up outside the timings
    for line in lines:
        started = time.perf_counter()
        recognizer.read(line)
        seconds.append(time.perf_counter() - started)
    return readings, seconds


def read_peer(samples: list[Sample], k: int) -> tuple[list[str], list[float], list[list[str]], list[float]]:
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "critical"})
    top_k = PeerTopK()
    texts, scores, tops, seconds = [], [], [], []
    for sample in samples:
        bgr = cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR)
        started = time.perf_counter()
        result = engine(bgr, use_det=False, use_cls=False, use_rec=True)
        seconds.append(time.perf_counter() - started)
        text = "".join(result.txts or ()).replace(" ", "")
        texts.append(text)
        scores.append(float(np.mean(result.scores)) if result.scores else 0.0)
        tops.append(top_k.top_k(bgr, k) or [text])
    return texts, scores, tops, seconds


def report(name: str, scores: dict, seconds: list[float]) -> None:
    line = (
        f"  {name:<8} exact {scores['exact']:>6.2%}  top-3 {scores['top3']:>6.2%}  top-5 {scores['top5']:>6.2%}  "
        f"char {scores['char_accuracy']:>6.2%}  ECE {scores['ece']:.3f}"
    )
    if "silent_errors" in scores:
        line += (
            f"  silent {scores['silent_errors']:.2%} (at >=90%: {scores['silent_errors_confident']:.2%};"
            f" with an unflagged error {scores['wrong_with_an_unflagged_error']:.2%})"
            f"  wrong chars flagged {scores['wrong_chars_flagged']:.1%} of {scores['wrong_chars']}"
            f"  right readings flagged {scores['flagged_right_readings']:.1%}"
            f"  top-5 misses the model itself ranks below the 5th: {scores['top5_misses_ranked_lower_by_the_model']}"
            f" of {scores['top5_misses']}"
        )
    print(line + f"  median {statistics.median(seconds) * 1000:.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="lines to render")
    parser.add_argument("--seed", type=int, default=TEST_SEED)
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--fonts", choices=("heldout", "train"), default="heldout")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the held-out packages are unpacked")
    parser.add_argument("--no_peer", action="store_true", help="read with pwocr only")
    parser.add_argument(
        "--flags",
        choices=("default", "previous"),
        default="default",
        help="pwocr's flag rule (previous: before look-alike mass)",
    )
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    fonts = fetch_held_out_fonts(args.cache) if args.fonts == "heldout" else training_font_groups()
    samples = render_samples(args.count, args.seed, fonts)
    policy = DEFAULT_FLAGS if args.flags == "default" else PREVIOUS_FLAGS
    recognizer = Recognizer(args.checkpoint, backend="onnx", batch_size=64, flags=policy)
    readings, seconds = read_pwocr(recognizer, samples, candidates=5)
    ours = {**score_pwocr(samples, readings), **top5_misses_ranked_lower(recognizer, samples, readings)}
    right = [r.text == s.text for r, s in zip(readings, samples)]
    result: dict = {
        "n": len(samples),
        "fonts": args.fonts,
        "flags": args.flags,
        "families": len(fonts),
        "pwocr": {
            **ours,
            "median_ms": statistics.median(seconds) * 1000,
            "by_category": by_group(samples, right, "category"),
            "by_kind": by_group(samples, right, "kind"),
            "by_family": by_group(samples, right, "family"),
            "confusions": dict(confusions([s.text for s in samples], [r.text for r in readings]).most_common(25)),
        },
    }
    print(f"{len(samples)} lines in {len(fonts)} {args.fonts} font families", flush=True)
    report("pwocr", ours, seconds)
    if not args.no_peer:
        texts, scores, tops, peer_seconds = read_peer(samples, 5)
        theirs = score_peer(samples, texts, scores, tops)
        peer_right = [t == s.text for t, s in zip(texts, samples)]
        result["ppocrv6"] = {
            **theirs,
            "median_ms": statistics.median(peer_seconds) * 1000,
            "by_category": by_group(samples, peer_right, "category"),
            "by_kind": by_group(samples, peer_right, "kind"),
            "confusions": dict(confusions([s.text for s in samples], texts).most_common(25)),
        }
        report("PP-OCRv6", theirs, peer_seconds)
    for key in ("by_category", "by_kind"):
        print(f"  {key}: " + ", ".join(f"{k} {v:.1%}" for k, v in result["pwocr"][key].items()), flush=True)
    print("  pwocr confusions: " + ", ".join(f"{k} {v}" for k, v in list(result["pwocr"]["confusions"].items())[:12]))
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
