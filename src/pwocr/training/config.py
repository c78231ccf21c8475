"""``TrainConfig``: everything a training run needs (torch-free, so the CLI takes its defaults from here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class TrainConfig:
    """Everything a training run needs; saved inside its checkpoints so that ``--resume`` can continue it."""

    imgs_folder: str | None = None
    train_file: str | None = None
    val_file: str | None = None
    weights_file: str | None = None
    out: str = "checkpoints"
    logs: str = "logs"
    model_size: str = "crnn"
    alphabet: str | None = None
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    n_workers: int = 1
    seed: int | None = None
    val_each: int = 1
    test_display: int = 0
    use_cuda: bool = False
    augment: bool = True
    # Synthetic data: ``synth_ratio`` is the share of synthetic samples in each batch (1.0 without a
    # train file); ``steps_per_epoch`` sets an epoch's length when the stream is endless.
    synth_ratio: float = 0.0
    steps_per_epoch: int | None = None
    synth_val_count: int = 512
    synth_min_length: int = 6
    synth_max_length: int = 20
    fonts_folder: str | None = None
    max_width: int = 800
    resume: bool = False
    # A fresh crnn-lcnet starts its conv stack from PP-OCRv6 small's ("ppocrv6") or from scratch ("none").
    pretrained_backbone: str = "ppocrv6"
    # The conv stack learns at this share of ``lr``: a pretrained one keeps what it knows of real photos.
    backbone_lr_scale: float = 1.0
    # crnn-lcnet: keep the stem and the first N blocks of the conv stack fixed at their pretrained
    # weights (-1: none). Features learnt on real photos stay real, and a step costs about half.
    freeze_blocks: int = -1
    # How a real --val_file is scored (scene-text sets carry upper-case, symbol-free labels).
    ignore_case: bool = False
    ignore_symbols: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
