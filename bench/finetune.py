"""Fine-tuning on a small real set: what each recipe learns, what it forgets, and how long it takes.

Splits a labelled set (by default ``../shared/datasets/plates-eu-br``) into train, validation and
test (``pwocr split --test``; one split per ``--split_seeds`` seed, so that a few dozen test rows
do not decide alone), runs ``pwocr train --weights_file default`` with each recipe's flags on each
split, and scores the kept weights (``best.safetensors``) on rows no choice of the run saw:

- the test rows: exact and top-3 word accuracy, ECE of the string confidence;
- ``../shared/domain``: real screen passwords the shipped model reads (what must not be forgotten);
- a synthetic guard set: 300 passwords in the training fonts, on a seed no run draws;

beside the shipped model, with each run's wall time and its curve (``summary.json``'s history).
Runs go one after another, so their times compare (the machine should be otherwise idle).

    python bench/finetune.py --out bench/results/finetune.json
    git worktree add /tmp/stop26 191cd92
    python bench/finetune.py --recipes today default epochs_15 --seeds 0 1 --today_src /tmp/stop26/src \
        --out bench/results/finetune_sweep.json
    python bench/finetune.py --recipes today default single --split_seeds 0 1 2 \
        --today_src /tmp/stop26/src --out bench/results/finetune_splits.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pwocr.alphabet import PRINTABLE_94
from pwocr.data.labels import read_labels, split_labels
from pwocr.evaluation.calibration import expected_calibration_error
from pwocr.evaluation.evaluate import evaluate
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.synth.render import SynthConfig, render_set

SHARED = Path(__file__).resolve().parents[2] / "shared"
#: Not a seed that training (``seed * 100003 + epoch``), its validation (``seed + 7919``) or another bench draws.
GUARD_SEED = 20261204

#: Rows of ``plates-eu-br`` whose label disagrees with its photo (checked by eye: a Slovak plate's
#: digits typed as the letter O, two letters swapped): scored as labelled, and also as photographed.
PHOTO_SHOWS = {
    "eu_test_024.jpg": "RK026AJ",  # labelled RKO26AJ
    "eu_test_051.jpg": "RK605AB",  # labelled RK6O5AB
    "eu_test_056.jpg": "RK300AG",  # labelled RK3OOAG
    "br_FZB9581.jpg": "FBZ9581",  # labelled FZB9581
}

#: Each recipe's flags beside ``--weights_file default`` and the data. ``today`` is the README's
#: fine-tuning command before the fine-tuning defaults (stop 26); ``default`` is ``pwocr train``'s
#: defaults alone (a soup of three); ``single`` one run of them; the others are the sweep that chose
#: them (``no_format_prior``: one run, as it was measured).
RECIPES: dict[str, list[str]] = {
    "today": ["--freeze_blocks", "13", "--synth_val_count", "64", "--epochs_num", "3", "--lr", "0.0005"],
    "default": [],
    "epochs_3": ["--epochs_num", "3"],
    "epochs_15": ["--epochs_num", "15"],
    "epochs_8": ["--epochs_num", "8"],
    "lr_1e-3": ["--lr", "0.001"],
    "unfreeze_1": ["--freeze_blocks", "12"],
    "unfreeze_2": ["--freeze_blocks", "11"],
    "unfreeze_3": ["--freeze_blocks", "10"],
    "distill_1": ["--distill", "1"],
    "no_distill": ["--distill", "0"],
    "single": ["--soup", "1"],
    "soup_2": ["--soup", "2"],
    "no_format_prior": ["--soup", "1", "--no_format_prior"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=SHARED / "datasets" / "plates-eu-br")
    parser.add_argument("--domain", type=Path, default=SHARED / "domain")
    parser.add_argument("--recipes", nargs="+", default=["default"], choices=sorted(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds (on each split)")
    parser.add_argument(
        "--split_seeds",
        "--split_seed",
        nargs="+",
        type=int,
        default=[0],
        help="one train/val/test split per seed; every recipe and training seed runs on each (cross-validation)",
    )
    parser.add_argument("--val", type=float, default=0.2)
    parser.add_argument("--test", type=float, default=0.3)
    parser.add_argument("--guard_count", type=int, default=300)
    parser.add_argument(
        "--today_src",
        type=Path,
        default=None,
        help="run the 'today' recipe with the pwocr of this source folder (a checkout of the stop-26 commit "
        "191cd92: git worktree add /tmp/stop26 191cd92, then /tmp/stop26/src); default: this checkout",
    )
    parser.add_argument("--work", type=Path, default=None, help="where runs go (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="pwocr-finetune-"))
    rows, counts = [], {}
    for split_seed in args.split_seeds:
        split = work / f"split-{split_seed}"
        counts[split_seed] = split_labels(args.dataset / "labels.csv", split, args.val, split_seed, args.test)
        rows.extend(_rows_of_split(args, split, split_seed))
    result = {"splits": counts, "dataset": str(args.dataset), "rows": rows, "medians": _medians(rows)}
    for recipe, median in result["medians"].items():
        print(f"median {recipe}: {json.dumps(median)}")
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=2) + "\n")


def _rows_of_split(args: argparse.Namespace, split: Path, split_seed: int) -> list[dict]:
    """The shipped model's scores and each recipe's (per training seed) on one split."""
    sets = _scoring_sets(args, split)
    rows = [{"recipe": "shipped", "split_seed": split_seed, "seed": None, "seconds": 0.0, **_score(None, sets)}]
    _print_row(rows[-1])
    for recipe in args.recipes:
        for seed in args.seeds:
            out = split.parent / f"{recipe}-{split_seed}-{seed}"
            source = args.today_src if recipe == "today" else None
            seconds = _train(args.dataset, split, RECIPES[recipe], seed, out, source)
            summary = json.loads((out / "summary.json").read_text())
            rows.append(
                {
                    "recipe": recipe,
                    "flags": RECIPES[recipe],
                    "split_seed": split_seed,
                    "seed": seed,
                    "seconds": round(seconds, 1),
                    **_runs_of(summary),
                    "calibration": summary.get("calibration"),
                    "formats": summary.get("formats"),
                    **_score(out / "best.safetensors", sets),
                }
            )
            _print_row(rows[-1])
    return rows


def _runs_of(summary: dict) -> dict[str, object]:
    """Which epoch each run kept, how many it ran, and its curve: one run's, or each member's of a soup."""
    runs = summary.get("members") or [summary]
    return {
        "best_epoch": [run["best_epoch"] for run in runs],
        "epochs_run": [len(run["epochs_run"] or ()) for run in runs],
        "history": [run.get("history") for run in runs],
    }


def _scoring_sets(args: argparse.Namespace, split: Path) -> dict[str, list]:
    """The three sets every model is scored on: test rows, the domain photos and the synthetic guard."""
    return {
        "test": read_labels(split / "test.csv", args.dataset),
        "domain": read_labels(args.domain / "labels.csv"),
        "guard": render_set(args.guard_count, GUARD_SEED, config=SynthConfig(alphabet=PRINTABLE_94, colour=True)),
    }


def _train(dataset: Path, split: Path, flags: list[str], seed: int, out: Path, source: Path | None) -> float:
    """Run ``pwocr train`` once (from ``source``'s pwocr when given); its wall time in seconds."""
    env = {**os.environ, "PYTHONPATH": str(source)} if source else None
    command = [
        *(sys.executable, "-c", "import sys; from pwocr.cli.main import main; sys.argv[0] = 'pwocr'; sys.exit(main())"),
        *("train", "--imgs_folder", str(dataset)),
        *("--train_file", str(split / "train.csv"), "--val_file", str(split / "val.csv")),
        *("--weights_file", "default", "--fixed_seed", str(seed), "--out", str(out), "--logs", str(out / "logs")),
        *flags,
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr, env=env)
    return time.perf_counter() - started


def _score(checkpoint: Path | None, sets: dict[str, list]) -> dict[str, object]:
    """Exact and top-3 word accuracy and ECE of a model on each set, as ``pwocr evaluate`` reads it."""
    recognizer = Recognizer(checkpoint)
    scores: dict[str, object] = {}
    for name, items in sets.items():
        report = evaluate(recognizer, items, top_k=(1, 3))
        right = [r.text == t for r, t in zip(report.readings, report.truths)]
        # Each reading carries its image's name (evaluate skips what it cannot read: no zip with items).
        photographed = [
            r.text == PHOTO_SHOWS.get(Path(r.image).name, t) for r, t in zip(report.readings, report.truths)
        ]
        scores[name] = {
            "exact": round(report.metrics.word_accuracy, 4),
            "top3": round(report.top_k_word_accuracy[3], 4),
            "right": int(sum(right)),
            "right_as_photographed": int(sum(photographed)),
            "n": len(right),
            "ece": round(expected_calibration_error([r.confidence for r in report.readings], right), 4),
        }
    return scores


def _medians(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per recipe, the median over seeds of each set's exact accuracy, ECE and the wall time."""
    out: dict[str, dict[str, float]] = {}
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        mine = [r for r in rows if r["recipe"] == recipe]
        median = {"seconds": statistics.median(r["seconds"] for r in mine)}
        for name in ("test", "domain", "guard"):
            median[f"{name}_exact"] = statistics.median(r[name]["exact"] for r in mine)
            median[f"{name}_ece"] = statistics.median(r[name]["ece"] for r in mine)
        # Over every split and seed: each test row counted once per run (several splits: cross-validation).
        for key, field in (("exact", "right"), ("as_photographed", "right_as_photographed")):
            median[f"test_pooled_{key}"] = round(
                sum(r["test"][field] for r in mine) / sum(r["test"]["n"] for r in mine), 4
            )
        out[recipe] = median
    return out


def _print_row(row: dict) -> None:
    scores = "  ".join(
        f"{name} {row[name]['exact']:.1%} (top-3 {row[name]['top3']:.1%}, ECE {row[name]['ece']:.3f})"
        for name in ("test", "domain", "guard")
    )
    where = f"split {row['split_seed']} seed {row['seed']}"
    print(f"{row['recipe']:>12} {where}: {scores}  {row['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
