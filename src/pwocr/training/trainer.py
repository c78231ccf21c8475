"""Training and fine-tuning: real labelled data, a fresh synthetic stream, or a mix of both, on one process or many.

One call, ``train(TrainConfig(...))``, checks every setting and label first, then builds the model
(fresh, or from a pretrained checkpoint whose alphabet it keeps), trains with a one-cycle schedule,
validates every ``val_each`` epochs, keeps the best and the last weights, logs to TensorBoard, and
finally re-fits the confidence temperature and writes a summary of the run. A resumable checkpoint
is written every ``checkpoint_every`` steps, at every epoch end and on SIGINT/SIGTERM; ``resume``
continues from it exactly where it stopped, inside an epoch too: same weights, optimiser,
schedule, random states and data position. Under torchrun each rank trains on its shard of the
data with gradients all-reduced by DistributedDataParallel; rank 0 alone writes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.utils.data import DataLoader, Subset

from pwocr.alphabet import Alphabet, resolve_charset
from pwocr.checkpoints import build_model, load_state, read_config, resolve_checkpoint, save_weights
from pwocr.data.labels import LabelledImage, check_labels, labels_folder, read_labels, screen_labels
from pwocr.data.preprocess import padded_width
from pwocr.decoding.ctc import greedy_decode
from pwocr.errors import PwocrError
from pwocr.evaluation.metrics import compute_metrics
from pwocr.io import atomic_write
from pwocr.model.config import LCNET_MODELS
from pwocr.model.crnn import CRNN, ModelConfig
from pwocr.synth.fonts import training_fonts
from pwocr.synth.render import SynthConfig, render_set
from pwocr.training import distributed
from pwocr.training.config import RESUME_OVERRIDABLE, TrainConfig, flag
from pwocr.training.datasets import (
    Batch,
    Collate,
    EpochBatches,
    LabelledImages,
    PreparedLines,
    StreamSpec,
    SyntheticStream,
    check_labelled_images,
)
from pwocr.training.distributed import Ranks
from pwocr.training.run_folder import load_resumable, remove_stale_temporaries, save_resumable

__all__ = ["EpochReport", "TrainConfig", "ctc_loss", "freeze_conv_stack", "lcnet_of", "train", "validate"]


@dataclass
class EpochReport:
    epoch: int
    train_loss: float
    val_loss: float | None
    word_accuracy: float | None
    char_accuracy: float | None
    seconds: float
    images_per_second: float
    # (loss, word accuracy, char accuracy) per validation set; the fields above hold the deciding one.
    val_scores: dict[str, tuple[float, float, float]] = dataclasses.field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Random states: saved in every resumable checkpoint as tensors and lists, which
# ``torch.load(weights_only=True)`` reads without unpickling code.


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _rng_states() -> dict[str, Any]:
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "gauss": [has_gauss, gauss]},
        "python": {"version": version, "state": list(py_state), "gauss": py_gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    numpy = states["numpy"]
    np.random.set_state(
        ("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], int(numpy["gauss"][0]), numpy["gauss"][1])
    )
    python = states["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


# ----------------------------------------------------------------------------------------------
# The model and its alphabet.


def _pick_device(use_cuda: bool, ranks: Ranks, say: Callable[[str], None]) -> torch.device:
    if use_cuda and not torch.cuda.is_available():
        say("--use_cuda: no CUDA GPU is available; training on the CPU")
        return torch.device("cpu")
    return torch.device(f"cuda:{ranks.local_rank}" if use_cuda else "cpu")


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


def _initial_model(config: TrainConfig, alphabet: Alphabet, say: Callable[[str], None]) -> CRNN:
    """A fresh model for ``alphabet``, or the pretrained one with its output layer fitted to ``alphabet``.

    Output rows of characters the pretrained model knows are kept; rows of new characters start
    fresh. The pretrained confidence temperature is kept until the run re-fits it.
    """
    if not config.weights_file:
        model = CRNN(
            ModelConfig(
                alphabet=alphabet.chars,
                size=config.model_size,
                max_width=config.max_width,
                in_channels=3 if config.colour else 1,
                pad_width=config.pad_width or 0,
            )
        )
        if config.model_size in LCNET_MODELS and config.pretrained_backbone == "ppocrv6":
            from pwocr.model import pretrained

            pretrained.load_pretrained_features(lcnet_of(model))
            if config.model_size == "crnn-svtr":
                pretrained.load_pretrained_mixer_and_head(model)
            say(f"conv stack initialised from PP-OCRv6 small ({pretrained.rapidocr_rec_path()})")
        return model
    pretrained_config, weights = load_state(config.weights_file)
    in_channels = pretrained_config.in_channels if config.colour is None else 3 if config.colour else 1
    model_config = dataclasses.replace(
        pretrained_config,
        alphabet=alphabet.chars,
        max_width=config.max_width,
        in_channels=in_channels,
        pad_width=pretrained_config.pad_width if config.pad_width is None else config.pad_width,
    )
    if in_channels != pretrained_config.in_channels:
        weights = _with_input_channels(weights, model_config, config.weights_file, say)
    if alphabet.chars == pretrained_config.alphabet:
        return build_model(model_config, weights, config.weights_file)
    model = CRNN(model_config)
    missing, unexpected = model.load_state_dict(
        {k: v for k, v in weights.items() if not k.startswith("head.")}, strict=False
    )
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise PwocrError(f"{config.weights_file}: its weights do not fit a {model_config.size} CRNN")
    old = {c: i + 1 for i, c in enumerate(pretrained_config.alphabet)}
    rows = [(0, 0)] + [(i + 1, old[c]) for i, c in enumerate(alphabet.chars) if c in old]  # (new, old); 0 is blank
    with torch.no_grad():
        for new, previous in rows:
            model.head.weight[new] = weights["head.weight"][previous]
            model.head.bias[new] = weights["head.bias"][previous]
    say(
        f"output layer: {len(rows) - 1} characters kept from {config.weights_file}, "
        f"{len(alphabet.chars) - len(rows) + 1} new ({len(alphabet.chars)} in all)"
    )
    return model


def _with_input_channels(
    weights: dict[str, torch.Tensor], model_config: ModelConfig, source: str, say: Callable[[str], None]
) -> dict[str, torch.Tensor]:
    """``weights`` with their first conv turned to ``model_config.in_channels`` (gray to RGB or back).

    Gray to RGB takes PP-OCRv6's colour filters where the gray ones are theirs summed, else a third
    of each on every channel; RGB to gray sums the channels. Either way a gray line reads as before.
    """
    from pwocr.model.pretrained import colour_first_conv

    first = next(name for name, m in CRNN(model_config).named_modules() if isinstance(m, torch.nn.Conv2d))
    key = f"{first}.weight"
    weights = dict(weights)
    if model_config.colour:
        weights[key] = colour_first_conv(weights[key])
        say(f"input: RGB lines; the first conv of {source} widened to three channels")
    else:
        weights[key] = weights[key].sum(1, keepdim=True)
        say(f"input: gray lines; the first conv of {source} summed over its channels")
    return weights


def lcnet_of(model: CRNN) -> Any:
    """The PP-LCNetV4 conv stack of a crnn-lcnet or crnn-svtr."""
    from pwocr.model.lcnet import LCNetFeatures

    found = [m for m in model.cnn.modules() if isinstance(m, LCNetFeatures)]
    if not found:
        raise PwocrError(f"{model.config.size} has no PP-LCNetV4 conv stack (crnn-lcnet and crnn-svtr have)")
    return found[0]


def freeze_conv_stack(model: CRNN, blocks: int) -> None:
    """Fix a crnn-lcnet's stem and first ``blocks`` blocks (no gradients, no updates, no backward pass through them)."""
    lcnet = lcnet_of(model)
    if blocks > len(lcnet.blocks):
        raise PwocrError(f"--freeze_blocks {blocks}: the conv stack has {len(lcnet.blocks)} blocks")
    for module in (lcnet.stem, *lcnet.blocks[:blocks]):
        module.requires_grad_(False)


def _synth_config(config: TrainConfig, model_config: ModelConfig) -> SynthConfig:
    return SynthConfig(
        alphabet=model_config.alphabet,
        min_length=config.synth_min_length,
        max_length=config.synth_max_length,
        colour=model_config.colour,
    )


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


# ----------------------------------------------------------------------------------------------
# Loss and validation: one reduction for both.


def _model_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    # channels_last runs the conv stack 20-25% faster on a CPU, forward and backward.
    return images.to(device).contiguous(memory_format=torch.channels_last)


def ctc_per_character(
    log_probs: torch.Tensor, targets: torch.Tensor, output_lengths: torch.Tensor, target_lengths: torch.Tensor
) -> torch.Tensor:
    """Each line's CTC loss divided by its label's length: the one loss of training and validation.

    Training reports their mean over a batch, validation over the set, so the two curves are on
    one scale (per character) and a gap between them means what it seems to.
    """
    loss = torch.nn.functional.ctc_loss(
        log_probs.float(), targets, output_lengths, target_lengths, blank=0, reduction="none", zero_infinity=True
    )
    return loss / target_lengths.to(loss.device).clamp(min=1)


def ctc_loss(
    model: torch.nn.Module,
    batch: Batch,
    device: torch.device,
    teacher: torch.nn.Module | None = None,
    distill: float = 0.0,
) -> torch.Tensor:
    """Mean per-character CTC loss of a training batch; with a ``teacher``, plus ``distill`` times the
    mean per-frame KL divergence of the model's distribution from the teacher's (learning without forgetting)."""
    images = _model_input(batch.images, device)
    log_probs = model(images)
    loss = ctc_per_character(
        log_probs, batch.targets.to(device), batch.output_lengths.to(device), batch.target_lengths.to(device)
    ).mean()
    if teacher is None or distill <= 0:
        return loss
    with torch.no_grad():
        target = teacher(images).float()
    kl = torch.nn.functional.kl_div(log_probs.float(), target, log_target=True, reduction="none").sum(-1)
    # Frames past a line's own output length read padding shared with wider batch-mates: not the line's.
    steps = torch.arange(kl.shape[0], device=kl.device)[:, None]
    inside = (steps < batch.output_lengths.to(kl.device)[None, :]).float()
    return loss + distill * (kl * inside).sum() / inside.sum().clamp(min=1)


def _teacher(config: TrainConfig, alphabet: Alphabet, device: torch.device) -> torch.nn.Module:
    """The --weights_file model as training starts from it, frozen: what distillation keeps the student close to.

    Its alphabet must be the run's: a character it never had would get a random output row to copy.
    """
    teacher_config, _ = load_state(config.weights_file)
    if teacher_config.alphabet != alphabet.chars:
        raise PwocrError(
            f"--distill: {config.weights_file} reads another alphabet than this run; distil without new characters"
        )
    teacher = _initial_model(config, alphabet, lambda message: None).to(device).eval().requires_grad_(False)
    return teacher.to(memory_format=torch.channels_last) if device.type == "cpu" else teacher


@torch.inference_mode()
def _validation_readings(
    model: CRNN, loader: DataLoader, device: torch.device, tables: list[np.ndarray] | None = None
) -> tuple[list[float], list[str], list[str], list[str]]:
    """Per-line loss, truth, greedy reading and raw path of every line in ``loader``.

    ``tables``, when given, receives each line's log-probability table (time x classes), in order.
    """
    model.eval()
    alphabet = Alphabet(model.config.alphabet)
    losses, truths, predictions, raws = [], [], [], []
    for batch in loader:
        # Each width on its own, padded only to its bucket, as Recognizer reads it: validation reads
        # what recognize reads (every frame, the padding's too).
        for width in batch.widths.unique().tolist():
            index = (batch.widths == width).nonzero().flatten()
            padded = padded_width(width, model.config.pad_width, model.config.pad_multiple)
            log_probs = model(_model_input(batch.images[index, :, :, :padded], device)).float()
            encoded = [batch.targets_of(int(i)) for i in index]
            lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
            steps = torch.full((len(index),), log_probs.shape[0], dtype=torch.long)
            losses.extend(ctc_per_character(log_probs, torch.cat(encoded).to(device), steps, lengths).cpu().tolist())
            table = log_probs.cpu().numpy()
            for j, i in enumerate(index.tolist()):
                if tables is not None:
                    tables.append(table[:, j])
                result = greedy_decode(table[:, j], alphabet)
                truths.append(batch.labels[i])
                predictions.append(result.text)
                raws.append(result.raw)
    model.train()
    return losses, truths, predictions, raws


def validate(
    model: CRNN,
    loader: DataLoader,
    device: torch.device,
    display: int = 0,
    say: Callable[[str], None] = print,
    ignore_case: bool = False,
    ignore_symbols: bool = False,
    ranks: Ranks | None = None,
) -> tuple[float, float, float]:
    """Mean per-character CTC loss, word and character accuracy; prints ``display`` examples.

    Under torchrun each rank reads its share of the set and the readings are gathered, so every
    rank computes the same metrics as one process would.
    """
    ranks = ranks or Ranks()
    losses, truths, predictions, raws = _validation_readings(model, loader, device)
    rows = distributed.gather_lists(ranks, list(zip(losses, truths, predictions, raws)))
    for _, truth, prediction, raw in rows[:display]:
        say(f"{raw} => {prediction} => {truth}")
    metrics = compute_metrics(
        [r[1] for r in rows], [r[2] for r in rows], ignore_case=ignore_case, ignore_symbols=ignore_symbols
    )
    return sum(r[0] for r in rows) / max(len(rows), 1), metrics.word_accuracy, metrics.char_accuracy


# ----------------------------------------------------------------------------------------------
# Stopping on a signal: finish the step, save, then stop.


@contextmanager
def _stop_on_signals() -> Iterator[dict[str, int]]:
    """Turn SIGINT and SIGTERM into a request, seen after the current step; a second one stops at once."""
    request = {"signal": 0}
    if not _in_main_thread():
        yield request
        return

    def handler(signum: int, frame: Any) -> None:
        if request["signal"]:
            raise KeyboardInterrupt
        request["signal"] = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _worker_ignores_ctrl_c(worker_id: int) -> None:
    """Ctrl-C reaches the whole process group: a data worker that died of it would crash the main
    process's next fetch before it could save. The main process alone handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# ----------------------------------------------------------------------------------------------
# The run.


def _resumed_config(config: TrainConfig, state: dict[str, Any], say: Callable[[str], None]) -> TrainConfig:
    """The saved run's settings, with the few that ``config`` changes explicitly; other changes are errors."""
    saved = TrainConfig.from_dict(state.get("train_config", {}))
    for name in config.resume_overrides:
        if name in ("resume", "resume_overrides", "out"):
            continue
        given, kept = getattr(config, name), getattr(saved, name)
        if name in RESUME_OVERRIDABLE:
            if name == "epochs" and given != kept:
                say(f"the run was planned for {kept} epochs; its learning-rate schedule is re-planned for {given}")
            setattr(saved, name, given)
        elif given != kept:
            raise PwocrError(
                f"{flag(name)} {given}: --resume continues the run in {config.out}, which was started with "
                f"{flag(name)} {kept}; only {', '.join(sorted(flag(n) for n in RESUME_OVERRIDABLE))} may change "
                "(start a new run in another --out to change the rest)"
            )
    saved.resume, saved.out, saved.resume_overrides = True, config.out, ()
    return saved


def train(config: TrainConfig, say: Callable[[str], None] | None = None, progress: bool = True) -> list[EpochReport]:
    """Run (or resume) a training run; returns one report per epoch run in this call.

    Every setting and label is checked before any work starts; a problem is a one-line
    ``PwocrError``. With ``config.nproc > 1`` outside torchrun, the run is launched in that many
    processes on this machine and rank 0's reports are returned.
    """
    say = say or (lambda message: print(message, file=sys.stderr))
    config.check()
    if not config.resume:
        config = config.with_absolute_paths()
    out = Path(config.out)
    given = config
    state: dict[str, Any] | None = None
    state_path = out / "last.pt"
    if config.resume:
        state, state_path = load_resumable(out)
        config = _resumed_config(config, state, say)
    if config.nproc > 1 and not distributed.under_torchrun():
        # Everything a rank would reject is rejected here, once, before processes start.
        if state is None:
            _read_items(config)
        if given.seed is None and not given.resume:
            given = dataclasses.replace(given, seed=int(time.time()) % 2**31)  # every rank draws the same
        say(f"starting {config.nproc} training processes (torchrun; gloo on CPU, NCCL on GPU)")
        return distributed.launch(given.to_dict(), config.nproc, progress)
    ranks = distributed.init_ranks(config.use_cuda)
    try:
        return _train(config, state, state_path, ranks, say if ranks.is_main else (lambda _: None), progress)
    finally:
        distributed.close(ranks)


def _read_items(
    config: TrainConfig, say: Callable[[str], None] = lambda _: None
) -> tuple[list[LabelledImage], list[LabelledImage], Alphabet, Alphabet | None]:
    train_items = _label_rows(config, config.train_file, say)
    val_items = _label_rows(config, config.val_file, say)
    alphabet, pretrained = plan_alphabet(config, train_items, val_items)
    return train_items, val_items, alphabet, pretrained


def _label_rows(config: TrainConfig, csv_path: str | None, say: Callable[[str], None]) -> list[LabelledImage]:
    """A label file's rows that name each file once, inside the images folder; each one left out is said."""
    if not csv_path:
        return []
    items = read_labels(csv_path, config.imgs_folder)
    kept, skipped = screen_labels(items, labels_folder(csv_path, config.imgs_folder), config.allow_outside)
    for row in skipped:
        say(f"{row}; skipped")
    _count_skipped(config, csv_path, len(skipped), len(items), say)
    return kept


def _usable(
    config: TrainConfig,
    csv_path: str | None,
    items: list[LabelledImage],
    alphabet: Alphabet,
    model_config: ModelConfig,
    say: Callable[[str], None],
) -> list[LabelledImage]:
    """The rows whose images can be trained on (``check_labelled_images``), each one left out said."""
    if not items:
        return []
    kept = check_labelled_images(items, alphabet, model_config, say)
    _count_skipped(config, str(csv_path), len(items) - len(kept), len(items), say)
    return kept


def _count_skipped(config: TrainConfig, csv_path: str, skipped: int, total: int, say: Callable[[str], None]) -> None:
    """Say how many rows were skipped; with ``--strict``, any is an error before training starts."""
    if not skipped:
        return
    if config.strict:
        raise PwocrError(
            f"{csv_path}: {skipped} of {total} rows skipped (listed above); --strict trains on every row or none"
        )
    say(f"{csv_path}: {skipped} of {total} rows skipped (listed above); training on the other {total - skipped}")


def _train(
    config: TrainConfig,
    state: dict[str, Any] | None,
    state_path: Path,
    ranks: Ranks,
    say: Callable[[str], None],
    progress: bool,
) -> list[EpochReport]:
    run_started = time.time()
    out = Path(config.out)
    if state is not None:
        say(
            f"resuming from {state_path}: epoch {int(state['epoch']) + 1} of {config.epochs}, batch {int(state.get('batch', 0))}"
        )
    if ranks.is_main:
        stale = remove_stale_temporaries(out)
        if stale:
            say(f"removed {len(stale)} temporary file(s) that interrupted saves left in {out}")
    device = _pick_device(config.use_cuda, ranks, say)
    if config.seed is None:
        # A resumed run always has its saved seed; the ranks must share one to shard the same order.
        config.seed = distributed.rank0_value(ranks, int(time.time()) % 2**31, device)
    _seed_everything(config.seed)

    if state is not None:
        train_items = _label_rows(config, config.train_file, say)
        val_items = _label_rows(config, config.val_file, say)
        model = build_model(ModelConfig.from_dict(state["model_config"]), state["model"], str(state_path))
    else:
        train_items, val_items, alphabet, _ = _read_items(config, say)
        model = _initial_model(config, alphabet, say)
    model_config = model.config
    alphabet = Alphabet(model_config.alphabet)
    model.to(device).train()
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)

    train_items = _usable(config, config.train_file, train_items, alphabet, model_config, say)
    val_items = _usable(config, config.val_file, val_items, alphabet, model_config, say)
    collate = Collate(alphabet, model_config)
    workers = max(0, config.n_workers)
    synth_ratio = config.effective_synth_ratio()
    if config.train_file and synth_ratio > 0:
        say(
            f"training on {synth_ratio:.0%} fresh synthetic passwords and {1 - synth_ratio:.0%} of your images (--synth)"
        )
    effective_batch = config.batch_size * ranks.world
    if config.steps_per_epoch:
        steps = config.steps_per_epoch
    elif train_items and synth_ratio == 0:
        # One pass over this rank's shard, as EpochBatches cuts it (a partial last batch dropped).
        shard = math.ceil(len(train_items) / ranks.world)
        steps = 1 if shard <= config.batch_size else shard // config.batch_size
    elif train_items:
        # About one pass over the real images, whatever share of each batch they take.
        steps = max(1, math.ceil(len(train_items) / (effective_batch * max(1.0 - synth_ratio, 0.5))))
    else:
        steps = 1000
    if synth_ratio > 0:
        fonts = training_fonts(config.fonts_folder, alphabet.chars)
        synth = _synth_config(config, model_config)

    # Validation sets by name: the user's real images when given, and fixed synthetic lines when
    # training on the synthetic stream. The best checkpoint is chosen on the real set when there is one.
    val_sets: dict[str, torch.utils.data.Dataset] = {}
    if val_items:
        val_sets["real"] = LabelledImages(val_items, model_config)
    if synth_ratio > 0:
        val_sets["synthetic"] = PreparedLines(
            render_set(config.effective_synth_val_count(), seed=config.seed + 7919, config=synth), model_config
        )
    val_loaders = {
        name: DataLoader(
            Subset(data, range(ranks.rank, len(data), ranks.world)), batch_size=config.batch_size, collate_fn=collate
        )
        for name, data in val_sets.items()
    }

    if config.freeze_blocks >= 0:
        freeze_conv_stack(model, config.freeze_blocks)
        say(f"conv stack: stem and first {config.freeze_blocks} blocks frozen")
    teacher = _teacher(config, alphabet, device) if config.distill > 0 else None
    if teacher is not None:
        say(f"distilling from {config.weights_file} (weight {config.distill})")
    conv_params = [p for p in model.cnn.parameters() if p.requires_grad]
    conv_ids = {id(p) for p in conv_params}
    groups = [
        {"params": conv_params, "lr": config.lr * config.backbone_lr_scale},
        {"params": [p for p in model.parameters() if id(p) not in conv_ids and p.requires_grad], "lr": config.lr},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    peak_lrs = [config.lr * config.backbone_lr_scale, config.lr]
    total_steps = steps * config.epochs
    scheduler = _one_cycle(optimizer, peak_lrs, total_steps)
    start_epoch, start_batch, global_step, best, best_epoch = 0, 0, 0, -1.0, 0
    epoch_loss, epoch_seen = 0.0, 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, global_step, best = int(state["epoch"]), int(state["step"]), float(state["best"])
        start_batch, best_epoch = int(state.get("batch", 0)), int(state.get("best_epoch", 0))
        epoch_loss, epoch_seen = float(state.get("epoch_loss", 0.0)), int(state.get("epoch_seen", 0))
        if state["scheduler"].get("total_steps") == total_steps:
            scheduler.load_state_dict(state["scheduler"])
        else:
            # A longer or shorter run: the same one-cycle shape over the new length, at the step reached.
            scheduler = _one_cycle(optimizer, peak_lrs, max(total_steps, global_step + 1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fast-forwarding the schedule, not skipping an optimizer step
                for _ in range(global_step):
                    scheduler.step()
        if "rng" in state:
            _restore_rng_states(state["rng"])
        else:
            torch.set_rng_state(state["torch_rng"])
        if int(state.get("world", 1)) != ranks.world and start_batch:
            say(
                f"resumed with {ranks.world} processes where the run had {state.get('world', 1)}: this epoch's data order changes"
            )
        if start_epoch >= config.epochs:
            say(f"the run in {out} has finished its {config.epochs} epochs; --epochs_num N (more) trains it longer")
            return []

    net: torch.nn.Module = model
    if ranks.distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    writer = None
    if ranks.is_main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=config.logs)
        out.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()

    def save(epoch_done: int, batch: int) -> None:
        """Rank 0 writes the resumable state (``epoch_done`` whole epochs, then ``batch`` batches of the next)."""
        if not ranks.is_main:
            return
        save_weights(model, out / "last.safetensors")
        path = save_resumable(
            out,
            {
                "model": model.state_dict(),
                "model_config": model_config.to_dict(),
                "train_config": config.to_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch_done,
                "batch": batch,
                "step": global_step,
                "best": best,
                "best_epoch": best_epoch,
                "epoch_loss": epoch_loss,
                "epoch_seen": epoch_seen,
                "world": ranks.world,
                "rng": _rng_states(),
            },
            global_step,
            config.keep_last,
        )
        written.update({"last.safetensors", "last.pt", path.name})

    reports: list[EpochReport] = []
    columns = [
        TextColumn("epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    # The loader's own generator, so that starting an iterator never draws from the global torch RNG
    # (which a resumed run restores exactly).
    loader_generator = torch.Generator().manual_seed(config.seed)
    loader_kwargs: dict[str, Any] = {
        "collate_fn": collate,
        "num_workers": workers,
        "generator": loader_generator,
        "worker_init_fn": _worker_ignores_ctrl_c if workers else None,
    }
    try:
        with (
            _stop_on_signals() as stop,
            Progress(*columns, disable=not (progress and ranks.is_main), transient=True) as bar,
        ):
            for epoch in range(start_epoch, config.epochs):
                first = start_batch if epoch == start_epoch else 0
                if first == 0:
                    epoch_loss, epoch_seen = 0.0, 0
                if synth_ratio > 0:
                    spec = StreamSpec(
                        seed=config.seed * 100003 + epoch,
                        synth=synth,
                        fonts=fonts,
                        real=tuple(train_items[ranks.rank :: ranks.world]),
                        synth_ratio=synth_ratio,
                        rank=ranks.rank,
                    )
                    stream = SyntheticStream(spec, model_config, batch_size=config.batch_size, start=first)
                    loader = DataLoader(stream, batch_size=config.batch_size, **loader_kwargs)
                else:
                    dataset = LabelledImages(train_items, model_config, augment=config.augment, seed=config.seed)
                    dataset.epoch = epoch
                    sampler = EpochBatches(
                        len(train_items), config.batch_size, config.seed, epoch, ranks.rank, ranks.world, first
                    )
                    loader = DataLoader(dataset, batch_sampler=sampler, **loader_kwargs)
                task = bar.add_task("train", total=steps, completed=first, epoch=epoch + 1, loss=float("nan"))
                started, seen_here, done, stopping = time.time(), 0, first, False
                iterator = iter(loader)
                while done < steps:
                    batch = next(iterator)
                    loss_tensor = ctc_loss(net, batch, device, teacher, config.distill)
                    optimizer.zero_grad(set_to_none=True)
                    loss_tensor.backward()
                    loss = loss_tensor.item()
                    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 5.0)
                    optimizer.step()
                    scheduler.step()
                    global_step += 1
                    done += 1
                    seen_here += len(batch.labels)
                    epoch_seen += len(batch.labels)
                    epoch_loss += loss
                    if writer is not None:
                        writer.add_scalar("loss/batch", loss, global_step)
                        writer.add_scalar("lr", scheduler.get_last_lr()[0], global_step)
                    bar.update(task, advance=1, loss=epoch_loss / (done or 1))
                    # Every rank stops at the same step when any was signalled (torchrun signals them all).
                    stopping = distributed.sum_over_ranks(ranks, [float(stop["signal"])], device)[0] > 0
                    if stopping and done < steps:
                        save(epoch, done)
                        say(_stopped_message(stop["signal"], epoch, done, steps, out))
                        raise KeyboardInterrupt
                    if stopping:
                        break  # the epoch is complete: validate and save it as usual, then stop
                    if config.checkpoint_every and global_step % config.checkpoint_every == 0 and done < steps:
                        save(epoch, done)
                del iterator
                bar.remove_task(task)
                seconds = time.time() - started
                loss_sum, batches, images = distributed.sum_over_ranks(
                    ranks, [epoch_loss, float(steps), float(seen_here)], device
                )
                report = EpochReport(
                    epoch + 1, loss_sum / batches, None, None, None, seconds, images / max(seconds, 1e-9)
                )
                if writer is not None:
                    writer.add_scalar("loss/epoch", report.train_loss, epoch + 1)
                    writer.add_scalar("throughput/images_per_second", report.images_per_second, epoch + 1)
                is_last = epoch + 1 == config.epochs
                due = is_last or (config.val_each > 0 and (epoch + 1) % config.val_each == 0)
                if val_loaders and due:
                    scores = {}
                    for name, loader_ in val_loaders.items():
                        real = name == "real"
                        scores[name] = validate(
                            model,
                            loader_,
                            device,
                            config.test_display,
                            say,
                            ignore_case=real and config.ignore_case,
                            ignore_symbols=real and config.ignore_symbols,
                            ranks=ranks,
                        )
                        if writer is not None:
                            for key, value in zip(("loss", "word_accuracy", "char_accuracy"), scores[name]):
                                writer.add_scalar(f"val_{name}/{key}", value, epoch + 1)
                    report.val_loss, report.word_accuracy, report.char_accuracy = scores.get(
                        "real", scores.get("synthetic")
                    )
                    report.val_scores = scores
                    score = report.word_accuracy + 1e-3 * report.char_accuracy
                    if score > best:
                        best, best_epoch = score, epoch + 1
                        if ranks.is_main:
                            save_weights(model, out / "best.safetensors")
                            written.add("best.safetensors")
                elif not val_loaders:
                    best_epoch = epoch + 1
                    if ranks.is_main:
                        save_weights(model, out / "best.safetensors")
                        written.add("best.safetensors")
                epoch_loss, epoch_seen = 0.0, 0
                save(epoch + 1, 0)
                if writer is not None:
                    writer.flush()
                reports.append(report)
                val = "".join(
                    f", {name} val loss {v[0]:.4f}, word acc {v[1]:.2%}, char acc {v[2]:.2%}"
                    for name, v in report.val_scores.items()
                )
                say(
                    f"epoch {epoch + 1}/{config.epochs}: loss {report.train_loss:.4f}{val}, "
                    f"{report.images_per_second:.0f} images/s, {seconds:.0f} s"
                )
                if stopping:
                    say(_stopped_message(stop["signal"], epoch + 1, 0, steps, out))
                    raise KeyboardInterrupt
    finally:
        if writer is not None:
            writer.close()
    if ranks.is_main:
        temperature = _refit_temperature(config, out, val_items, say) if config.calibrate else None
        _write_summary(config, out, reports, best_epoch, temperature, written, time.time() - run_started, ranks, say)
    return reports


def _stopped_message(signum: int, epoch: int, batch: int, steps: int, out: Path) -> str:
    name = signal.Signals(signum).name if signum else "a signal to another process"
    where = f"epoch {epoch + 1}, batch {batch} of {steps}" if batch else f"the end of epoch {epoch}"
    return f"stopped by {name} at {where}; saved {out / 'last.pt'}: continue with pwocr train --resume --out {out}"


def _refit_temperature(
    config: TrainConfig, out: Path, val_items: list[LabelledImage], say: Callable[[str], None]
) -> float | None:
    """Fit the confidence temperature of ``best.safetensors`` on the real validation set, in place.

    New weights make the old temperature wrong; the fit needs both right and wrong readings (and
    a few dozen lines) to mean anything, otherwise the starting model's temperature is kept.
    """
    best_path = out / "best.safetensors"
    if not val_items or not best_path.is_file():
        return None
    if config.ignore_case or config.ignore_symbols:
        # Confidence is the probability of the exact string; labels that do not give the exact
        # string (upper-case scene-text sets) cannot say whether it was right.
        say("temperature kept: a validation set scored ignoring case or symbols cannot calibrate exact readings")
        return None
    from pwocr.checkpoints import load_model
    from pwocr.evaluation.calibration import calibration, fit_temperature, string_confidences

    model = load_model(best_path).to(memory_format=torch.channels_last)
    alphabet = Alphabet(model.config.alphabet)
    loader = DataLoader(
        LabelledImages(val_items, model.config), batch_size=32, collate_fn=Collate(alphabet, model.config)
    )
    tables: list[np.ndarray] = []
    _, truths, predictions, _ = _validation_readings(model, loader, torch.device("cpu"), tables)
    labels = [greedy_decode(t, alphabet).labels for t in tables]
    correct = [p == t for p, t in zip(predictions, truths)]
    right = sum(correct)
    if len(correct) < 20 or right in (0, len(correct)):
        say(
            f"temperature kept at {model.config.temperature:.3f}: re-fitting needs 20 or more validation lines "
            f"with right and wrong readings ({right} of {len(correct)} right)"
        )
        return model.config.temperature
    # The starting temperature is a candidate too: the fit never ends worse than no fit, by its measure.
    grid = [*np.round(np.exp(np.linspace(np.log(0.5), np.log(4.0), 22)), 4).tolist(), model.config.temperature]
    temperature = fit_temperature(tables, labels, correct, grid=grid)
    before = calibration(string_confidences(tables, labels, model.config.temperature), correct)
    after = calibration(string_confidences(tables, labels, temperature), correct)
    model.config = dataclasses.replace(model.config, temperature=temperature)
    save_weights(model, best_path)
    say(
        f"confidence temperature re-fitted on {len(correct)} validation lines: {temperature:.3f} "
        f"(ECE {before.ece:.3f} -> {after.ece:.3f})"
    )
    return temperature


def _write_summary(
    config: TrainConfig,
    out: Path,
    reports: list[EpochReport],
    best_epoch: int,
    temperature: float | None,
    written: set[str],
    seconds: float,
    ranks: Ranks,
    say: Callable[[str], None],
) -> None:
    """Print and save (``summary.json``) what the run did: its best epoch and metrics, files, time."""
    best = next((r for r in reports if r.epoch == best_epoch), None)
    written = {name for name in written if (out / name).exists()} | {"summary.json"}  # older step files pruned
    summary = {
        "epochs": config.epochs,
        "epochs_run": [r.epoch for r in reports],
        "best_epoch": best_epoch,
        "best": {name: dict(zip(("loss", "word_accuracy", "char_accuracy"), v)) for name, v in best.val_scores.items()}
        if best
        else None,
        "temperature": temperature,
        "synth_ratio": config.effective_synth_ratio(),
        "processes": ranks.world,
        "batch_size_per_process": config.batch_size,
        "images_per_second": round(sum(r.images_per_second for r in reports) / len(reports), 2) if reports else None,
        "seconds": round(seconds, 1),
        "files": sorted(str(out / name) for name in written),
    }
    atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    scores = ""
    if best and best.val_scores:
        scores = ", " + ", ".join(
            f"{name} word acc {v[1]:.2%}, char acc {v[2]:.2%}" for name, v in best.val_scores.items()
        )
    say(f"done in {seconds:.0f} s: best epoch {best_epoch}{scores}; wrote {', '.join(sorted(written))} in {out}")
