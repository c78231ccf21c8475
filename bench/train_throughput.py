"""Training images per second with 1 and 2 processes (``pwocr train --nproc``) on this machine.

Each run fine-tunes the shipped model (crnn-svtr) on the real plates for a fixed number of steps
at the same effective batch (one process of ``--batch`` lines, or two of half as many each, so
both runs do the same optimisation), without validation, and reads the training loop's
throughput from the run's ``summary.json``: start-up and the final writes are not counted.
Runs alternate (1, 2, 1, 2, ...) so that a change in machine load hits both; medians and their
ratio are reported. The load average before and after goes into the result: on a shared machine
it says how far to trust the figures.

    python bench/train_throughput.py --out bench/results/train_throughput.json
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
from pathlib import Path

PLATES = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "plates-eu-br"


def run_once(
    processes: int, batch: int, steps: int, data: Path, folder: Path, use_cuda: bool, threads: int | None = None
) -> dict[str, float]:
    """One training run (``threads``: intra-op threads per process, else torch's choice); images/s and wall time."""
    out = folder / f"run-{processes}-{time.time_ns()}"
    command = [
        sys.executable,
        "-m",
        "pwocr.cli.main",
        "train",
        "--imgs_folder",
        str(data),
        "--train_file",
        str(data / "labels.csv"),
        "--weights_file",
        "default",
        "--synth",
        "0",
        "--epochs_num",
        "1",
        "--steps_per_epoch",
        str(steps),
        "--batch_size",
        str(batch // processes),
        "--n_workers",
        "0",
        "--nproc",
        str(processes),
        "--checkpoint_every",
        "0",
        "--no_calibrate",
        "--fixed_seed",
        "0",
        "--out",
        str(out),
        "--logs",
        str(out / "logs"),
        "--use_cuda",
        str(use_cuda).lower(),
    ]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # each run picks its own threads
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary = json.loads((out / "summary.json").read_text())
    return {"images_per_second": summary["images_per_second"], "wall_seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=PLATES, help="folder with labels.csv and its images")
    parser.add_argument("--batch", type=int, default=32, help="effective batch (split across processes)")
    parser.add_argument("--steps", type=int, default=12, help="training steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per process count")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--use_cuda", action="store_true", help="train on GPUs (one per process)")
    parser.add_argument(
        "--one_thread_reference",
        action="store_true",
        help="also time one process with one thread: tells a second core's gain from a second process's",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the result JSON here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    variants = [(str(p), p, None) for p in args.processes]
    if args.one_thread_reference:
        variants.append(("1, one thread", 1, 1))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in variants}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for name, p, threads in variants:
                result = run_once(p, args.batch, args.steps, args.data, Path(folder), args.use_cuda, threads)
                runs[name].append(result)
                print(f"{name} process(es): {result['images_per_second']:.1f} images/s", file=sys.stderr)
    medians = {name: statistics.median(r["images_per_second"] for r in rs) for name, rs in runs.items()}
    base = medians[variants[0][0]]
    result = {
        "what": "training images/s, crnn-svtr fine-tuned from the shipped model on real plates, no validation",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": len(os.sched_getaffinity(0)),
            "device": "cuda" if args.use_cuda else "cpu",
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "effective_batch": args.batch,
        "steps": args.steps,
        "runs": runs,
        "median_images_per_second": {name: round(m, 2) for name, m in medians.items()},
        "ratio_to_one_process": {name: round(m / base, 3) for name, m in medians.items()},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
