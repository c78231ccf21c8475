"""The ``pwocr`` command: argument parsing, then one library call per subcommand.

Every seed flag keeps its seed name (``--epochs_num``, ``--imgs_folder``...) beside a modern one.
A ``PwocrError`` is printed as one line on stderr with exit code 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pwocr.errors import PwocrError

if TYPE_CHECKING:
    from pwocr.decoding.constraints import Constraints
    from pwocr.inference.recognizer import Reading, Recognizer


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "on"}:
        return True
    if value in {"0", "false", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type for whole numbers of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive = _at_least(1)
_non_negative = _at_least(0)


def _add_common(p: argparse.ArgumentParser, training: bool = False) -> None:
    """The flags every seed script had; ``--n_workers`` and ``--fixed_seed`` only act when training
    (reading is deterministic and runs in one process), and are accepted elsewhere so seed commands run."""
    p.add_argument(
        "--use_cuda",
        "--cuda",
        dest="use_cuda",
        type=_bool,
        nargs="?",
        const=True,
        default=False,
        help="use a CUDA GPU if there is one",
    )
    note = "" if training else " (training only; accepted for the seed's commands)"
    p.add_argument(
        "--n_workers", "--workers", dest="n_workers", type=int, default=1, help=f"data loading processes{note}"
    )
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=None, help=f"random seed{note}")
    p.add_argument(
        "--batch_size",
        "--batch-size",
        dest="batch_size",
        type=_positive,
        default=32,
        help="lines per batch (default: 32)",
    )


class _Parser(argparse.ArgumentParser):
    """Every command's --help shows each flag's default."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pwocr", description="Read passwords out of photos.")
    from pwocr import __version__
    from pwocr.model.config import MODEL_SIZES
    from pwocr.training.config import TrainConfig

    TRAIN = TrainConfig()  # training flags take their defaults from the dataclass

    parser.add_argument("--version", action="version", version=f"pwocr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "train",
        help="train or fine-tune a model",
        description="Train from scratch, fine-tune, or train on the synthetic stream.",
    )
    _add_common(p, training=True)
    p.add_argument("--epochs_num", "--epochs", dest="epochs", type=_positive, default=TRAIN.epochs)
    p.add_argument("--lr", type=float, default=TRAIN.lr, help="peak learning rate of the one-cycle schedule")
    p.add_argument(
        "--weights_file",
        "--weights",
        dest="weights_file",
        default=None,
        help="start from this checkpoint (or 'default', the shipped model)",
    )
    p.add_argument(
        "--test_display", type=int, default=0, help="print N raw => decoded => truth lines at each validation"
    )
    p.add_argument("--val_each", type=_positive, default=TRAIN.val_each, help="validate every N epochs")
    p.add_argument(
        "--imgs_folder", "--images", dest="imgs_folder", default=None, help="folder the CSV file names are relative to"
    )
    p.add_argument(
        "--train_file", "--train-csv", dest="train_file", default=None, help="filename,label CSV of training images"
    )
    p.add_argument(
        "--val_file", "--val-csv", dest="val_file", default=None, help="filename,label CSV of validation images"
    )
    p.add_argument("--out", default="checkpoints", help="checkpoint folder (default: checkpoints/)")
    p.add_argument("--logs", default="logs", help="TensorBoard log folder (default: logs/)")
    p.add_argument(
        "--model",
        dest="model_size",
        default=TRAIN.model_size,
        choices=MODEL_SIZES,
        help="crnn (the paper's), crnn-small, crnn-tiny, or crnn-lcnet (the shipped model's)",
    )
    p.add_argument(
        "--alphabet",
        "--alphapet",
        dest="alphabet",
        default=None,
        help="characters or a charset name (default: from the training labels)",
    )
    p.add_argument(
        "--synth",
        dest="synth_ratio",
        type=float,
        default=0.0,
        help="share of fresh synthetic samples mixed into training (1.0 = synthetic only)",
    )
    p.add_argument(
        "--steps_per_epoch",
        "--steps",
        dest="steps_per_epoch",
        type=int,
        default=None,
        help="batches per epoch (needed for the endless synthetic stream)",
    )
    p.add_argument(
        "--synth_val_count",
        type=_positive,
        default=TRAIN.synth_val_count,
        help="synthetic validation lines when there is no --val_file",
    )
    p.add_argument(
        "--min_length",
        dest="synth_min_length",
        type=_positive,
        default=TRAIN.synth_min_length,
        help="shortest synthetic password",
    )
    p.add_argument(
        "--max_length",
        dest="synth_max_length",
        type=_positive,
        default=TRAIN.synth_max_length,
        help="longest synthetic password",
    )
    p.add_argument(
        "--fonts", dest="fonts_folder", default=None, help="render synthetic data in the .ttf/.otf fonts of this folder"
    )
    p.add_argument(
        "--max_width",
        type=_positive,
        default=TRAIN.max_width,
        help="widest input line in pixels after scaling to the model's height",
    )
    p.add_argument(
        "--pretrained_backbone",
        choices=["ppocrv6", "none"],
        default="ppocrv6",
        help="a fresh crnn-lcnet starts its conv stack from PP-OCRv6 small's weights (bundled in rapidocr) or from scratch",
    )
    p.add_argument("--backbone_lr_scale", type=float, default=1.0, help="the conv stack learns at this share of --lr")
    p.add_argument(
        "--freeze_blocks",
        type=int,
        default=-1,
        help="crnn-lcnet: keep its stem and first N conv blocks at their pretrained weights (default: -1, none)",
    )
    p.add_argument("--ignore_case", action="store_true", help="score a real --val_file ignoring case")
    p.add_argument("--ignore_symbols", action="store_true", help="score a real --val_file on letters and digits only")
    p.add_argument("--no_augment", dest="augment", action="store_false", help="train on real images as they are")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no_progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(handler=_train)

    p = sub.add_parser("synth", help="render synthetic password lines to a folder with a labels CSV")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--out", required=True, help="output folder (images and labels.csv)")
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=0)
    p.add_argument(
        "--fonts_split",
        choices=["train", "eval", "all"],
        default="train",
        help="bundled fonts to use: train, eval (held out) or all",
    )
    p.add_argument(
        "--fonts", dest="fonts_folder", default=None, help="render in the .ttf/.otf fonts of this folder instead"
    )
    p.add_argument("--alphabet", default="printable", help="characters or a charset name")
    p.add_argument("--min_length", type=int, default=6)
    p.add_argument("--max_length", type=int, default=20)
    p.set_defaults(handler=_synth)

    p = sub.add_parser(
        "recognize", help="read passwords from images", description="Read passwords from image files or a folder."
    )
    _add_common(p)
    p.add_argument("images", nargs="*", help="image files to read")
    p.add_argument(
        "--imgs_folder",
        "--folder",
        dest="imgs_folder",
        default=None,
        help="read every image here and write prediction.csv into it",
    )
    p.add_argument(
        "--checkpoint_path",
        "--checkpoint",
        dest="checkpoint",
        default="default",
        help="model file (default: the shipped model)",
    )
    p.add_argument(
        "--alphabet",
        "--alphapet",
        dest="alphabet",
        default=None,
        help="the model's alphabet (checked against the checkpoint); a subset restricts the reading",
    )
    _add_decoding(p)
    p.add_argument("--json", action="store_true", help="one JSON object per image instead of text")
    p.set_defaults(handler=_recognize)

    p = sub.add_parser(
        "evaluate",
        help="score a checkpoint on a labelled set",
        description="The seed's test metrics on a filename,label CSV.",
    )
    _add_common(p)
    p.add_argument(
        "--imgs_folder", "--images", dest="imgs_folder", default=None, help="the images (default: the CSV's folder)"
    )
    p.add_argument("--val_file", "--csv", dest="val_file", required=True, help="the filename,label CSV")
    p.add_argument("--no_header", dest="header", action="store_false", help="the CSV has no header row")
    p.add_argument("--ignore_case", action="store_true", help="score ignoring case (scene-text benchmarks)")
    p.add_argument(
        "--ignore_symbols", action="store_true", help="score letters and digits only (scene-text benchmarks)"
    )
    p.add_argument("--checkpoint_path", "--checkpoint", dest="checkpoint", default="default")
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
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser("split", help="split a labels CSV into train.csv and val.csv")
    p.add_argument("csv", help="the filename,label CSV to split")
    p.add_argument("--out", required=True, help="folder for train.csv and val.csv")
    p.add_argument("--val", type=float, default=0.2, help="share of rows held out for validation")
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=0)
    p.set_defaults(handler=_split)

    p = sub.add_parser("serve", help="serve readings over HTTP (POST an image to /read)")
    p.add_argument("--checkpoint_path", "--checkpoint", dest="checkpoint", default="default")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(handler=_serve)

    p = sub.add_parser("calibrate", help="fit a checkpoint's confidence temperature and save a calibrated copy")
    p.add_argument("--checkpoint_path", "--checkpoint", dest="checkpoint", default="default")
    p.add_argument("--out", required=True, help="the calibrated .safetensors file to write (fp16)")
    p.add_argument("--imgs_folder", default=None, help="calibrate on these labelled images ...")
    p.add_argument("--val_file", default=None, help="... listed in this CSV (default: fresh synthetic lines)")
    p.add_argument("--count", type=int, default=1000, help="synthetic lines when no CSV is given")
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=424242)
    p.set_defaults(handler=_calibrate)

    p = sub.add_parser("export", help="export a checkpoint to ONNX")
    p.add_argument("--checkpoint_path", "--checkpoint", dest="checkpoint", default="default")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.set_defaults(handler=_export)
    return parser


def _add_decoding(p: argparse.ArgumentParser, default_candidates: int = 1) -> None:
    p.add_argument(
        "--candidates",
        type=_positive,
        default=default_candidates,
        help=f"how many best readings to list beside the reading (beam search when > 1; default: {default_candidates})",
    )
    p.add_argument(
        "--charset",
        default=None,
        help="allowed characters: digits, hex, alnum, ... (+-joined names) or literal:<characters>",
    )
    p.add_argument("--length", type=_positive, default=None, help="exact password length")
    p.add_argument("--min_length", type=_non_negative, default=None, help="shortest allowed reading")
    p.add_argument("--max_length", type=_positive, default=None, help="longest allowed reading")
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


def _recognize(args: argparse.Namespace) -> int:
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


def _evaluate(args: argparse.Namespace) -> int:
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


def _split(args: argparse.Namespace) -> int:
    from pwocr.data.labels import split_labels

    n_train, n_val = split_labels(args.csv, args.out, args.val, args.seed)
    print(f"wrote {n_train} rows to {args.out}/train.csv and {n_val} to {args.out}/val.csv")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pwocr.serving.app import create_app

    uvicorn.run(create_app(args.checkpoint), host=args.host, port=args.port, log_level="info")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from pwocr.data.images import load_gray
    from pwocr.data.labels import read_labels
    from pwocr.evaluation.calibration import calibrate_checkpoint
    from pwocr.synth.render import render_set

    if args.val_file:
        samples = [(load_gray(i.path), i.label) for i in read_labels(args.val_file, args.imgs_folder)]
    else:
        samples = render_set(args.count, args.seed, split="train")
    temperature, before, after = calibrate_checkpoint(args.checkpoint, samples, args.out)
    print(
        f"temperature {temperature:.3f}: ECE {before.ece:.4f} -> {after.ece:.4f} on {before.n} lines; wrote {args.out}"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from pwocr.checkpoints import load_model, resolve_checkpoint
    from pwocr.inference.engine import file_sha256
    from pwocr.inference.onnx import export_onnx

    # The source's hash lets Recognizer use a graph shipped beside its checkpoint without re-exporting.
    source = resolve_checkpoint(args.checkpoint)
    export_onnx(load_model(source), args.out, source_sha256=file_sha256(source))
    print(f"wrote {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from pwocr.training.trainer import TrainConfig, train

    fields = TrainConfig.__dataclass_fields__
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    reports = train(config, progress=args.progress and sys.stderr.isatty())
    return 0 if reports or config.resume else 1


def _synth(args: argparse.Namespace) -> int:
    from pwocr.synth.dataset_writer import write_synthetic_set

    n = write_synthetic_set(
        args.out,
        args.count,
        args.seed,
        args.alphabet,
        args.min_length,
        args.max_length,
        args.fonts_split,
        args.fonts_folder,
    )
    print(f"wrote {n} images and labels.csv to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except PwocrError as e:
        print(f"pwocr: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pwocr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
