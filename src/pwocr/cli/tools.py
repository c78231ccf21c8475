"""The smaller commands: ``synth``, ``split``, ``calibrate``, ``average`` and ``export``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pwocr.cli.common import add_checkpoint, examples, non_negative, output_file, positive
from pwocr.errors import PwocrError
from pwocr.io import make_folder


def register(sub: argparse._SubParsersAction) -> None:
    _register_synth(sub)
    _register_split(sub)
    _register_calibrate(sub)
    _register_average(sub)
    _register_export(sub)


def _register_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        needs_extra="train",
        help="render synthetic password lines to a folder with a labels CSV",
        description="Render synthetic password lines (the training engine's) to a folder, with labels.csv.",
        epilog=examples(
            "pwocr synth --count 1000 --out synth-eval --fonts_split eval",
            "pwocr synth --scenes --count 200 --out scenes     # whole photos: cards, screens, stickers",
        ),
    )
    p.add_argument("--count", type=positive, required=True, metavar="N", help="how many lines to render")
    p.add_argument("--out", required=True, metavar="FOLDER", help="output folder (images and labels.csv)")
    p.add_argument(
        "--scenes",
        action="store_true",
        help="compose whole photos (Wi-Fi cards, login screens, router stickers...) with labelled lines and "
        "decoys, in held-out fonts unless --fonts_split or --fonts say otherwise; truth in scenes.json",
    )
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=non_negative, default=0, help="random seed")
    p.add_argument(
        "--fonts_split",
        choices=["train", "eval", "all"],
        default=None,
        help="bundled fonts to use: train, eval (held out) or all (default: train; eval for --scenes)",
    )
    p.add_argument(
        "--fonts",
        dest="fonts_folder",
        default=None,
        metavar="FOLDER",
        help="render in the .ttf/.otf fonts of this folder instead",
    )
    p.add_argument(
        "--alphabet", default=None, metavar="CHARS", help="characters or a charset name (default: printable)"
    )
    p.add_argument(
        "--colour",
        "--color",
        action="store_true",
        help="render RGB lines, as a colour model (the shipped one) trains on, instead of gray ones",
    )
    p.add_argument(
        "--synth_min_length",
        "--min_length",
        dest="min_length",
        type=positive,
        default=None,
        metavar="N",
        help="shortest password (default: 6)",
    )
    p.add_argument(
        "--synth_max_length",
        "--max_length",
        dest="max_length",
        type=positive,
        default=None,
        metavar="N",
        help="longest password (default: 20)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a labels.csv and images of the same names already in --out (else refused)",
    )
    p.set_defaults(handler=run_synth)


def _register_split(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "split",
        help="split a labels CSV into train.csv, val.csv and optionally test.csv",
        description="Split a filename,label CSV into train.csv, val.csv and (with --test) test.csv at random.",
        epilog=examples(
            "pwocr split photos/labels.csv --out photos --val 0.2",
            "pwocr split photos/labels.csv --out photos --val 0.15 --test 0.3",
        ),
    )
    p.add_argument("csv", help="the filename,label CSV to split")
    p.add_argument("--out", required=True, metavar="FOLDER", help="folder for train.csv, val.csv and test.csv")
    p.add_argument("--val", type=float, default=0.2, metavar="SHARE", help="share of rows held out for validation")
    p.add_argument(
        "--test",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of rows held out in test.csv, to judge the finished model on rows no choice saw",
    )
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=0, help="random seed")
    p.add_argument("--no_header", dest="header", action="store_false", help="the CSV has no header row")
    p.set_defaults(handler=run_split)


def _register_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        needs_extra="train",
        help="fit a checkpoint's confidence temperature",
        description="Fit the temperature that makes a checkpoint's confidences honest (lowest expected "
        "calibration error) on labelled lines, and save a calibrated fp16 copy.",
        epilog=examples(
            "pwocr calibrate --checkpoint_path run/best.safetensors --out calibrated.safetensors",
            "pwocr calibrate --imgs_folder photos --val_file photos/val.csv --out calibrated.safetensors",
        ),
    )
    add_checkpoint(p, onnx=False)
    p.add_argument(
        "--out",
        required=True,
        type=output_file(".safetensors"),
        metavar="FILE",
        help="the calibrated .safetensors file to write (fp16)",
    )
    p.add_argument("--imgs_folder", default=None, metavar="FOLDER", help="calibrate on these labelled images ...")
    p.add_argument(
        "--val_file", default=None, metavar="CSV", help="... listed in this CSV (default: fresh synthetic lines)"
    )
    p.add_argument(
        "--allow_outside",
        action="store_true",
        help="read CSV names that leave --imgs_folder (../ or absolute); such rows are skipped by default",
    )
    p.add_argument("--count", type=positive, default=1000, metavar="N", help="synthetic lines when no CSV is given")
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=non_negative, default=424242, help="random seed")
    p.set_defaults(handler=run_calibrate)


def _register_average(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "average",
        needs_extra="train",
        help="average the weights of checkpoints of one model",
        description="Average the weights of checkpoints of one model (WiSE-FT): a fine-tuned model averaged "
        "with its start keeps much of what it learnt and gives back little of what the start knew.",
        epilog=examples(
            "pwocr average default runs/stage4/last.safetensors --out averaged.safetensors",
            "pwocr average a.safetensors b.safetensors --shares 0.3 0.7 --out averaged.safetensors",
        ),
    )
    p.add_argument(
        "checkpoints", nargs="+", metavar="CHECKPOINT", help="two or more checkpoints ('default': the shipped one)"
    )
    p.add_argument(
        "--shares",
        nargs="+",
        type=float,
        metavar="SHARE",
        help="each checkpoint's share, summing to 1 (default: equal)",
    )
    p.add_argument(
        "--out",
        required=True,
        type=output_file(".safetensors"),
        metavar="FILE",
        help="the averaged .safetensors file to write (fp32)",
    )
    p.set_defaults(handler=run_average)


def _register_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        needs_extra="train",
        help="export a checkpoint to ONNX",
        description="Export a checkpoint to an ONNX graph that carries its alphabet, preprocessing and "
        "temperature as metadata: recognize --checkpoint_path model.onnx reads with it alone.",
        epilog=examples("pwocr export --out model.onnx", "pwocr recognize photo.jpg --checkpoint_path model.onnx"),
    )
    add_checkpoint(p, onnx=False)
    p.add_argument("--out", required=True, type=output_file(".onnx"), metavar="FILE", help="the .onnx file to write")
    p.set_defaults(handler=run_export)


def check_synth_options(args: argparse.Namespace) -> None:
    """Refuse what would fail only after rendering started or be silently ignored: lengths that
    contradict, a line option given with ``--scenes``, an --out that is no folder. Fills in the
    line options' defaults (the synthetic engine's, ``SynthConfig``)."""
    from pwocr.synth.render import SynthConfig

    # The line options; ``--scenes`` composes its own passwords, in colour, so it takes none of them.
    line_defaults = {
        "alphabet": "printable",
        "min_length": SynthConfig.min_length,
        "max_length": SynthConfig.max_length,
    }
    if args.scenes:
        given = [f"--{name}" for name in line_defaults if getattr(args, name) is not None]
        given += ["--colour"] if args.colour else []
        if given:
            raise PwocrError(
                f"--scenes composes whole photos, in colour, with passwords of its own: {', '.join(given)} "
                "applies to lines only"
            )
    for name, default in line_defaults.items():
        setattr(args, name, default if getattr(args, name) is None else getattr(args, name))
    if args.min_length > args.max_length:
        raise PwocrError(f"--synth_min_length {args.min_length} is more than --synth_max_length {args.max_length}")
    make_folder(args.out)


def run_synth(args: argparse.Namespace) -> int:
    from pwocr.synth.dataset_writer import write_scene_set, write_synthetic_set

    check_synth_options(args)
    if args.scenes:
        n = write_scene_set(
            args.out, args.count, args.seed, args.fonts_split or "eval", args.overwrite, args.fonts_folder
        )
        print(f"wrote {n} photos, labels.csv and scenes.json to {args.out}")
        return 0
    n = write_synthetic_set(
        args.out,
        args.count,
        args.seed,
        args.alphabet,
        args.min_length,
        args.max_length,
        args.fonts_split or "train",
        args.fonts_folder,
        args.colour,
        overwrite=args.overwrite,
    )
    print(f"wrote {n} images and labels.csv to {args.out}")
    return 0


def run_split(args: argparse.Namespace) -> int:
    from pwocr.data.labels import split_labels

    counts = split_labels(args.csv, args.out, args.val, args.seed, args.test, header=args.header)
    print("wrote " + ", ".join(f"{n} rows to {Path(args.out) / name}.csv" for name, n in counts.items()))
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from pwocr.checkpoints import read_config, resolve_checkpoint
    from pwocr.evaluation.calibration import LabelSource, calibrate_checkpoint, labelled_samples
    from pwocr.synth.render import SynthConfig, render_set

    if args.imgs_folder is not None and not args.val_file:
        raise PwocrError(
            f"--imgs_folder {args.imgs_folder}: give --val_file CSV, the labels of its images "
            "(without one, calibrate renders --count synthetic lines)"
        )
    config = read_config(resolve_checkpoint(args.checkpoint))  # the metadata alone: the fit loads the weights
    skipped = 0
    if args.val_file:
        source = LabelSource(args.val_file, args.imgs_folder, args.allow_outside)
        whose = f"the alphabet of {args.checkpoint}"
        samples, rows = labelled_samples(source, config, whose)
        skipped = len(rows)
        where = args.val_file
    else:
        samples = render_set(args.count, args.seed, split="train", config=SynthConfig(colour=config.colour))
        where = f"--count {args.count} synthetic lines"
    temperature, before, after = calibrate_checkpoint(args.checkpoint, samples, args.out, source=where)
    left_out = f" ({skipped} rows skipped, listed above)" if skipped else ""
    print(
        f"temperature {temperature:.3f}: ECE {before.ece:.4f} -> {after.ece:.4f} on {before.n} lines{left_out}; "
        f"wrote {args.out}"
    )
    return 1 if skipped else 0  # as evaluate: a script never takes a subset's fit for the set's unawares


def run_average(args: argparse.Namespace) -> int:
    from pwocr.checkpoints import average_checkpoints, save_weights

    shares = args.shares or [1 / len(args.checkpoints)] * len(args.checkpoints)
    save_weights(average_checkpoints(args.checkpoints, shares), args.out)
    print(f"wrote {args.out}: the average of {len(args.checkpoints)} checkpoints")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pwocr.checkpoints import load_model, resolve_checkpoint
    from pwocr.inference.onnx import export_onnx
    from pwocr.io import file_sha256

    # The source's hash lets Recognizer use a graph shipped beside its checkpoint without re-exporting.
    source = resolve_checkpoint(args.checkpoint)
    export_onnx(load_model(source), args.out, source_sha256=file_sha256(source))
    print(f"wrote {args.out}")
    return 0
