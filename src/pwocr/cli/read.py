"""``pwocr recognize`` and ``pwocr evaluate``: reading images with a model, and scoring it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pwocr.cli.common import add_checkpoint, add_use_cuda, non_negative, positive
from pwocr.errors import PwocrError

if TYPE_CHECKING:
    from pwocr.decoding.constraints import Constraints
    from pwocr.inference.recognizer import Reading, Recognizer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recognize", help="read passwords from images", description="Read passwords from image files or a folder."
    )
    p.add_argument("images", nargs="*", help="image files to read")
    p.add_argument(
        "--imgs_folder",
        "--folder",
        dest="imgs_folder",
        default=None,
        help="read every image here and write prediction.csv into it",
    )
    add_checkpoint(p)
    p.add_argument(
        "--alphabet",
        "--alphapet",
        dest="alphabet",
        default=None,
        help="the model's alphabet (checked against the checkpoint); a subset restricts the reading",
    )
    _add_decoding(p)
    p.add_argument("--json", action="store_true", help="one JSON object per image instead of text")
    _add_running(p)
    p.set_defaults(handler=run_recognize)

    p = sub.add_parser(
        "evaluate",
        help="score a checkpoint on a labelled set",
        description="The seed's test metrics on a filename,label CSV.",
    )
    p.add_argument(
        "--imgs_folder", "--images", dest="imgs_folder", default=None, help="the images (default: the CSV's folder)"
    )
    p.add_argument("--val_file", "--csv", dest="val_file", required=True, help="the filename,label CSV")
    p.add_argument("--no_header", dest="header", action="store_false", help="the CSV has no header row")
    p.add_argument("--ignore_case", action="store_true", help="score ignoring case (scene-text benchmarks)")
    p.add_argument(
        "--ignore_symbols", action="store_true", help="score letters and digits only (scene-text benchmarks)"
    )
    add_checkpoint(p)
    _add_decoding(p, default_candidates=5)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument(
        "--display_confusion",
        nargs="?",
        const="confusion.png",
        default=None,
        metavar="PNG",
        help="write a confusion-matrix PNG",
    )
    p.add_argument(
        "--display_wrong",
        nargs="?",
        const="wrong.html",
        default=None,
        metavar="HTML",
        help="write an HTML page of the wrong readings",
    )
    _add_running(p)
    p.set_defaults(handler=run_evaluate)


def _add_running(p: argparse.ArgumentParser) -> None:
    add_use_cuda(p)
    p.add_argument("--batch_size", "--batch-size", dest="batch_size", type=positive, default=32, help="lines per batch")
    # The seed's scripts took these everywhere; reading is deterministic and runs in one process.
    p.add_argument("--n_workers", "--workers", dest="n_workers", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=None, help=argparse.SUPPRESS)


def _add_decoding(p: argparse.ArgumentParser, default_candidates: int = 1) -> None:
    p.add_argument(
        "--candidates",
        type=positive,
        default=default_candidates,
        help=f"how many best readings to list beside the reading (beam search when > 1; default: {default_candidates})",
    )
    p.add_argument(
        "--charset",
        default=None,
        help="allowed characters: digits, hex, alnum, ... (+-joined names) or literal:<characters>",
    )
    p.add_argument("--length", type=positive, default=None, help="exact password length")
    p.add_argument("--min_length", type=non_negative, default=None, help="shortest allowed reading")
    p.add_argument("--max_length", type=positive, default=None, help="longest allowed reading")
    p.add_argument(
        "--backend", choices=["onnx", "torch"], default="onnx", help="inference engine (default: onnxruntime)"
    )


def _constraints(args: argparse.Namespace, model_alphabet: str) -> Constraints | None:
    from pwocr.alphabet import resolve_charset
    from pwocr.decoding.constraints import Constraints

    allowed = resolve_charset(args.charset) if args.charset else None
    if getattr(args, "alphabet", None):
        given = resolve_charset(args.alphabet)
        if given != model_alphabet:
            extra = [c for c in given if c not in model_alphabet]
            if extra:
                raise PwocrError(f"--alphabet has {extra[0]!r}, which the checkpoint's alphabet does not have")
            allowed = "".join(c for c in given if allowed is None or c in allowed)
    return Constraints.from_options(allowed, args.length, args.min_length, args.max_length, model_alphabet)


def _recognizer(args: argparse.Namespace) -> Recognizer:
    from pwocr.inference.recognizer import Recognizer

    device = "cpu"
    if args.use_cuda:
        import torch

        if torch.cuda.is_available():
            device = "cuda"
        else:
            print("pwocr: --use_cuda: no CUDA GPU is available; running on the CPU", file=sys.stderr)
    return Recognizer(args.checkpoint, device=device, batch_size=args.batch_size, backend=args.backend)


def _format_reading(reading: Reading) -> str:
    lines = [f"{reading.image}: {reading.text}  ({reading.confidence:.1%}, raw output: {reading.raw})"]
    uncertain = reading.uncertain
    if uncertain:
        indent = " " * (len(reading.image) + 2)
        marks = "".join("^" if i in uncertain else " " for i in range(len(reading.text))).rstrip()
        rivals = ", ".join(
            f"{reading.chars[i].char!r} or {reading.chars[i].alternatives[0][0]!r}"
            for i in uncertain
            if reading.chars[i].alternatives
        )
        lines.append(f"{indent}{marks}  unsure: {rivals}")
    for rank, candidate in enumerate(reading.candidates[1:], start=2):
        lines.append(f"  {rank}. {candidate.text}  ({candidate.confidence:.1%})")
    return "\n".join(lines)


def run_recognize(args: argparse.Namespace) -> int:
    import csv
    import json
    import os
    from pathlib import Path

    from pwocr.data.images import list_images

    if not args.images and not args.imgs_folder:
        raise PwocrError("give image files, or a folder with --imgs_folder")
    recognizer = _recognizer(args)
    constraints = _constraints(args, recognizer.alphabet.chars)
    skipped: list[str] = []

    def warn(message: str) -> None:
        skipped.append(message)
        print(f"pwocr: {message}", file=sys.stderr)

    def show(reading: Reading) -> None:
        if args.json:
            print(json.dumps(reading.as_dict(detail=True), ensure_ascii=False), flush=True)
        else:
            print(_format_reading(reading), flush=True)

    count = 0
    if args.images:
        for reading in recognizer.read_stream(args.images, args.candidates, constraints, skip_errors=True, warn=warn):
            show(reading)
            count += 1
    if args.imgs_folder:
        folder = Path(args.imgs_folder)
        files = list_images(folder)
        if not files:
            raise PwocrError(f"{folder}: no images found")
        # Rows go to a partial file as they are read (a kill keeps what was read), which becomes
        # prediction.csv, atomically, when the folder is done.
        target = folder / "prediction.csv"
        partial = folder / ".prediction.csv.partial"
        try:
            out = partial.open("w", newline="", encoding="utf-8")
        except OSError as e:
            raise PwocrError(f"{target}: cannot write ({e.strerror})") from None
        with out:
            writer = csv.writer(out)
            writer.writerow(("img", "password"))
            for reading in recognizer.read_stream(files, args.candidates, constraints, skip_errors=True, warn=warn):
                show(reading)
                writer.writerow((Path(reading.image).name, reading.text))
                out.flush()
                count += 1
            os.fsync(out.fileno())
        os.replace(partial, target)
        print(f"pwocr: wrote {target}", file=sys.stderr)
    total = count + len(skipped)
    if total > 1 or skipped:
        print(f"pwocr: read {count} of {total} images, skipped {len(skipped)}", file=sys.stderr)
    if not count:
        print("pwocr: error: no image could be read", file=sys.stderr)
        return 2
    return 1 if skipped else 0


def run_evaluate(args: argparse.Namespace) -> int:
    import json

    from pwocr.data.labels import read_labels
    from pwocr.evaluation.evaluate import evaluate, write_confusion_png, write_wrong_html

    items = read_labels(args.val_file, args.imgs_folder, header=args.header)
    recognizer = _recognizer(args)
    constraints = _constraints(args, recognizer.alphabet.chars)
    for item in items:
        recognizer.alphabet.encode(item.label, source=str(item.path))
    report = evaluate(
        recognizer,
        items,
        top_k=sorted({1, 3, 5, args.candidates}),
        constraints=constraints,
        ignore_case=args.ignore_case,
        ignore_symbols=args.ignore_symbols,
    )
    if args.display_confusion:
        write_confusion_png(report, args.display_confusion)
    if args.display_wrong:
        write_wrong_html(report, args.display_wrong)
    if args.json:
        print(json.dumps(report.as_dict()))
        return 0
    m = report.metrics
    print(f"images                 {m.n}")
    print(f"word accuracy          {m.word_accuracy:.2%}")
    for k, v in report.top_k_word_accuracy.items():
        print(f"top-{k} word accuracy    {v:.2%}")
    print(f"character accuracy     {m.char_accuracy:.2%}")
    print(f"character precision    {m.precision:.2%}")
    print(f"character recall       {m.recall:.2%}")
    print(f"character F1           {m.f1:.2%}")
    print(f"character error rate   {m.cer:.2%}")
    print(f"latency per image      {report.latency_ms:.1f} ms")
    if args.display_confusion:
        print(f"confusion matrix       {args.display_confusion}")
    if args.display_wrong:
        print(f"wrong readings         {args.display_wrong}")
    return 0
