"""Training speed on this machine: images per second of the default fine-tune, by setting, and its memory.

Each run fine-tunes the shipped model on the real plates with ``pwocr train``'s defaults (the
synthetic mix, distillation on the synthetic lines, the frozen conv stack) for a fixed number of
steps, and reads the training loop's throughput from the run's ``summary.json``: start-up,
validation and the final writes are not counted. The variants change one setting each:

- ``default``: the defaults as they are (one process, the data prepared in it);
- ``data process``: ``--n_workers 1``, the data rendered and loaded in a separate process;
- ``2 processes``: ``--nproc 2`` with half the batch each (the same effective batch);
- ``1 thread``: one process with one intra-op thread (what a second core adds);
- ``baseline``: the defaults of another checkout's pwocr (``--baseline_src``), e.g. the code
  before a speed change.

Runs alternate (a, b, c, a, b, c, ...) so that a change in machine load hits all of them;
medians and their ratios to ``default`` are reported with the load average before and after (on
a shared machine it says how far to trust the figures). With ``--memory_steps N`` one more run of
N steps records the resident memory of the training processes every half second (the curve, and
a plot with ``--plot``): it should rise while the first batches are prepared, then stay flat.

    python bench/train_throughput.py --out bench/results/train_throughput.json
    git worktree add /tmp/before <commit>
    python bench/train_throughput.py --baseline_src /tmp/before/src --memory_steps 300 \
        --plot bench/results/train_memory.png --out bench/results/train_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PLATES = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "plates-eu-br"
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Variant:
    name: str
    flags: list[str] = field(default_factory=list)
    processes: int = 1
    threads: int | None = None  # intra-op threads per process; None: torch's choice
    source: Path | None = None  # another checkout's src folder


def command(variant: Variant, batch: int, steps: int, data: Path, out: Path) -> list[str]:
    return [
        *(sys.executable, "-c", "import sys; from pwocr.cli.main import main; sys.argv[0] = 'pwocr'; sys.exit(main())"),
        *("train", "--imgs_folder", str(data), "--train_file", str(data / "labels.csv")),
        *("--weights_file", "default", "--epochs_num", "1", "--steps_per_epoch", str(steps)),
        *("--batch_size", str(batch // variant.processes), "--nproc", str(variant.processes)),
        *("--synth_val_count", "16", "--checkpoint_every", "0", "--no_calibrate", "--fixed_seed", "0"),
        *("--out", str(out), "--logs", str(out / "logs"), "--no_progress"),
        # One run of the fine-tune (a soup's members each train as it does); older checkouts know no soups.
        *(() if variant.source else ("--soup", "1")),
        *variant.flags,
    ]


def environment(variant: Variant) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "PYTHONPATH")}
    if variant.threads:
        env["OMP_NUM_THREADS"] = str(variant.threads)
    if variant.source:
        env["PYTHONPATH"] = str(variant.source)
    return env


def run_once(variant: Variant, batch: int, steps: int, data: Path, folder: Path) -> dict[str, float]:
    """One training run; the loop's images/s and the run's wall time."""
    out = folder / f"run-{time.time_ns()}"
    started = time.perf_counter()
    subprocess.run(
        command(variant, batch, steps, data, out),
        check=True,
        env=environment(variant),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    summary = json.loads((out / "summary.json").read_text())
    return {"images_per_second": summary["images_per_second"], "wall_seconds": round(time.perf_counter() - started, 1)}


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (data processes, ranks), in MB, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(p, []))
    return total / 2**20


def memory_curve(variant: Variant, batch: int, steps: int, data: Path, folder: Path) -> list[tuple[float, float]]:
    """(seconds, MB) every half second over one run of ``steps`` steps."""
    out = folder / "memory"
    process = subprocess.Popen(
        command(variant, batch, steps, data, out),
        env=environment(variant),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started, curve = time.perf_counter(), []
    while process.poll() is None:
        curve.append((round(time.perf_counter() - started, 1), round(tree_rss_mb(process.pid), 1)))
        time.sleep(0.5)
    if process.returncode:
        raise SystemExit(f"the memory run failed (exit status {process.returncode})")
    return curve


def plot(curve: list[tuple[float, float]], steps: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([t for t, _ in curve], [m for _, m in curve])
    ax.set_xlabel("seconds")
    ax.set_ylabel("resident memory, MB")
    ax.set_ylim(bottom=0)
    ax.set_title(f"pwocr train, default fine-tune on plates, {steps} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def variants(args: argparse.Namespace) -> list[Variant]:
    chosen = [Variant("default"), Variant("data process", ["--n_workers", "1"])]
    if args.two_processes:
        chosen.append(Variant("2 processes", processes=2))
    if args.one_thread_reference:
        chosen.append(Variant("1 thread", threads=1))
    if args.baseline_src:
        chosen.append(Variant("baseline", source=args.baseline_src.resolve()))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=PLATES, help="folder with labels.csv and its images")
    parser.add_argument("--batch", type=int, default=32, help="effective batch (split across processes)")
    parser.add_argument("--steps", type=int, default=12, help="training steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant")
    parser.add_argument("--two_processes", action="store_true", help="also time --nproc 2")
    parser.add_argument("--one_thread_reference", action="store_true", help="also time one intra-op thread")
    parser.add_argument("--baseline_src", type=Path, default=None, help="also time this checkout's src folder")
    parser.add_argument("--memory_steps", type=int, default=0, help="record the memory of one run this long")
    parser.add_argument("--plot", type=Path, default=None, help="plot the memory curve to this PNG")
    parser.add_argument("--out", type=Path, default=None, help="write the result JSON here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    chosen = variants(args)
    runs: dict[str, list[dict[str, float]]] = {v.name: [] for v in chosen}
    curve: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for variant in chosen:
                result = run_once(variant, args.batch, args.steps, args.data, Path(folder))
                runs[variant.name].append(result)
                print(f"{variant.name}: {result['images_per_second']:.1f} images/s", file=sys.stderr)
        if args.memory_steps:
            curve = memory_curve(chosen[0], args.batch, args.memory_steps, args.data, Path(folder))
    medians = {name: statistics.median(r["images_per_second"] for r in rs) for name, rs in runs.items()}
    result = {
        "what": "training images/s of pwocr train's default fine-tune (plates, the synthetic mix, distillation)",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": len(os.sched_getaffinity(0)),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "effective_batch": args.batch,
        "steps": args.steps,
        "runs": runs,
        "median_images_per_second": {name: round(m, 2) for name, m in medians.items()},
        "ratio_to_default": {name: round(m / medians["default"], 3) for name, m in medians.items()},
    }
    if curve:
        memory = [m for _, m in curve if m > 0]  # the last samples may see the process already gone
        half = memory[len(memory) // 2 :]
        result["memory"] = {
            "steps": args.memory_steps,
            "peak_mb": max(memory),
            "second_half_min_max_mb": [min(half), max(half)],
            "curve_seconds_mb": curve,
        }
        if args.plot:
            plot(curve, args.memory_steps, args.plot)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
