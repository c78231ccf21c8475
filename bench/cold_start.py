"""Cold start: wall time of ``pwocr recognize one.png`` against a Python script that reads it with rapidocr.

Each run is a fresh process, as a user at a shell has it (import, model load, one reading);
the two commands alternate so that both see the same machine state. Prints the medians and
their ratio. ``pwocr --help`` is timed too.

    python bench/cold_start.py --image ../shared/domain/nb36_06.png --out bench/results/cold_start.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time

from pwocr.io import atomic_write

PEER_SCRIPT = """
import sys
from rapidocr import RapidOCR
engine = RapidOCR(params={"Global.log_level": "critical"})
print(engine(sys.argv[1], use_det=False, use_cls=False, use_rec=True).txts)
"""


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="../shared/domain/nb36_06.png")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    pwocr = shutil.which("pwocr") or "pwocr"
    commands = {
        "pwocr recognize": [pwocr, "recognize", args.image],
        "rapidocr script": [sys.executable, "-c", PEER_SCRIPT, args.image],
        "pwocr --help": [pwocr, "--help"],
    }
    for command in commands.values():
        wall(command)  # first runs fill the OS file cache and pwocr's exported-graph cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            times[name].append(wall(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["pwocr recognize"] / medians["rapidocr script"]
    for name, median in medians.items():
        print(f"{name:<16} median {median:.2f} s over {args.repeats} runs")
    print(f"pwocr recognize takes {ratio:.2f}x the rapidocr script's wall time")
    if args.out:
        atomic_write(args.out, json.dumps({"image": args.image, "median_s": medians, "ratio": ratio}, indent=1))


if __name__ == "__main__":
    main()
