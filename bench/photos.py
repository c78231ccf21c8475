"""Whole photos: pwocr's photo mode against rapidocr's full pipeline (detection, classification, recognition).

Both read the same files from disk: composed scenes (``pwocr.synth.scenes``: Wi-Fi cards, café
signs, router stickers, login and router admin pages, terminals, phone settings, printouts) drawn
in the held-out ``eval`` fonts with a seed no training used, and the photos in ``../shared`` (the
seed's whole photo and the domain line crops, read as photos). For each tool:

- line recall: the share of true lines some reading matches exactly, spaces ignored (a reading
  matches a line alone, or a label box and its value box read one after the other);
- password top-1: pwocr's pick, label stripped, equals the password exactly. rapidocr picks
  nothing, so two figures are given for it: the password appears *anywhere* in its readings (a
  substring of any line: an upper bound for any picker on its output), and the line pwocr's
  picker chooses among rapidocr's readings;
- password top-3: the password among the 3 best strings of pwocr's pick (its n-best), and among
  the values of the 3 lines pwocr's picker ranks highest of rapidocr's readings;
- seconds per photo: the median and mean wall time of one call, decoding the file included,
  after one warm-up call; both on the same threads;
- each figure per layout (the scene kinds, among them ``pair_line``, ``label_after`` and
  ``several_networks``, where any listed network's password is a right pick and ``every_pair``
  says all of them were returned) and per photo condition (``plain``, ``small``, ``glare``).

    OMP_NUM_THREADS=2 python bench/photos.py --count 300 --out bench/results/photos.json

``--turn 90`` (or 180, 270) reads every scene as a phone held sideways or upside down took it;
``--condition small --read_height 0 --no_rapidocr`` is the ablation behind ``LINE_READ_HEIGHT``;
``--also_detector fp32=rapidocr/models/PP-OCRv6_det_small.onnx`` reads every photo again with
rapidocr's float32 detector beside the shipped float16-stored one (as ``pwocr+fp32``).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import platform
import statistics
import tempfile
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image

from pwocr.data.labels import read_labels
from pwocr.inference.recognizer import Recognizer
from pwocr.io import atomic_write
from pwocr.layout import LineFacts, TextDetector, draw_reading, photo, rank_passwords, read_photo
from pwocr.layout.detector import TextBox
from pwocr.layout.geometry import reading_order
from pwocr.synth.scenes import CONDITIONS, compose_scenes

#: Far from every seed training and the line benchmarks use.
SCENE_SEED = 20261126
SHARED = Path(__file__).resolve().parents[2] / "shared"


def squash(text: str) -> str:
    return "".join(text.split())


def line_recall(truth: list[str], read: list[str]) -> tuple[int, int]:
    """How many true lines the readings match exactly, spaces ignored.

    A true line is matched by one reading, by two consecutive readings joined (a detector that
    cut it in two), or together with the next true line by one reading (a label and its value in
    one row that the detector saw as one line).
    """
    found = {squash(t) for t in read} | {squash(a) + squash(b) for a, b in pairwise(read)}
    matched = {i for i, t in enumerate(truth) if squash(t) in found}
    whole = {squash(t) for t in read}
    for i, (a, b) in enumerate(pairwise(truth)):
        if squash(a) + squash(b) in whole:
            matched |= {i, i + 1}
    return len(matched), len(truth)


def load_cases(count: int, folder: Path, condition: str | None = None, turns: int = 0) -> list[dict]:
    """Scenes written to ``folder`` as PNG (turned ``turns`` quarter turns counterclockwise, as a phone
    held sideways or upside down takes them, with no EXIF orientation), then the shared photos:
    path, truth lines, password(s), kind, condition."""
    cases = []
    extra = {"condition": condition} if condition else {}
    for i, scene in enumerate(compose_scenes(count, SCENE_SEED, split="eval", **extra)):
        path = folder / f"scene{i:03d}_{scene.kind}_{scene.condition}.png"
        Image.fromarray(np.rot90(scene.image, turns)).save(path)
        cases.append(
            {
                "path": path,
                "lines": [line.text for line in scene.lines],
                "password": scene.password,
                "others": list(scene.others),
                "kind": scene.kind,
                "condition": scene.condition,
            }
        )
    # The shared photos: the seed's whole photo, then the domain crops (labels.csv), each file once.
    labels = {row.path.name: row.label for row in read_labels(SHARED / "domain" / "labels.csv")}
    files = [SHARED / "seed" / "IMG_20190423_162858.jpg", *(SHARED / "domain" / name for name in labels)]
    seen: set[str] = set()
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        if not digest or digest in seen:
            continue
        seen.add(digest)
        kind = "shared_photo" if path.suffix == ".jpg" else "shared_crop"
        cases.append(
            {"path": path, "lines": [labels[path.name]], "password": labels[path.name], "others": [], "kind": kind}
        )
    return cases


def facts_of(boxes: list[np.ndarray], texts: list[str], scores: list[float]) -> list[LineFacts]:
    """Line facts for pwocr's picker from another tool's boxes and readings, in reading order."""
    order, facts = reading_order([TextBox(np.asarray(b, np.float32), 1.0) for b in boxes])
    return [LineFacts(texts[k], float(scores[k]), f.row, f.left, f.right) for k, f in zip(order, facts)]


def run_pwocr(
    cases: list[dict],
    threads: int,
    draw_dir: Path | None,
    detector_side: int | None,
    detector_model: str | None = None,
) -> list[dict]:
    start = time.perf_counter()
    recognizer = Recognizer("default", threads=threads)
    sizes = {"max_side": detector_side} if detector_side else {}
    detector = TextDetector(detector_model, threads=threads, **sizes)
    read_photo(recognizer, cases[0]["path"], candidates=3, detector=detector)  # warm-up
    load_s = time.perf_counter() - start
    results = []
    for i, case in enumerate(cases):
        t = time.perf_counter()
        reading = read_photo(recognizer, case["path"], candidates=3, detector=detector)
        seconds = time.perf_counter() - t
        texts = [line.reading.text for line in reading.lines]
        words = [line.words for line in reading.lines]  # as a person reads them: spaces, accents
        pick = reading.password
        top = [c.text for c in pick.reading.candidates] if pick else []
        every = {case["password"], *case["others"]}
        results.append(
            {
                "seconds": seconds,
                "recall": line_recall(case["lines"], words),
                # On a sign listing several networks, any network's password is a right pick.
                "top1": bool(pick) and pick.reading.text in every,
                "pairs": every <= {p.reading.text for p in reading.pairs},
                "top3": bool(every & set(top[:3])),
                "anywhere": read_anywhere(case, texts),
                "picked": pick.reading.text if pick else None,
                "why": pick.why if pick else None,
                "lines": words,
            }
        )
        if draw_dir is not None and i < 12:
            draw_reading(reading, case["path"], draw_dir / f"{Path(case['path']).stem}.png")
    results[0]["load_s"] = load_s
    return results


def read_anywhere(case: dict, texts: list[str]) -> bool:
    """Some line's reading holds a password of the photo (on a sign of several networks, any of theirs, as for top-1)."""
    return any(password in squash(t) for password in (case["password"], *case["others"]) for t in texts)


def run_rapidocr(cases: list[dict], threads: int) -> list[dict]:
    from rapidocr import RapidOCR

    start = time.perf_counter()
    engine = RapidOCR(params={"Global.log_level": "critical", "EngineConfig.onnxruntime.intra_op_num_threads": threads})
    engine(str(cases[0]["path"]))  # warm-up
    load_s = time.perf_counter() - start
    results = []
    for case in cases:
        t = time.perf_counter()
        out = engine(str(case["path"]))
        seconds = time.perf_counter() - t
        texts = list(out.txts or [])
        boxes = list(out.boxes) if out.boxes is not None else []
        ranked = rank_passwords(facts_of(boxes, texts, list(out.scores or []))) if texts else []
        values = [p.value for p in ranked]
        results.append(
            {
                "seconds": seconds,
                "recall": line_recall(case["lines"], texts),
                "top1": bool(values) and values[0] in {case["password"], *case["others"]},
                "pairs": False,
                "top3": bool({case["password"], *case["others"]} & set(values[:3])),
                "anywhere": read_anywhere(case, texts),
                "picked": values[0] if values else None,
                "lines": texts,
            }
        )
    results[0]["load_s"] = load_s
    return results


def summarise(results: list[dict], cases: list[dict], select: str) -> dict:
    def member(case: dict) -> bool:
        if select == "all":
            return True
        if select == "scene":
            return not case["kind"].startswith("shared")
        return case["kind"].startswith(select) or case.get("condition") == select

    rows = [(r, c) for r, c in zip(results, cases) if member(c)]
    if not rows:
        return {}
    times = [r["seconds"] for r, _ in rows]
    found = sum(r["recall"][0] for r, _ in rows)
    total = sum(r["recall"][1] for r, _ in rows)
    n = len(rows)
    return {
        "photos": n,
        "line_recall": round(found / total, 4),
        "password_top1": round(sum(r["top1"] for r, _ in rows) / n, 4),
        "password_top3": round(sum(r["top3"] for r, _ in rows) / n, 4),
        "password_anywhere": round(sum(r["anywhere"] for r, _ in rows) / n, 4),
        "every_pair": round(sum(r["pairs"] for r, _ in rows) / n, 4),
        "seconds_per_photo_median": round(statistics.median(times), 3),
        "seconds_per_photo_mean": round(statistics.fmean(times), 3),
    }


def _brief(summary: dict) -> dict:
    """Pick rate, read-anywhere rate and every-pair rate of one group (empty when the group has no photo)."""
    keys = ("photos", "password_top1", "password_top3", "password_anywhere", "every_pair")
    return {k: summary[k] for k in keys} if summary else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="composed scenes (default: 200)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads for both tools (default: 2)")
    parser.add_argument("--out", default="bench/results/photos.json", help="JSON results (default: %(default)s)")
    parser.add_argument("--draw", default=None, help="folder to write pwocr's --draw pictures of the first 12 photos")
    parser.add_argument("--condition", choices=CONDITIONS, default=None, help="compose every scene in this condition")
    parser.add_argument(
        "--read_height",
        type=int,
        default=None,
        help=f"straighten lines at no fewer rows than this (default: {photo.LINE_READ_HEIGHT}; 0: as photographed)",
    )
    parser.add_argument(
        "--turn",
        type=int,
        choices=(0, 90, 180, 270),
        default=0,
        help="turn every scene this many degrees counterclockwise: a photo taken sideways or upside down",
    )
    parser.add_argument("--no_rapidocr", action="store_true", help="run pwocr alone (for ablations)")
    parser.add_argument(
        "--detector_side", type=int, default=None, help="pwocr's detector input, long side (default: TextDetector's)"
    )
    parser.add_argument(
        "--also_detector",
        action="append",
        default=[],
        metavar="[NAME=]ONNX",
        help="run pwocr again with this detector graph in place of the shipped one, reported as 'pwocr+NAME' "
        "(default NAME: the file's stem; repeatable)",
    )
    args = parser.parse_args()
    if args.read_height is not None:
        photo.LINE_READ_HEIGHT = args.read_height

    with tempfile.TemporaryDirectory(prefix="pwocr-scenes-") as tmp:
        t = time.perf_counter()
        cases = load_cases(args.count, Path(tmp), args.condition, args.turn // 90)
        compose_s = time.perf_counter() - t
        draw_dir = Path(args.draw) if args.draw else None
        if draw_dir:
            draw_dir.mkdir(parents=True, exist_ok=True)
        tools = {"pwocr": run_pwocr(cases, args.threads, draw_dir, args.detector_side)}
        for named in args.also_detector:
            name, _, graph = named.rpartition("=")
            tools[f"pwocr+{name or Path(graph).stem}"] = run_pwocr(cases, args.threads, None, args.detector_side, graph)
        if not args.no_rapidocr:
            tools["rapidocr"] = run_rapidocr(cases, args.threads)

    report: dict = {
        "scenes": args.count,
        "scene_seed": SCENE_SEED,
        "turned_degrees": args.turn,
        "fonts": "eval split (never used in training)",
        "kinds": dict(Counter(c["kind"] for c in cases)),
        "conditions": dict(Counter(c.get("condition", "shared") for c in cases)),
        "read_height": photo.LINE_READ_HEIGHT,
        "detector_side": args.detector_side or inspect.signature(TextDetector).parameters["max_side"].default,
        "threads": args.threads,
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "compose_s": round(compose_s, 1),
        "definitions": {
            "line_recall": "true lines matched exactly (spaces ignored) by a reading, two consecutive readings joined, or with the next true line by one reading",
            "password_top1": "pwocr: its pick equals the password (on a sign of several networks, any of theirs); "
            "rapidocr: pwocr's picker run on rapidocr's lines",
            "password_top3": "pwocr: among its pick's 3-best strings; rapidocr: among the 3 lines pwocr's picker ranks "
            "first (any network's password, as for top-1)",
            "password_anywhere": "the password (any network's, as for top-1) is a substring of some line's reading "
            "(no picking)",
        },
    }
    for name, results in tools.items():
        report[name] = {
            "load_s": round(results[0]["load_s"], 2),
            **{group: summarise(results, cases, group) for group in ("all", "scene", "shared")},
            "by_kind": {k: _brief(summarise(results, cases, k)) for k in sorted({c["kind"] for c in cases})},
            "by_condition": {k: _brief(summarise(results, cases, k)) for k in CONDITIONS},
        }
    report["failures"] = [
        {
            "photo": Path(c["path"]).name,
            "password": c["password"],
            "pwocr": {"picked": p["picked"], "why": p["why"], "lines": p["lines"]},
            "rapidocr": {"picked": r["picked"], "lines": r["lines"]} if r else None,
        }
        for c, p, r in zip(cases, tools["pwocr"], tools.get("rapidocr", [None] * len(cases)))
        if not p["top1"]
    ]
    for name in tools:
        if name.startswith("pwocr+"):  # the photos whose pick the other detector changes, either way
            report[f"{name} differs"] = [
                {"photo": Path(c["path"]).name, "password": c["password"], "pwocr": a["picked"], name: b["picked"]}
                for c, a, b in zip(cases, tools["pwocr"], tools[name])
                if a["top1"] != b["top1"]
            ]
    atomic_write(args.out, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    width = max(16, *(len(name) + 7 for name in tools))
    header = (
        f"{'':{width}} {'photos':>6} {'line recall':>11} {'pw top-1':>8} {'pw top-3':>8} {'anywhere':>8} {'s/photo':>8}"
    )
    print(header)
    for name in tools:
        for group in ("scene", "shared", "all"):
            s = report[name][group]
            if s:
                print(
                    f"{name + ' ' + group:<{width}} {s['photos']:>6} {s['line_recall']:>11.1%} {s['password_top1']:>8.1%} "
                    f"{s['password_top3']:>8.1%} {s['password_anywhere']:>8.1%} {s['seconds_per_photo_median']:>8.2f}"
                )
    print(f"{'layout / condition':<20} " + " ".join(f"{name + ' pick':>14} {name + ' anywhere':>18}" for name in tools))
    for group in [*sorted({c["kind"] for c in cases}), *CONDITIONS]:
        cells = [report[name]["by_kind"].get(group) or report[name]["by_condition"].get(group) for name in tools]
        if cells[0]:
            row = " ".join(f"{c['password_top1']:>14.1%} {c['password_anywhere']:>18.1%}" for c in cells)
            print(f"{group + ' (' + str(cells[0]['photos']) + ')':<20} {row}")
    print(f"pwocr failures: {len(report['failures'])}; results in {args.out}")


if __name__ == "__main__":
    main()
