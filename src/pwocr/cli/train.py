"""``pwocr train``: train from scratch, fine-tune, or train on the synthetic stream, on one process or many.

Every flag defaults to "not given" (``argparse.SUPPRESS``): the values come from ``TrainConfig``,
and the flags given explicitly are known, so that ``--resume`` keeps the saved plan except where a
flag changes it. Values are checked by ``TrainConfig.check`` before any work starts, so a bad one
is a one-line error (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from pwocr.cli.common import add_use_cuda, boolean, examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        needs_extra="train",
        help="train or fine-tune a model",
        description="Train from scratch, fine-tune a checkpoint on your labelled photos, or train on the "
        "synthetic stream. Checkpoints go to --out, TensorBoard logs to --logs. --nproc N trains in N "
        "processes (torchrun); under torchrun each process is one rank of the run.",
        epilog=examples(
            "pwocr train --imgs_folder photos --train_file photos/train.csv --val_file photos/val.csv "
            "--weights_file default",
            "pwocr train --synth 1.0 --steps_per_epoch 500 --model crnn-small --epochs_num 4 --nproc 2",
            "pwocr train --resume --out checkpoints    # continue where a stopped run left off",
        ),
        argument_default=argparse.SUPPRESS,
    )
    _add_data_flags(p)
    _add_synthetic_flags(p)
    _add_model_flags(p)
    _add_optimisation_flags(p)
    _add_run_flags(p)
    p.set_defaults(handler=run_train, message_prefix="")


def _default(name: str) -> str:
    """`` (default: X)`` for a flag's help, X being ``TrainConfig``'s value."""
    from pwocr.training.config import default_text

    return f" (default: {default_text(name)})"


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("data")
    data.add_argument("--imgs_folder", "--images", dest="imgs_folder", help="folder the CSV file names are relative to")
    data.add_argument("--train_file", "--train-csv", dest="train_file", help="filename,label CSV of training images")
    data.add_argument("--val_file", "--val-csv", dest="val_file", help="filename,label CSV of validation images")
    data.add_argument(
        "--alphabet",
        "--alphapet",
        dest="alphabet",
        help="characters or a charset name (default: the pretrained model's, else the training labels')",
    )
    data.add_argument(
        "--extend_alphabet",
        action="store_true",
        help="add label characters missing from --alphabet or the pretrained model's alphabet (else an error)",
    )
    data.add_argument(
        "--allow_outside",
        action="store_true",
        help="read CSV names that leave --imgs_folder (../ or absolute); such rows are skipped by default",
    )
    data.add_argument(
        "--strict",
        action="store_true",
        help="stop before training if any label row would be skipped (else each is reported and left out)",
    )
    data.add_argument("--no_augment", dest="augment", action="store_false", help="train on real images as they are")
    data.add_argument("--ignore_case", action="store_true", help="score a real --val_file ignoring case")
    data.add_argument(
        "--ignore_symbols", action="store_true", help="score a real --val_file on letters and digits only"
    )


def _add_synthetic_flags(p: argparse.ArgumentParser) -> None:
    synth = p.add_argument_group("synthetic data")
    synth.add_argument(
        "--synth",
        dest="synth_ratio",
        type=float,
        metavar="R",
        help="share of fresh synthetic passwords in each batch (1.0 = synthetic only; default: 0.5 when "
        "fine-tuning a --weights_file on a --train_file, so it keeps reading passwords, else 0)",
    )
    synth.add_argument(
        "--synth_val_count",
        type=int,
        help="synthetic validation lines (default: 256 when fine-tuning a --weights_file on a --train_file, the guard "
        "set that watches for forgetting; 128 beside a --train_file from scratch; else 512)",
    )
    synth.add_argument(
        "--synth_min_length",
        "--min_length",
        dest="synth_min_length",
        type=int,
        help="shortest synthetic password (--min_length is the seed's name)" + _default("synth_min_length"),
    )
    synth.add_argument(
        "--synth_max_length",
        "--max_length",
        dest="synth_max_length",
        type=int,
        help="longest synthetic password (--max_length is the seed's name)" + _default("synth_max_length"),
    )
    synth.add_argument(
        "--fonts", dest="fonts_folder", help="render synthetic data in the .ttf/.otf fonts of this folder"
    )
    synth.add_argument(
        "--synth_words",
        metavar="FILE",
        help="a word list (one word a line, e.g. /usr/share/dict/american-english from Debian's wamerican): "
        "real words, rendered as signs show them, make --synth_word_share of the synthetic lines, so that the "
        "model keeps reading words as words while it learns passwords",
    )
    synth.add_argument(
        "--synth_word_share",
        type=float,
        help="share of the synthetic training lines that are words of --synth_words (validation stays passwords)"
        + _default("synth_word_share"),
    )


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    from pwocr.model.config import MODEL_SIZES

    model = p.add_argument_group("model")
    model.add_argument(
        "--model",
        dest="model_size",
        choices=MODEL_SIZES,
        help="network: crnn (the paper's), crnn-small, crnn-tiny, crnn-lcnet, crnn-svtr (the shipped model's)"
        + _default("model_size"),
    )
    model.add_argument(
        "--weights_file",
        "--weights",
        dest="weights_file",
        help="start from this checkpoint (or 'default', the shipped model)",
    )
    model.add_argument(
        "--pretrained_backbone",
        choices=["ppocrv6", "none"],
        help="a fresh crnn-lcnet/crnn-svtr starts its features from PP-OCRv6 small's weights (shipped with pwocr)"
        + _default("pretrained_backbone"),
    )
    model.add_argument(
        "--colour",
        "--color",
        dest="colour",
        type=boolean,
        metavar="{yes,no}",
        help="read RGB lines instead of gray ones (default: the --weights_file model's; gray for a fresh one)",
    )
    model.add_argument(
        "--pad_width",
        type=int,
        help="pad narrower lines with mid-gray to this width in pixels, as PP-OCRv6 pads to 320 "
        "(default: the --weights_file model's; none for a fresh one)",
    )
    model.add_argument(
        "--freeze_blocks",
        type=int,
        help="keep the stem and first N conv blocks at their starting weights (-1: none; default: the whole "
        "stack when fine-tuning with --weights_file and --train_file, else none)",
    )
    model.add_argument(
        "--refine_lookalikes",
        action="store_true",
        help="train the --weights_file model's look-alike refiner alone (added, silent, where it has none): a small "
        "conv branch that shares each look-alike group's probability out by the glyph's shape; the rest of the "
        "model stays as it is",
    )


def _add_optimisation_flags(p: argparse.ArgumentParser) -> None:
    optim = p.add_argument_group("optimisation")
    optim.add_argument("--epochs_num", "--epochs", dest="epochs", type=int, help="epochs" + _default("epochs"))
    optim.add_argument(
        "--steps_per_epoch",
        "--steps",
        dest="steps_per_epoch",
        type=int,
        help="batches per epoch (default: one pass over the training images; 1000 on the synthetic stream alone)",
    )
    optim.add_argument(
        "--batch_size",
        "--batch-size",
        dest="batch_size",
        type=int,
        help="lines per batch and process: N processes step on N x this" + _default("batch_size"),
    )
    optim.add_argument("--lr", type=float, help="peak learning rate of the one-cycle schedule" + _default("lr"))
    optim.add_argument("--weight_decay", type=float, help="AdamW weight decay" + _default("weight_decay"))
    optim.add_argument(
        "--backbone_lr_scale",
        type=float,
        help="the conv stack learns at this share of --lr" + _default("backbone_lr_scale"),
    )
    optim.add_argument(
        "--distill",
        type=float,
        help="learning without forgetting: weight of the KL divergence from the --weights_file model's "
        "per-frame readings of the batch's synthetic lines (every line when the run has none), added to the "
        "CTC loss" + _default("distill"),
    )
    optim.add_argument(
        "--anchor",
        type=float,
        help="after every step, pull the learning conv weights back toward the --weights_file model's by "
        "their learning rate (--lr x --backbone_lr_scale, on the schedule) x this share of the distance "
        "(decoupled L2-SP; 0: no pull)" + _default("anchor"),
    )
    optim.add_argument(
        "--max_width",
        type=int,
        help="widest input line in pixels after scaling to the model's height" + _default("max_width"),
    )
    optim.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="stop when validation has not improved for N validations in a row (0: never)" + _default("patience"),
    )
    optim.add_argument(
        "--soup",
        type=int,
        metavar="N",
        help="fine-tune N times, each run with the next seed (in --out/member-1 ... member-N), and keep the "
        "average of their kept weights (a model soup: it forgets less of what the start read than one run, "
        "and reads your set as well or better; N times the time; 1: one run)" + _default("soup"),
    )
    optim.add_argument(
        "--guard_drop",
        type=float,
        metavar="POINTS",
        help="a fine-tune keeps the epoch that reads --val_file best among those whose synthetic guard "
        "accuracy is within POINTS of the starting model's (none within: the one that forgot least)"
        + _default("guard_drop"),
    )
    optim.add_argument("--fixed_seed", "--seed", dest="seed", type=int, help="random seed (default: from the clock)")


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    run = p.add_argument_group("run")
    run.add_argument("--out", help="checkpoint folder" + _default("out"))
    run.add_argument("--logs", help="TensorBoard log folder" + _default("logs"))
    run.add_argument(
        "--val_each", type=int, help="validate every N epochs (0: after the last only)" + _default("val_each")
    )
    run.add_argument(
        "--test_display",
        type=int,
        help="print N raw => decoded => truth lines at each validation" + _default("test_display"),
    )
    run.add_argument(
        "--checkpoint_every",
        type=int,
        metavar="STEPS",
        help="also write a resumable checkpoint every N steps inside an epoch (0: epoch ends only)"
        + _default("checkpoint_every"),
    )
    run.add_argument(
        "--keep_last",
        type=int,
        metavar="K",
        help="step checkpoints kept (last.pt is the newest)" + _default("keep_last"),
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out where it stopped, with its saved settings (flags given change them)",
    )
    run.add_argument(
        "--no_calibrate",
        dest="calibrate",
        action="store_false",
        help="keep the confidence temperature instead of re-fitting it on --val_file at the end",
    )
    run.add_argument(
        "--no_format_prior",
        dest="format_prior",
        action="store_false",
        help="never keep the formats of your labels (AA000AA: letters, digits) as a prior for reading; "
        "by default they are kept where --val_file reads better with them",
    )
    run.add_argument("--no_progress", dest="progress", action="store_false", help="no progress bar")
    run.add_argument(
        "--n_workers",
        "--workers",
        dest="n_workers",
        type=int,
        help="data loading processes; 0 prepares the data in the training process" + _default("n_workers"),
    )
    run.add_argument(
        "--nproc",
        type=int,
        help="training processes on this machine, launched with torchrun (gloo on CPU, NCCL on GPUs)"
        + _default("nproc"),
    )
    add_use_cuda(run, default=argparse.SUPPRESS, help_suffix=_default("use_cuda"))


def run_train(args: argparse.Namespace) -> int:
    from pwocr.training.trainer import TrainConfig, train

    fields = TrainConfig.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields}
    config = TrainConfig(**given, resume_overrides=tuple(sorted(given)) if given.get("resume") else ())
    reports = train(config, progress=getattr(args, "progress", True) and sys.stderr.isatty())
    return 0 if reports or config.resume else 1
