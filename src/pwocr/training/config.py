"""``TrainConfig``: everything a training run needs (torch-free, so the CLI takes its defaults from here).

``TrainConfig.check()`` validates every setting and every input path before any work starts, so a
mistyped flag costs a one-line error, not a crash after an epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pwocr.errors import PwocrError
from pwocr.io import make_folder

#: The command-line flag of each field, for messages (the seed's name where it has one).
FLAGS: dict[str, str] = {
    "imgs_folder": "--imgs_folder",
    "train_file": "--train_file",
    "val_file": "--val_file",
    "weights_file": "--weights_file",
    "model_size": "--model",
    "epochs": "--epochs_num",
    "synth_ratio": "--synth",
    "fonts_folder": "--fonts",
    "seed": "--fixed_seed",
    "n_workers": "--n_workers",
    "calibrate": "--no_calibrate",
    "format_prior": "--no_format_prior",
}

#: Settings that ``--resume`` may change explicitly: how the rest of the run is reported, checkpointed
#: and run, its length (the schedule is then re-planned), and what its end fits to the kept weights
#: (the temperature, the format prior). Anything else would be another run.
RESUME_OVERRIDABLE = frozenset(
    {
        *("epochs", "val_each", "test_display", "n_workers", "use_cuda", "checkpoint_every", "keep_last", "nproc"),
        *("logs", "calibrate", "format_prior"),
    }
)

#: What ``pwocr train`` says when given nothing to train on, instead of starting a multi-hour run.
NO_DATA = (
    "nothing to train on: give --train_file CSV (with --imgs_folder, and --weights_file default to fine-tune "
    "the shipped model), or --synth 1.0 --steps_per_epoch N to train on synthetic passwords, or --resume to "
    "continue the run in --out; see pwocr train --help and the README's 'Train and fine-tune'"
)


#: A fine-tune (``--weights_file`` with ``--train_file``) where a flag is not given: a gentle rate,
#: distillation toward the starting model on the synthetic lines, five passes over the user's
#: images (fifteen learnt no more and forgot more of ../shared/domain), an early stop for longer
#: runs; and (``freeze_blocks`` left ``None``) the whole PP-LCNetV4 conv stack kept as it is.
#: Chosen by ``bench/finetune.py`` on ``plates-eu-br`` (README, "Train and fine-tune"): a KL weight
#: of 3 kept the synthetic guard within 2 points of the shipped model in 4 distinct runs of 4
#: (1.0: 3 of 4) at the same test accuracy (90.3% against 90.6%, their mean).
#: Three such fine-tunes, differing in their seed alone, are averaged (``soup``): on three splits the
#: average read as many test plates as its best member or one more, and kept the guard within 1.3
#: points of the shipped model where single runs lost up to 3.6 (``pwocr.training.soup``).
FINE_TUNE_DEFAULTS: dict[str, Any] = {"epochs": 5, "lr": 5e-4, "distill": 3.0, "patience": 5, "soup": 3}
#: Every other run (from scratch, or the synthetic stream alone) where a flag is not given.
RUN_DEFAULTS: dict[str, Any] = {"epochs": 10, "lr": 1e-3, "distill": 0.0, "patience": 0, "soup": 1}


def has_checkpoint(out: Path) -> bool:
    """Whether a run folder holds a resumable checkpoint (``last.pt`` or a step-numbered one)."""
    return (out / "last.pt").is_file() or any(out.glob("step-*.pt"))


def check_folder(option: str, path: str) -> None:
    """Raise a one-line ``PwocrError`` naming ``option`` unless ``path`` is a folder pwocr can write in, or
    one it can make (the folders that are missing are made to find out, then removed again)."""
    target = Path(path)
    missing = [p for p in (target, *target.parents) if not p.exists()]
    make_folder(target, option)
    for made in missing:  # the deepest first
        with contextlib.suppress(OSError):
            made.rmdir()
    if not missing and not os.access(target, os.W_OK | os.X_OK):
        raise PwocrError(f"{option} {path}: the folder is not writable")


def default_text(field: str) -> str:
    """How a field's default reads in help: one value, or the fine-tune's and the other runs'."""
    if field in FINE_TUNE_DEFAULTS:
        return f"{FINE_TUNE_DEFAULTS[field]} when fine-tuning (--weights_file with --train_file), else {RUN_DEFAULTS[field]}"
    return str(getattr(TrainConfig(), field))


def flag(field: str) -> str:
    """The command-line flag that sets ``field``."""
    return FLAGS.get(field, f"--{field}")


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
    # Labels with characters outside an explicit --alphabet or the pretrained model's are an error
    # unless this is set; then those characters are appended and the output layer grows by as many rows.
    extend_alphabet: bool = False
    # ``None`` in these four, ``patience`` and ``soup``: FINE_TUNE_DEFAULTS when fine-tuning, RUN_DEFAULTS otherwise.
    epochs: int | None = None
    # Per process: with N processes a step sees N x batch_size lines.
    batch_size: int = 32
    lr: float | None = None
    weight_decay: float = 1e-4
    # Data loading processes. 0 renders and loads in the training process: on two cores a data
    # process gains nothing over a long epoch, and each short epoch waits for a new one to start
    # (a plates fine-tune: 92 -> 58 s; README, "Training speed"). Give more where cores are spare.
    n_workers: int = 0
    seed: int | None = None
    # Validate every N epochs; 0: only after the last one.
    val_each: int = 1
    test_display: int = 0
    use_cuda: bool = False
    augment: bool = True
    # Synthetic data: ``synth_ratio`` is the share of synthetic samples in each batch; ``None`` picks
    # 1.0 without a train file, 0.5 when fine-tuning (``weights_file``) on one, so the model keeps
    # reading passwords while it learns the new photos, and 0.0 otherwise. ``steps_per_epoch`` sets an
    # epoch's length when the stream is endless.
    synth_ratio: float | None = None
    steps_per_epoch: int | None = None
    # Synthetic validation lines; ``None``: 512 when they decide the best checkpoint (no real data),
    # 256 when they guard, beside a real --val_file, that a fine-tune keeps reading passwords, and
    # 128 when they only watch a run from scratch on real data.
    synth_val_count: int | None = None
    synth_min_length: int = 6
    synth_max_length: int = 20
    fonts_folder: str | None = None
    # Real words (a word list, one a line: Debian's wamerican gives /usr/share/dict/american-english)
    # rendered as signs show them, as this share of the synthetic lines, so that a run learning
    # passwords keeps reading words as words: trained on random strings alone, a model learns that
    # an ambiguous round glyph is as likely ``0`` as ``O`` and reads ``H0TEL``. Validation stays passwords.
    synth_words: str | None = None
    synth_word_share: float = 0.0
    max_width: int = 800
    # The model's input: RGB lines (``True``) or gray ones (``False``); ``None``: the --weights_file
    # checkpoint's, gray for a fresh model. A gray checkpoint fine-tuned in colour keeps its readings
    # of gray lines (``pwocr.model.pretrained.colour_first_conv``).
    colour: bool | None = None
    # Pad lines narrower than this on the right with mid-gray (``ModelConfig.pad_width``); ``None``:
    # the --weights_file checkpoint's, no padding for a fresh model.
    pad_width: int | None = None
    resume: bool = False
    # With ``resume``: the settings given explicitly, which win over the saved run's (only those in
    # RESUME_OVERRIDABLE may differ); the rest of the saved plan is kept.
    resume_overrides: tuple[str, ...] = ()
    # A fresh crnn-lcnet starts its conv stack from PP-OCRv6 small's ("ppocrv6") or from scratch ("none").
    pretrained_backbone: str = "ppocrv6"
    # The conv stack learns at this share of ``lr``: a pretrained one keeps what it knows of real photos.
    backbone_lr_scale: float = 1.0
    # crnn-lcnet: keep the stem and the first N blocks of the conv stack fixed at their pretrained
    # weights (-1: none). Features learnt on real photos stay real, and a step costs about half.
    # ``None``: the whole stack when fine-tuning a model that has one, none otherwise.
    freeze_blocks: int | None = None
    # Train only the --weights_file model's look-alike refiner (``pwocr.model.refiner``), adding a
    # silent one where it has none: the CRNN itself stays as it is, so real words keep its readings.
    refine_lookalikes: bool = False
    # Learning without forgetting: the weight of the per-frame KL divergence from the --weights_file
    # model (a frozen teacher reading the same batch) added to the CTC loss; 0: none. The student
    # learns what the labels teach (look-alikes in new fonts) while it keeps reading as the teacher
    # did elsewhere (real words), so more of the network can train.
    distill: float | None = None
    # Decoupled L2-SP (``pwocr.training.anchor``): after every step the learning conv weights move
    # back toward the --weights_file model's by ``lr x anchor`` of the distance; 0: no pull. The conv
    # stack learns new glyphs while it keeps the features it learnt on real photos.
    anchor: float = 0.0
    # Stop when the deciding validation score has not improved for N validations in a row (0: never).
    patience: int | None = None
    # A fine-tune of this many members, each the same run with the next seed (``seed``, ``seed + 1``,
    # ...) in ``out/member-K``, whose kept weights are averaged into ``out/best.safetensors`` (a model
    # soup, ``pwocr.training.soup``); 1: one run, its own. ``None``: FINE_TUNE_DEFAULTS when
    # fine-tuning, RUN_DEFAULTS otherwise (runs from different starts do not average).
    soup: int | None = None
    # Set by the soup on each of its members (K, from 1): the run is member K of the soup in its
    # --out's parent folder, and its end says so rather than offering its weights as the new model.
    soup_member: int = 0
    # A fine-tune keeps the epoch that reads --val_file best among those that read the synthetic
    # guard set (its validation lines) within this many points of the starting model; if none
    # does, the one that forgot least.
    guard_drop: float = 2.0
    # How a real --val_file is scored (scene-text sets carry upper-case, symbol-free labels).
    ignore_case: bool = False
    ignore_symbols: bool = False
    # A resumable checkpoint every N optimizer steps inside an epoch (0: at epoch ends only); one is
    # also written at every epoch end and when the run is stopped by SIGINT or SIGTERM.
    checkpoint_every: int = 500
    # How many step-numbered resumable checkpoints to keep (``last.pt`` is always the newest).
    keep_last: int = 2
    # Processes on this machine; more than one launches torchrun (gloo on CPU, NCCL on GPUs).
    nproc: int = 1
    # Re-fit the confidence temperature on the real validation set at the end of the run.
    calibrate: bool = True
    # Keep the formats of the training labels as a decoding prior (``pwocr.decoding.formats``) where
    # the validation set reads better with them.
    format_prior: bool = True
    # Read CSV names that leave --imgs_folder (``../``, absolute); such rows are skipped otherwise.
    allow_outside: bool = False
    # Stop before training when any label row would be skipped (missing or unreadable image, outside
    # --imgs_folder, named twice); otherwise such rows are reported, counted and left out.
    strict: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_absolute_paths(self) -> TrainConfig:
        """The config with every file and folder it names made absolute.

        A run's config is saved in its checkpoints; ``--resume`` from another directory must find
        the same CSVs, images, weights, fonts and logs, not those of the new directory.
        """
        values: dict[str, Any] = {}
        for name in ("imgs_folder", "train_file", "val_file", "logs", "synth_words"):
            if getattr(self, name) is not None:
                values[name] = os.path.abspath(getattr(self, name))
        if self.weights_file is not None and self.weights_file != "default":
            values["weights_file"] = os.path.abspath(self.weights_file)
        if self.fonts_folder:
            sources = self.fonts_folder.split(":")
            values["fonts_folder"] = ":".join(s if s in ("", "bundled") else os.path.abspath(s) for s in sources)
        return dataclasses.replace(self, **values)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> TrainConfig:
        """A config from ``to_dict``'s output; fields unknown to this version are ignored, new ones defaulted."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in saved.items() if k in known}
        if "distill" not in saved:
            values["distill"] = 0.0  # saved before distillation existed: the run goes on without a teacher
        if "patience" not in saved:
            # Saved before the fine-tuning defaults: the run goes on as it was planned, with no early
            # stop and the synthetic validation set it started with.
            values["patience"] = 0
            if values.get("synth_val_count") is None:
                values["synth_val_count"] = 128 if values.get("train_file") else 512
        if "soup" not in saved:
            values["soup"] = 1  # saved before soups: the run was one run
        if "resume_overrides" in values:
            values["resume_overrides"] = tuple(values["resume_overrides"])
        return cls(**values)

    @property
    def fine_tuning(self) -> bool:
        """A pretrained model learning the user's labelled images."""
        return bool(self.weights_file and self.train_file)

    def resolved(self) -> TrainConfig:
        """The config with every recipe default (``None``) replaced by its value for this kind of run."""
        defaults = dict(FINE_TUNE_DEFAULTS if self.fine_tuning else RUN_DEFAULTS)
        if self.extend_alphabet:
            defaults["distill"] = 0.0  # the starting model cannot read the new characters: it cannot teach them
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})

    def effective_synth_ratio(self) -> float:
        """The share of synthetic samples this run trains on (see ``synth_ratio``)."""
        if not self.train_file:
            return 1.0
        if self.synth_ratio is not None:
            return self.synth_ratio
        return 0.5 if self.weights_file else 0.0

    def effective_synth_val_count(self) -> int:
        """How many synthetic validation lines this run renders (see ``synth_val_count``)."""
        if self.synth_val_count is not None:
            return self.synth_val_count
        if self.fine_tuning:
            return 256  # the guard set: what the starting model read, fine enough to see 2 points lost
        return 128 if self.train_file else 512

    def check(self) -> None:
        """Raise a one-line ``PwocrError`` naming the flag for the first setting that cannot work.

        Checks values and that input files exist; label contents are checked when they are read.
        """
        if self.resume:
            out = Path(self.out)
            if not has_checkpoint(out) and not (out / "soup.json").is_file():
                raise PwocrError(f"--resume: {out / 'last.pt'} not found; nothing to resume in --out {self.out}")
            # Only the settings a resumed run may change are checked here, each on its own: the others are
            # compared with the saved run's when it is loaded, and their cross-checks need the saved values.
            self._check_values(only=set(self.resume_overrides) & RESUME_OVERRIDABLE)
            return
        if not self.train_file and self.synth_ratio is None:
            raise PwocrError(NO_DATA)
        self._check_values()
        for field in ("train_file", "val_file"):
            path = getattr(self, field)
            if path is not None and not Path(path).is_file():
                raise PwocrError(f"{flag(field)} {path}: file not found")
        if self.imgs_folder is not None and not Path(self.imgs_folder).is_dir():
            raise PwocrError(f"--imgs_folder {self.imgs_folder}: folder not found")
        for source in (self.fonts_folder or "").split(":"):
            if source and source != "bundled" and not Path(source).is_dir():
                raise PwocrError(
                    f"--fonts {self.fonts_folder}: {source} is not a folder (sources: bundled or folders, joined by :)"
                )
        if self.weights_file is not None:
            from pwocr.checkpoints import resolve_checkpoint

            try:
                resolve_checkpoint(self.weights_file)
            except PwocrError as e:
                raise PwocrError(f"--weights_file: {e}") from None
        if self.alphabet is not None:
            from pwocr.alphabet import resolve_charset

            try:
                resolve_charset(self.alphabet)
            except PwocrError as e:
                raise PwocrError(f"--alphabet {self.alphabet!r}: {e}") from None

    def check_folders(self) -> None:
        """Raise a one-line ``PwocrError`` unless ``out`` and ``logs`` are folders the run can write, or can make."""
        check_folder("--out", self.out)
        check_folder("--logs", self.logs)

    def _check_values(self, only: set[str] | None = None) -> None:
        self.resolved()._check_resolved_values(only)

    def _check_resolved_values(self, only: set[str] | None = None) -> None:
        from pwocr.model.config import LCNET_MODELS, MODEL_SIZES

        def bad(field: str, expected: str) -> None:
            if only is None or field in only:
                raise PwocrError(f"{flag(field)} {getattr(self, field)}: {expected}")

        if self.synth_val_count is not None and self.synth_val_count < 1:
            bad("synth_val_count", "must be at least 1")
        for field in ("epochs", "batch_size", "synth_min_length", "synth_max_length", "keep_last"):
            if getattr(self, field) < 1:
                bad(field, "must be at least 1")
        if self.nproc < 1:
            bad("nproc", "must be at least 1")
        for field in ("n_workers", "val_each", "test_display", "checkpoint_every", "patience"):
            if getattr(self, field) < 0:
                bad(field, "must be 0 or more")
        if self.soup < 1:
            bad("soup", "must be at least 1 (1: one run, no average)")
        if self.soup > 1 and not self.fine_tuning:
            bad("soup", "only fine-tunes of one starting model average: give --weights_file and --train_file")
        if self.seed is not None and self.seed < 0:
            bad("seed", "must be 0 or more")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            bad("steps_per_epoch", "must be at least 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            bad("lr", "the learning rate must be a positive number")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            bad("weight_decay", "must be 0 or more")
        if not (math.isfinite(self.guard_drop) and self.guard_drop >= 0):
            bad("guard_drop", "must be 0 or more points")
        if not (math.isfinite(self.distill) and self.distill >= 0):
            bad("distill", "must be 0 or more")
        if self.distill > 0 and not self.weights_file:
            bad("distill", "the teacher is the --weights_file model: give one")
        if not (math.isfinite(self.synth_word_share) and 0 <= self.synth_word_share < 1):
            bad("synth_word_share", "the share of word lines must be at least 0 and below 1")
        if self.synth_word_share > 0 and not self.synth_words:
            bad("synth_word_share", "give the word list with --synth_words FILE")
        if self.synth_words and not os.path.isfile(self.synth_words):
            bad("synth_words", "no such word list")
        if self.synth_words and self.synth_word_share <= 0:
            bad("synth_words", "give the share of word lines with --synth_word_share S (above 0)")
        if self.synth_word_share > 0 and self.effective_synth_ratio() == 0:
            bad("synth_word_share", "the run has no synthetic lines (--synth 0) for words to join")
        if not (math.isfinite(self.anchor) and self.anchor >= 0):
            bad("anchor", "must be 0 or more")
        if self.anchor > 0 and not self.weights_file:
            bad("anchor", "the conv stack is pulled toward the --weights_file model's: give one")
        if not (math.isfinite(self.backbone_lr_scale) and self.backbone_lr_scale >= 0):
            bad("backbone_lr_scale", "must be 0 or more")
        if self.synth_ratio is not None and not 0 <= self.synth_ratio <= 1:
            bad("synth_ratio", "the synthetic share must be between 0 and 1")
        if self.synth_min_length > self.synth_max_length:
            bad("synth_min_length", f"longer than --synth_max_length {self.synth_max_length}")
        if self.max_width < 32:
            bad("max_width", "must be at least 32 pixels")
        if self.pad_width is not None and (not 0 <= self.pad_width <= self.max_width or self.pad_width % 8):
            bad("pad_width", f"must be a multiple of 8 pixels between 0 and --max_width {self.max_width}")
        if self.model_size not in MODEL_SIZES:
            bad("model_size", f"choose one of {', '.join(MODEL_SIZES)}")
        if self.pretrained_backbone not in ("ppocrv6", "none"):
            bad("pretrained_backbone", "choose ppocrv6 or none")
        if self.refine_lookalikes and not self.weights_file:
            bad("refine_lookalikes", "the refiner is trained on a --weights_file model: give one")
        if self.freeze_blocks is not None and self.freeze_blocks < -1:
            bad("freeze_blocks", "must be -1 (none frozen) or more")
        if (
            self.freeze_blocks is not None
            and self.freeze_blocks >= 0
            and self.model_size not in LCNET_MODELS
            and not self.weights_file
        ):
            bad("freeze_blocks", f"only {' and '.join(LCNET_MODELS)} have conv blocks to freeze")
        if only is None and not self.train_file and self.synth_ratio is not None and self.synth_ratio < 1.0:
            raise PwocrError(
                f"--synth {self.synth_ratio}: without --train_file there is only synthetic data to train on; "
                "use --synth 1.0, or give --train_file"
            )
