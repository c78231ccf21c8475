"""The ``pwocr`` command: argument parsing, then one library call per subcommand.

Every seed flag keeps its seed name (``--epochs_num``, ``--imgs_folder``...) beside a modern one.
A ``PwocrError`` is printed as one line on stderr with exit code 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pwocr.errors import PwocrError


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "on"}:
        return True
    if value in {"0", "false", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--use_cuda", "--cuda", dest="use_cuda", type=_bool, nargs="?", const=True, default=False, help="use a CUDA GPU if there is one")
    p.add_argument("--n_workers", "--workers", dest="n_workers", type=int, default=1, help="data loading processes")
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=None, help="random seed, for repeatable runs")
    p.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=32)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pwocr", description="Read passwords out of photos.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train or fine-tune a model", description="Train from scratch, fine-tune, or train on the synthetic stream.")
    _add_common(p)
    p.add_argument("--epochs_num", "--epochs", dest="epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weights_file", "--weights", dest="weights_file", default=None, help="start from this checkpoint (or 'default', the shipped model)")
    p.add_argument("--test_display", type=int, default=0, help="print N raw => decoded => truth lines at each validation")
    p.add_argument("--val_each", type=int, default=1, help="validate every N epochs")
    p.add_argument("--imgs_folder", "--images", dest="imgs_folder", default=None, help="folder the CSV file names are relative to")
    p.add_argument("--train_file", "--train-csv", dest="train_file", default=None, help="filename,label CSV of training images")
    p.add_argument("--val_file", "--val-csv", dest="val_file", default=None, help="filename,label CSV of validation images")
    p.add_argument("--out", default="checkpoints", help="checkpoint folder (default: checkpoints/)")
    p.add_argument("--logs", default="logs", help="TensorBoard log folder (default: logs/)")
    p.add_argument("--model", dest="model_size", default="crnn", help="model size: crnn (the paper's), crnn-small, crnn-tiny")
    p.add_argument("--alphabet", "--alphapet", dest="alphabet", default=None, help="characters or a charset name (default: from the training labels)")
    p.add_argument("--synth", dest="synth_ratio", type=float, default=0.0, help="share of fresh synthetic samples mixed into training (1.0 = synthetic only)")
    p.add_argument("--steps_per_epoch", "--steps", dest="steps_per_epoch", type=int, default=None, help="batches per epoch (needed for the endless synthetic stream)")
    p.add_argument("--synth_val_count", type=int, default=512, help="synthetic validation lines when there is no --val_file")
    p.add_argument("--min_length", dest="synth_min_length", type=int, default=6, help="shortest synthetic password")
    p.add_argument("--max_length", dest="synth_max_length", type=int, default=20, help="longest synthetic password")
    p.add_argument("--fonts", dest="fonts_folder", default=None, help="render synthetic data in the .ttf/.otf fonts of this folder")
    p.add_argument("--max_width", type=int, default=800, help="widest input line in pixels after scaling to 32 high")
    p.add_argument("--no_augment", dest="augment", action="store_false", help="train on real images as they are")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no_progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(handler=_train)

    p = sub.add_parser("synth", help="render synthetic password lines to a folder with a labels CSV")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--out", required=True, help="output folder (images and labels.csv)")
    p.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=0)
    p.add_argument("--fonts_split", choices=["train", "eval", "all"], default="train", help="bundled fonts to use: train, eval (held out) or all")
    p.add_argument("--fonts", dest="fonts_folder", default=None, help="render in the .ttf/.otf fonts of this folder instead")
    p.add_argument("--alphabet", default="printable", help="characters or a charset name")
    p.add_argument("--min_length", type=int, default=6)
    p.add_argument("--max_length", type=int, default=20)
    p.set_defaults(handler=_synth)
    return parser


def _train(args: argparse.Namespace) -> int:
    from pwocr.training.trainer import TrainConfig, train

    fields = TrainConfig.__dataclass_fields__
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    reports = train(config, progress=args.progress and sys.stderr.isatty())
    return 0 if reports or config.resume else 1


def _synth(args: argparse.Namespace) -> int:
    from pwocr.synth.dataset_writer import write_synthetic_set

    n = write_synthetic_set(args.out, args.count, args.seed, args.alphabet, args.min_length, args.max_length, args.fonts_split, args.fonts_folder)
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
