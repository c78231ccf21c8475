"""Setting a run up: its labels and alphabet, model, data, validation sets, optimiser and schedule,
and, when resuming, where it stopped. Everything a setting or label could reject is rejected here,
before the first step."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from pwocr.alphabet import Alphabet, resolve_charset
from pwocr.checkpoints import build_model, load_state, read_config, resolve_checkpoint
from pwocr.data.labels import LabelledImage, check_labels, read_screened_labels
from pwocr.decoding.formats import NO_PRIOR
from pwocr.errors import PwocrError
from pwocr.model.config import LCNET_MODELS
from pwocr.model.crnn import CRNN, ModelConfig
from pwocr.model.surgery import (
    freeze_all_but_refiner,
    freeze_conv_stack,
    lcnet_of,
    with_fresh_refiner,
    with_head_fitted,
    with_input_channels,
)
from pwocr.synth.fonts import FontSpec, training_fonts
from pwocr.synth.render import SynthConfig, load_words, render_set
from pwocr.training import distributed
from pwocr.training.anchor import Anchor
from pwocr.training.config import TrainConfig
from pwocr.training.datasets import Collate, LabelledImages, PreparedLines, check_labelled_images
from pwocr.training.distributed import Ranks
from pwocr.training.run_folder import remove_stale_temporaries
from pwocr.training.state import Position, TrainingState, restore_rng_states, seed_everything
from pwocr.training.teacher import Teacher

logger = logging.getLogger(__name__)


@dataclass
class RunData:
    """What a run trains and validates on."""

    train_items: list[LabelledImage]
    val_items: list[LabelledImage]
    steps: int  # optimiser steps per epoch
    synth_ratio: float  # share of each batch drawn fresh from the synthetic stream
    synth: SynthConfig | None  # with its fonts, when the stream is used
    fonts: list[FontSpec] | None
    val_loaders: dict[str, DataLoader]  # by name: "real", "synthetic"
    collate: Collate


# ----------------------------------------------------------------------------------------------
# Labels and alphabet.


def plan_alphabet(
    config: TrainConfig, train_items: list[LabelledImage], val_items: list[LabelledImage]
) -> tuple[Alphabet, Alphabet | None]:
    """The alphabet to train, and the pretrained model's when fine-tuning; strict about labels.

    Without ``--weights_file`` or ``--alphabet`` the alphabet is the training labels' own, as in
    the seed. Otherwise it is the explicit ``--alphabet`` or the pretrained model's, and a label
    with a character outside it is an error naming file and line, unless ``--extend_alphabet``
    appends the missing characters. An alphabet is never shrunk to the labels: a fine-tuned model
    keeps every character its output layer knew.
    """
    pretrained = (
        Alphabet(read_config(resolve_checkpoint(config.weights_file)).alphabet) if config.weights_file else None
    )
    if config.alphabet:
        base, whose = Alphabet(resolve_charset(config.alphabet)), f"--alphabet {config.alphabet!r}"
    elif pretrained is not None:
        base, whose = pretrained, f"the alphabet of {config.weights_file} ({len(pretrained.chars)} characters)"
    else:
        base = Alphabet.from_labels([i.label for i in train_items]) if train_items else Alphabet.default()
        check_labels(val_items, base, "the training labels' alphabet", "; give --alphabet to read it")
        return base, None
    if config.extend_alphabet:
        missing = sorted({c for item in train_items + val_items for c in base.missing(item.label)})
        return Alphabet(base.chars + "".join(missing)), pretrained
    hint = "; --extend_alphabet adds it (the output layer grows by a row)"
    check_labels(train_items, base, whose, hint)
    check_labels(val_items, base, whose, hint)
    return base, pretrained


def read_items(config: TrainConfig) -> tuple[list[LabelledImage], list[LabelledImage], Alphabet, Alphabet | None]:
    """The training and validation rows, the alphabet to train and the pretrained one (``plan_alphabet``)."""
    train_items = label_rows(config, "train_file")
    val_items = label_rows(config, "val_file")
    alphabet, pretrained = plan_alphabet(config, train_items, val_items)
    return train_items, val_items, alphabet, pretrained


def label_rows(config: TrainConfig, field: str) -> list[LabelledImage]:
    """The rows of the label file ``config.<field>`` (``train_file`` or ``val_file``) that name each file
    once, inside the images folder; each one left out is said."""
    csv_path = getattr(config, field)
    if not csv_path:
        return []
    kept, skipped = read_screened_labels(csv_path, config.imgs_folder, config.allow_outside)
    _count_skipped(config, field, len(skipped), len(kept) + len(skipped))
    return kept


def _usable(
    config: TrainConfig,
    field: str,
    items: list[LabelledImage],
    alphabet: Alphabet,
    model_config: ModelConfig,
) -> list[LabelledImage]:
    """The rows whose images can be trained on (``check_labelled_images``), each one left out said."""
    if not items:
        return []
    kept = check_labelled_images(items, alphabet, model_config)
    _count_skipped(config, field, len(items) - len(kept), len(items))
    return kept


def _count_skipped(config: TrainConfig, field: str, skipped: int, total: int) -> None:
    """Say how many rows of ``config.<field>`` were skipped; with ``--strict``, any is an error before training starts."""
    if not skipped:
        return
    csv_path = getattr(config, field)
    if config.strict:
        raise PwocrError(
            f"{csv_path}: {skipped} of {total} rows skipped (listed above); --strict trains on every row or none"
        )
    logger.warning(
        "%s: %d of %d rows skipped (listed above); %s on the other %d",
        csv_path,
        skipped,
        total,
        "validating" if field == "val_file" else "training",
        total - skipped,
    )


# ----------------------------------------------------------------------------------------------
# The model.


def pick_device(use_cuda: bool, ranks: Ranks) -> torch.device:
    if use_cuda and not torch.cuda.is_available():
        logger.warning("--use_cuda: no CUDA GPU is available; training on the CPU")
        return torch.device("cpu")
    return torch.device(f"cuda:{ranks.local_rank}" if use_cuda else "cpu")


def start_rank(config: TrainConfig, ranks: Ranks) -> torch.device:
    """This process's device, with every rank seeded alike; rank 0 clears what killed saves left."""
    if ranks.is_main:
        out = Path(config.out)
        stale = remove_stale_temporaries(out)
        if stale:
            logger.info("removed %d temporary file(s) that interrupted saves left in %s", len(stale), out)
    device = pick_device(config.use_cuda, ranks)
    if config.seed is None:
        # A resumed run always has its saved seed; the ranks must share one to shard the same order.
        config.seed = distributed.rank0_value(ranks, int(time.time()) % 2**31, device)
    seed_everything(config.seed)
    return device


def initial_model(config: TrainConfig, alphabet: Alphabet, quiet: bool = False) -> CRNN:
    """A fresh model for ``alphabet``, or the pretrained one with its output layer fitted to ``alphabet``.

    The pretrained confidence temperature is kept until the run re-fits it; its format prior, fitted
    to another set's labels, is dropped (the run's end may fit one to these). What was changed is
    logged, at debug level when ``quiet`` (a second copy, the distillation teacher, says it again).
    """
    level = logging.DEBUG if quiet else logging.INFO
    if not config.weights_file:
        return _fresh_model(config, alphabet)
    pretrained_config, weights = load_state(config.weights_file)
    in_channels = pretrained_config.in_channels if config.colour is None else 3 if config.colour else 1
    model_config = dataclasses.replace(
        pretrained_config,
        alphabet=alphabet.chars,
        max_width=config.max_width,
        in_channels=in_channels,
        pad_width=pretrained_config.pad_width if config.pad_width is None else config.pad_width,
        lookalike_refiner=pretrained_config.lookalike_refiner or config.refine_lookalikes,
        **NO_PRIOR.as_config(),
    )
    if model_config.lookalike_refiner and not pretrained_config.lookalike_refiner:
        weights = with_fresh_refiner(weights, dataclasses.replace(model_config, alphabet=pretrained_config.alphabet))
        logger.log(level, "look-alike refiner: added to %s, silent until trained", config.weights_file)
    if in_channels != pretrained_config.in_channels:
        weights = with_input_channels(weights, model_config)
        if model_config.colour:
            logger.log(level, "input: RGB lines; the first conv of %s widened to three channels", config.weights_file)
        else:
            logger.log(level, "input: gray lines; the first conv of %s summed over its channels", config.weights_file)
    if alphabet.chars == pretrained_config.alphabet:
        return build_model(model_config, weights, config.weights_file)
    model, kept = with_head_fitted(model_config, weights, pretrained_config.alphabet, config.weights_file)
    logger.log(
        level,
        "output layer: %d characters kept from %s, %d new (%d in all)",
        kept,
        config.weights_file,
        len(alphabet.chars) - kept,
        len(alphabet.chars),
    )
    return model


def _fresh_model(config: TrainConfig, alphabet: Alphabet) -> CRNN:
    model = CRNN(
        ModelConfig(
            alphabet=alphabet.chars,
            arch=config.model_size,
            max_width=config.max_width,
            in_channels=3 if config.colour else 1,
            pad_width=config.pad_width or 0,
            # A crnn-svtr's features stay PP-OCRv6's only where its conv stack and mixer start from them.
            ppocr_features=config.model_size == "crnn-svtr" and config.pretrained_backbone == "ppocrv6",
        )
    )
    if config.model_size in LCNET_MODELS and config.pretrained_backbone == "ppocrv6":
        from pwocr.model import pretrained

        pretrained.load_pretrained_features(lcnet_of(model))
        if config.model_size == "crnn-svtr":
            pretrained.load_pretrained_mixer_and_head(model)
        logger.info("conv stack initialised from PP-OCRv6 small (%s)", pretrained.rapidocr_rec_path())
    return model


def run_model(
    config: TrainConfig, state: TrainingState | None, state_path: Path, device: torch.device
) -> tuple[CRNN, list[LabelledImage], list[LabelledImage]]:
    """The model to train (the resumed one, or ``initial_model``) on ``device``, and the label rows."""
    if state is not None:
        train_items = label_rows(config, "train_file")
        val_items = label_rows(config, "val_file")
        model = build_model(ModelConfig.from_dict(state.model_config), state.model, str(state_path))
    else:
        train_items, val_items, alphabet, _ = read_items(config)
        model = initial_model(config, alphabet)
    model.to(device).train()
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    return model, train_items, val_items


def teacher(config: TrainConfig, student: CRNN, frozen: int, device: torch.device) -> Teacher:
    """The --weights_file model as training starts from it, frozen: what distillation keeps the student close to.

    Its alphabet must be the run's: a character it never had would get a random output row to copy.
    """
    teacher_config, _ = load_state(config.weights_file)
    if teacher_config.alphabet != student.config.alphabet:
        raise PwocrError(
            f"--distill: {config.weights_file} reads another alphabet than this run; distil without new characters"
        )
    alphabet = Alphabet(student.config.alphabet)
    model = initial_model(config, alphabet, quiet=True).to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    return Teacher(model, student, frozen)


def prepare_for_training(config: TrainConfig, model: CRNN, device: torch.device) -> Teacher | None:
    """Freeze what ``--freeze_blocks`` (or ``--refine_lookalikes``) fixes; the distillation teacher, with ``--distill``."""
    blocks = frozen_blocks(config, model)
    if config.refine_lookalikes:
        freeze_all_but_refiner(model)
        logger.info("training the look-alike refiner alone; the rest of the model stays as it is")
    elif blocks >= 0:
        freeze_conv_stack(model, blocks)
        logger.info("conv stack: stem and first %d blocks frozen", blocks)
    assert config.distill is not None
    if config.distill <= 0:
        return None
    frozen = teacher(config, model, blocks, device)
    shared = (
        f"; it reads on from the student's frozen stem and {frozen.shared_blocks} blocks"
        if frozen.shared_blocks >= 0
        else ""
    )
    logger.info("distilling from %s (weight %s)%s", config.weights_file, config.distill, shared)
    return frozen


def anchor(config: TrainConfig, model: CRNN, teacher: Teacher | None, device: torch.device) -> Anchor | None:
    """With ``--anchor``, what pulls ``model``'s learning conv weights back toward the --weights_file model's.

    Built after the freezing, so that only the weights that learn are anchored. The teacher, when
    there is one, is that starting model already; otherwise it is loaded once more.
    """
    if config.anchor <= 0:
        return None
    start = teacher.model if teacher is not None else initial_model(config, Alphabet(model.config.alphabet), quiet=True)
    pulled = Anchor(model, start.to(device), config.anchor)
    if not pulled.pairs:
        raise PwocrError(
            f"--anchor {config.anchor}: no conv weight learns in this run (a fine-tune keeps the whole conv "
            "stack frozen): give --freeze_blocks N to let the blocks after N learn"
        )
    logger.info(
        "anchoring %d conv weights to %s (--anchor %s: at most about %.3g from their start)",
        sum(param.numel() for param, _ in pulled.pairs),
        config.weights_file,
        config.anchor,
        1 / config.anchor,
    )
    return pulled


def frozen_blocks(config: TrainConfig, model: CRNN) -> int:
    """``--freeze_blocks``; when not given, a fine-tune keeps a PP-LCNetV4 stack whole, any other run trains it all."""
    if config.freeze_blocks is not None:
        return config.freeze_blocks
    if not config.fine_tuning:
        return -1
    try:
        return len(lcnet_of(model).blocks)
    except PwocrError:
        return -1  # no PP-LCNetV4 stack (the paper's VGG): nothing to keep whole


# ----------------------------------------------------------------------------------------------
# Data.


def run_data(
    config: TrainConfig,
    model_config: ModelConfig,
    train_items: list[LabelledImage],
    val_items: list[LabelledImage],
    ranks: Ranks,
) -> RunData:
    """The usable rows, steps per epoch, the synthetic stream's settings and the validation loaders."""
    alphabet = Alphabet(model_config.alphabet)
    train_items = _usable(config, "train_file", train_items, alphabet, model_config)
    val_items = _usable(config, "val_file", val_items, alphabet, model_config)
    collate = Collate(alphabet, model_config)
    synth_ratio = config.effective_synth_ratio()
    if config.train_file and synth_ratio > 0:
        logger.info(
            "training on %.0f%% fresh synthetic passwords and %.0f%% of your images (--synth)",
            synth_ratio * 100,
            (1 - synth_ratio) * 100,
        )
    steps = steps_per_epoch(config, len(train_items), synth_ratio, ranks)
    synth = fonts = None
    if synth_ratio > 0:
        fonts = training_fonts(config.fonts_folder, alphabet.chars)
        synth = SynthConfig(
            alphabet=model_config.alphabet,
            min_length=config.synth_min_length,
            max_length=config.synth_max_length,
            colour=model_config.colour,
        )
    loaders = validation_loaders(config, model_config, val_items, synth, collate, ranks)
    if synth is not None and config.synth_word_share > 0:
        assert config.synth_words is not None
        load_words(config.synth_words)  # a list with no usable word stops the run here, not in a data worker
        # After the validation lines, which stay passwords: words only teach.
        synth = dataclasses.replace(synth, words_file=config.synth_words, word_strings=config.synth_word_share)
        logger.info("%.0f%% of the synthetic lines are words of %s", 100 * config.synth_word_share, config.synth_words)
    return RunData(train_items, val_items, steps, synth_ratio, synth, fonts, loaders, collate)


def steps_per_epoch(config: TrainConfig, train_lines: int, synth_ratio: float, ranks: Ranks) -> int:
    """``--steps_per_epoch``, else about one pass over the real images, else 1000 synthetic batches."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    if train_lines and synth_ratio == 0:
        # One pass over this rank's shard, as EpochBatches cuts it (a partial last batch dropped).
        shard = math.ceil(train_lines / ranks.world)
        return 1 if shard <= config.batch_size else shard // config.batch_size
    if train_lines:
        # About one pass over the real images, whatever share of each batch they take.
        effective_batch = config.batch_size * ranks.world
        return max(1, math.ceil(train_lines / (effective_batch * max(1.0 - synth_ratio, 0.5))))
    return 1000


def validation_loaders(
    config: TrainConfig,
    model_config: ModelConfig,
    val_items: list[LabelledImage],
    synth: SynthConfig | None,
    collate: Collate,
    ranks: Ranks,
) -> dict[str, DataLoader]:
    """Validation sets by name, each rank's share of them.

    The user's real images when given, and fixed synthetic lines when training on the synthetic
    stream. The best checkpoint is chosen on the real set when there is one.
    """
    val_sets: dict[str, torch.utils.data.Dataset] = {}
    if val_items:
        val_sets["real"] = LabelledImages(val_items, model_config)
    if synth is not None:
        assert config.seed is not None
        lines = render_set(config.effective_synth_val_count(), seed=config.seed + 7919, config=synth)
        val_sets["synthetic"] = PreparedLines(lines, model_config)
    return {
        name: DataLoader(
            Subset(data, range(ranks.rank, len(data), ranks.world)), batch_size=config.batch_size, collate_fn=collate
        )
        for name, data in val_sets.items()
    }


# ----------------------------------------------------------------------------------------------
# Optimiser, schedule, and where a resumed run stopped.


def _one_cycle(
    optimizer: torch.optim.Optimizer, lr: float | list[float], total_steps: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    """Warm up over the first tenth of the run (at most ~1000 steps), then anneal by cosine."""
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=lr,
        total_steps=total_steps,
        # Each phase must span more than one step (OneCycleLR divides by its length), even in a tiny run.
        pct_start=min(0.9, max(min(0.1, 1000 / total_steps + 0.02), 1.5 / total_steps)),
        anneal_strategy="cos",
    )


def optimiser(
    config: TrainConfig, model: CRNN, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.OneCycleLR]:
    """AdamW with the conv stack at ``--backbone_lr_scale`` of the rate, on a one-cycle schedule; frozen weights left out."""
    conv_params = [p for p in model.cnn.parameters() if p.requires_grad]
    conv_ids = {id(p) for p in conv_params}
    groups = [
        {"params": conv_params, "lr": config.lr * config.backbone_lr_scale},
        {"params": [p for p in model.parameters() if id(p) not in conv_ids and p.requires_grad], "lr": config.lr},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    return optimizer, _one_cycle(optimizer, _peak_lrs(config), steps * config.epochs)


def _peak_lrs(config: TrainConfig) -> list[float]:
    return [config.lr * config.backbone_lr_scale, config.lr]


def resume(
    state: TrainingState,
    config: TrainConfig,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.OneCycleLR,
    steps: int,
    ranks: Ranks,
) -> tuple[Position, torch.optim.lr_scheduler.OneCycleLR]:
    """Restore optimiser, schedule and random states from ``state``; returns where the run stopped and its schedule."""
    optimizer.load_state_dict(state.optimizer)
    position = state.position
    total_steps = steps * config.epochs
    if state.scheduler.get("total_steps") == total_steps:
        scheduler.load_state_dict(state.scheduler)
    else:
        # A longer or shorter run: the same one-cycle shape over the new length, at the step reached.
        scheduler = _one_cycle(optimizer, _peak_lrs(config), max(total_steps, position.step + 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fast-forwarding the schedule, not skipping an optimizer step
            for _ in range(position.step):
                scheduler.step()
    restore_rng_states(state.rng)
    if state.world != ranks.world and position.batch:
        logger.warning(
            "resumed with %d processes where the run had %d: this epoch's data order changes", ranks.world, state.world
        )
    return position, scheduler
