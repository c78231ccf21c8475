"""``pwocr train``: train from scratch, fine-tune, or train on the synthetic stream."""

from __future__ import annotations

import argparse
import sys

from pwocr.cli.common import add_use_cuda, examples, positive


def register(sub: argparse._SubParsersAction) -> None:
    from pwocr.model.config import MODEL_SIZES
    from pwocr.training.config import TrainConfig

    defaults = TrainConfig()  # training flags take their defaults from the dataclass
    p = sub.add_parser(
        "train",
        help="train or fine-tune a model",
        description="Train from scratch, fine-tune a checkpoint on your labelled photos, or train on the "
        "synthetic stream. Checkpoints go to --out, TensorBoard logs to --logs.",
        epilog=examples(
            "pwocr train --imgs_folder photos --train_file photos/train.csv --val_file photos/val.csv "
            "--weights_file default",
            "pwocr train --synth 1.0 --steps_per_epoch 500 --model crnn-small --epochs_num 4",
        ),
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--imgs_folder", "--images", dest="imgs_folder", default=None, help="folder the CSV file names are relative to"
    )
    data.add_argument(
        "--train_file", "--train-csv", dest="train_file", default=None, help="filename,label CSV of training images"
    )
    data.add_argument(
        "--val_file", "--val-csv", dest="val_file", default=None, help="filename,label CSV of validation images"
    )
    data.add_argument(
        "--alphabet",
        "--alphapet",
        dest="alphabet",
        default=None,
        help="characters or a charset name (default: from the training labels)",
    )
    data.add_argument("--no_augment", dest="augment", action="store_false", help="train on real images as they are")
    data.add_argument("--ignore_case", action="store_true", help="score a real --val_file ignoring case")
    data.add_argument(
        "--ignore_symbols", action="store_true", help="score a real --val_file on letters and digits only"
    )

    synth = p.add_argument_group("synthetic data")
    synth.add_argument(
        "--synth",
        dest="synth_ratio",
        type=float,
        default=0.0,
        help="share of fresh synthetic samples mixed into training (1.0 = synthetic only)",
    )
    synth.add_argument(
        "--synth_val_count",
        type=positive,
        default=defaults.synth_val_count,
        help="synthetic validation lines",
    )
    synth.add_argument(
        "--synth_min_length",
        "--min_length",
        dest="synth_min_length",
        type=positive,
        default=defaults.synth_min_length,
        help="shortest synthetic password (--min_length is the seed's name)",
    )
    synth.add_argument(
        "--synth_max_length",
        "--max_length",
        dest="synth_max_length",
        type=positive,
        default=defaults.synth_max_length,
        help="longest synthetic password (--max_length is the seed's name)",
    )
    synth.add_argument(
        "--fonts", dest="fonts_folder", default=None, help="render synthetic data in the .ttf/.otf fonts of this folder"
    )

    model = p.add_argument_group("model")
    model.add_argument(
        "--model",
        dest="model_size",
        default=defaults.model_size,
        choices=MODEL_SIZES,
        help="network: crnn (the paper's), crnn-small, crnn-tiny, crnn-lcnet, crnn-svtr (the shipped model's)",
    )
    model.add_argument(
        "--weights_file",
        "--weights",
        dest="weights_file",
        default=None,
        help="start from this checkpoint (or 'default', the shipped model)",
    )
    model.add_argument(
        "--pretrained_backbone",
        choices=["ppocrv6", "none"],
        default="ppocrv6",
        help="a fresh crnn-lcnet/crnn-svtr starts its features from PP-OCRv6 small's weights (bundled in rapidocr)",
    )
    model.add_argument(
        "--freeze_blocks",
        type=int,
        default=-1,
        help="keep the stem and first N conv blocks at their starting weights (-1: none)",
    )

    optim = p.add_argument_group("optimisation")
    optim.add_argument("--epochs_num", "--epochs", dest="epochs", type=positive, default=defaults.epochs)
    optim.add_argument(
        "--steps_per_epoch",
        "--steps",
        dest="steps_per_epoch",
        type=int,
        default=None,
        help="batches per epoch (needed for the endless synthetic stream)",
    )
    optim.add_argument(
        "--batch_size", "--batch-size", dest="batch_size", type=positive, default=32, help="lines per batch"
    )
    optim.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate of the one-cycle schedule")
    optim.add_argument(
        "--backbone_lr_scale", type=float, default=1.0, help="the conv stack learns at this share of --lr"
    )
    optim.add_argument(
        "--max_width",
        type=positive,
        default=defaults.max_width,
        help="widest input line in pixels after scaling to the model's height",
    )
    optim.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=None, help="random seed")

    run = p.add_argument_group("run")
    run.add_argument("--out", default="checkpoints", help="checkpoint folder")
    run.add_argument("--logs", default="logs", help="TensorBoard log folder")
    run.add_argument("--val_each", type=positive, default=defaults.val_each, help="validate every N epochs")
    run.add_argument(
        "--test_display", type=int, default=0, help="print N raw => decoded => truth lines at each validation"
    )
    run.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    run.add_argument("--no_progress", dest="progress", action="store_false", help="no progress bar")
    run.add_argument("--n_workers", "--workers", dest="n_workers", type=int, default=1, help="data loading processes")
    add_use_cuda(run)
    p.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from pwocr.training.trainer import TrainConfig, train

    fields = TrainConfig.__dataclass_fields__
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    reports = train(config, progress=args.progress and sys.stderr.isatty())
    return 0 if reports or config.resume else 1
