"""Training and fine-tuning: real labelled data, a fresh synthetic stream, or a mix of both.

One call, ``train(TrainConfig(...))``, does what the seed's ``train.py`` did: it derives the alphabet
from the training labels (unless given), starts from a pretrained checkpoint when asked (re-initialising
only the output layer if the alphabet differs), validates every ``val_each`` epochs, keeps the best and
the last checkpoint, and logs to TensorBoard. It resumes from ``last.pt`` after an interruption.
"""

from __future__ import annotations

import dataclasses
import math
import random
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.utils.data import DataLoader

from pwocr.alphabet import Alphabet, resolve_charset
from pwocr.checkpoints import build_model, load_state, load_training_state, save_training_state, save_weights
from pwocr.data.datasets import (
    Batch,
    Collate,
    LabelledImages,
    PreparedLines,
    StreamSpec,
    SyntheticStream,
    check_labelled_images,
)
from pwocr.data.labels import LabelledImage, read_labels
from pwocr.decoding.ctc import greedy_decode
from pwocr.errors import PwocrError
from pwocr.evaluation.metrics import compute_metrics
from pwocr.model.config import LCNET_MODELS
from pwocr.model.crnn import CRNN, ModelConfig
from pwocr.synth.fonts import training_fonts
from pwocr.synth.render import SynthConfig, render_set
from pwocr.training.config import TrainConfig


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


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _pick_device(use_cuda: bool, say: Callable[[str], None]) -> torch.device:
    if use_cuda and not torch.cuda.is_available():
        say("--use_cuda: no CUDA GPU is available; training on the CPU")
        return torch.device("cpu")
    return torch.device("cuda" if use_cuda else "cpu")


def _initial_model(
    config: TrainConfig, alphabet: Alphabet | None, labels: list[str], say: Callable[[str], None]
) -> CRNN:
    """Build the model: fresh, or from a pretrained checkpoint, re-initialising the head for a new alphabet.

    The alphabet is ``alphabet`` when given; otherwise, as the seed did, the training labels' own,
    except that a pretrained model keeps its alphabet when that covers every label (its output
    layer then keeps what it learned).
    """
    if not config.weights_file:
        target = alphabet or (Alphabet.from_labels(labels) if labels else Alphabet.default())
        model = CRNN(ModelConfig(alphabet=target.chars, size=config.model_size, max_width=config.max_width))
        if config.model_size in LCNET_MODELS and config.pretrained_backbone == "ppocrv6":
            from pwocr.model import pretrained

            pretrained.load_pretrained_features(lcnet_of(model))
            if config.model_size == "crnn-svtr":
                pretrained.load_pretrained_mixer_and_head(model)
            say(f"conv stack initialised from PP-OCRv6 small ({pretrained.rapidocr_rec_path()})")
        elif config.pretrained_backbone not in ("ppocrv6", "none"):
            raise PwocrError(f"--pretrained_backbone {config.pretrained_backbone!r}: choose ppocrv6 or none")
        return model
    pretrained_config, weights = load_state(config.weights_file)
    pretrained = Alphabet(pretrained_config.alphabet)
    if alphabet is None:
        alphabet = (
            pretrained if not any(pretrained.missing(label) for label in labels) else Alphabet.from_labels(labels)
        )
    # New weights, so the old confidence temperature no longer applies.
    model_config = dataclasses.replace(
        pretrained_config, alphabet=alphabet.chars, max_width=config.max_width, temperature=1.0
    )
    if alphabet == pretrained:
        return build_model(model_config, weights, config.weights_file)
    model = CRNN(model_config)
    missing, unexpected = model.load_state_dict(
        {k: v for k, v in weights.items() if not k.startswith("head.")}, strict=False
    )
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise PwocrError(f"{config.weights_file}: its weights do not fit a {model_config.size} CRNN")
    say(
        f"alphabet differs from {config.weights_file}'s: output layer re-initialised for {len(alphabet.chars)} characters"
    )
    return model


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


def _synth_config(config: TrainConfig, alphabet: str) -> SynthConfig:
    return SynthConfig(alphabet=alphabet, min_length=config.synth_min_length, max_length=config.synth_max_length)


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


def _model_input(batch: Batch, device: torch.device) -> torch.Tensor:
    # channels_last runs the conv stack 20-25% faster on a CPU, forward and backward.
    return batch.images.to(device).contiguous(memory_format=torch.channels_last)


def ctc_loss(model: CRNN, batch: Batch, device: torch.device) -> torch.Tensor:
    log_probs = model(_model_input(batch, device))
    return torch.nn.functional.ctc_loss(
        log_probs.float(),
        batch.targets.to(device),
        batch.output_lengths.to(device),
        batch.target_lengths.to(device),
        blank=0,
        reduction="mean",
        zero_infinity=True,
    )


@torch.inference_mode()
def validate(
    model: CRNN,
    loader: DataLoader,
    device: torch.device,
    display: int = 0,
    say: Callable[[str], None] = print,
    ignore_case: bool = False,
    ignore_symbols: bool = False,
) -> tuple[float, float, float]:
    """Mean CTC loss (per character, like training's), word and character accuracy; prints ``display`` examples."""
    model.eval()
    alphabet = Alphabet(model.config.alphabet)
    losses, truths, predictions = [], [], []
    shown = 0
    for batch in loader:
        # Each width on its own, unpadded, as Recognizer reads it: validation reads what recognize reads.
        for width in batch.widths.unique().tolist():
            index = (batch.widths == width).nonzero().flatten()
            images = batch.images[index, :, :, :width].to(device).contiguous(memory_format=torch.channels_last)
            log_probs = model(images).float()
            encoded = [batch.targets_of(int(i)) for i in index]
            lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
            loss = torch.nn.functional.ctc_loss(
                log_probs,
                torch.cat(encoded).to(device),
                torch.full((len(index),), log_probs.shape[0], dtype=torch.long),
                lengths,
                blank=0,
                reduction="none",
                zero_infinity=True,
            )
            # Per character, as training's reduction="mean" scales it, so the two curves compare.
            losses.extend((loss.cpu() / lengths.clamp(min=1)).tolist())
            table = log_probs.cpu().numpy()
            for j, i in enumerate(index.tolist()):
                label = batch.labels[i]
                result = greedy_decode(table[:, j], alphabet)
                truths.append(label)
                predictions.append(result.text)
                if shown < display:
                    say(f"{result.raw} => {result.text} => {label}")
                    shown += 1
    model.train()
    metrics = compute_metrics(truths, predictions, ignore_case=ignore_case, ignore_symbols=ignore_symbols)
    return sum(losses) / max(len(losses), 1), metrics.word_accuracy, metrics.char_accuracy


def train(config: TrainConfig, say: Callable[[str], None] | None = None, progress: bool = True) -> list[EpochReport]:
    """Run (or resume) a training run; returns one report per epoch run in this call."""
    say = say or (lambda message: print(message, file=sys.stderr))
    out = Path(config.out)
    last_path = out / "last.pt"
    state: dict[str, Any] | None = None
    if config.resume:
        if not last_path.is_file():
            raise PwocrError(f"{last_path}: nothing to resume from")
        state = load_training_state(last_path)
        saved = state.get("train_config", {})
        # The saved run's settings win, except its length and how it reports and where it runs.
        keep = {"epochs", "val_each", "test_display", "n_workers", "use_cuda", "resume"}
        if config.epochs != saved.get("epochs", config.epochs):
            say(
                f"the run was planned for {saved['epochs']} epochs; its learning-rate schedule is re-planned for {config.epochs}"
            )
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        config = TrainConfig(
            **{**{k: v for k, v in saved.items() if k in known}, **{k: getattr(config, k) for k in keep}}
        )
        say(f"resuming from {last_path}, epoch {state['epoch']} of {config.epochs}")
    if config.seed is None:
        config.seed = int(time.time()) % 2**31  # a resumed run always has its saved seed
    _seed_everything(config.seed)
    device = _pick_device(config.use_cuda, say)

    fixed_alphabet = Alphabet(resolve_charset(config.alphabet)) if config.alphabet else None
    train_items: list[LabelledImage] = read_labels(config.train_file, config.imgs_folder) if config.train_file else []
    val_items: list[LabelledImage] = read_labels(config.val_file, config.imgs_folder) if config.val_file else []
    synth_ratio = config.synth_ratio if train_items else 1.0
    if not train_items and config.synth_ratio < 1.0:
        say("no --train_file: training on the synthetic stream alone")
    if state is not None:
        model = build_model(ModelConfig.from_dict(state["model_config"]), state["model"], str(last_path))
    else:
        model = _initial_model(config, fixed_alphabet, [i.label for i in train_items], say)
    model_config = model.config
    alphabet = Alphabet(model_config.alphabet)
    model.to(device).train()
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)

    train_items = check_labelled_images(train_items, alphabet, model_config, say) if train_items else []
    val_items = check_labelled_images(val_items, alphabet, model_config, say) if val_items else []
    collate = Collate(alphabet, model_config)
    workers = max(0, config.n_workers)
    loader_kwargs: dict[str, Any] = {"batch_size": config.batch_size, "collate_fn": collate, "num_workers": workers}

    if synth_ratio > 0:
        fonts = training_fonts(config.fonts_folder, alphabet.chars)
        synth = _synth_config(config, alphabet.chars)
        steps = config.steps_per_epoch or max(
            1, math.ceil(len(train_items) / config.batch_size) if train_items else 1000
        )
    else:
        steps = config.steps_per_epoch or max(1, math.ceil(len(train_items) / config.batch_size))

    # Validation sets by name: the user's real images when given, and fixed synthetic lines when
    # training on the synthetic stream. The best checkpoint is chosen on the real set when there is one.
    val_sets: dict[str, torch.utils.data.Dataset] = {}
    if val_items:
        val_sets["real"] = LabelledImages(val_items, model_config)
    if synth_ratio > 0:
        val_sets["synthetic"] = PreparedLines(
            render_set(config.synth_val_count, seed=config.seed + 7919, config=synth), model_config
        )
    val_loaders = {
        name: DataLoader(data, batch_size=config.batch_size, collate_fn=collate) for name, data in val_sets.items()
    }

    if config.freeze_blocks >= 0:
        freeze_conv_stack(model, config.freeze_blocks)
        say(f"conv stack: stem and first {config.freeze_blocks} blocks frozen")
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
    start_epoch, global_step, best = 0, 0, -1.0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, global_step, best = int(state["epoch"]), int(state["step"]), float(state["best"])
        if state["scheduler"].get("total_steps") == total_steps:
            scheduler.load_state_dict(state["scheduler"])
        else:
            # A longer or shorter run: the same one-cycle shape over the new length, at the step reached.
            scheduler = _one_cycle(optimizer, peak_lrs, max(total_steps, global_step + 1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fast-forwarding the schedule, not skipping an optimizer step
                for _ in range(global_step):
                    scheduler.step()
        torch.set_rng_state(state["torch_rng"])

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=config.logs)
    out.mkdir(parents=True, exist_ok=True)
    reports: list[EpochReport] = []
    columns = [
        TextColumn("epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    try:
        with Progress(*columns, disable=not progress, transient=True) as bar:
            for epoch in range(start_epoch, config.epochs):
                if synth_ratio > 0:
                    spec = StreamSpec(
                        seed=config.seed * 100003 + epoch,
                        synth=synth,
                        fonts=fonts,
                        real=tuple(train_items),
                        synth_ratio=synth_ratio,
                    )
                    dataset: Any = SyntheticStream(spec, model_config, batch_size=config.batch_size)
                    loader = DataLoader(dataset, **loader_kwargs)
                else:
                    dataset = LabelledImages(train_items, model_config, augment=config.augment, seed=config.seed)
                    dataset.epoch = epoch
                    generator = torch.Generator().manual_seed(config.seed + epoch)
                    loader = DataLoader(
                        dataset,
                        shuffle=True,
                        generator=generator,
                        drop_last=len(train_items) > config.batch_size,
                        **loader_kwargs,
                    )
                task = bar.add_task("train", total=steps, epoch=epoch + 1, loss=float("nan"))
                started, seen, loss_sum, done = time.time(), 0, 0.0, 0
                iterator = iter(loader)
                while done < steps:
                    try:
                        batch = next(iterator)
                    except StopIteration:
                        iterator = iter(loader)
                        continue
                    loss_tensor = ctc_loss(model, batch, device)
                    optimizer.zero_grad(set_to_none=True)
                    loss_tensor.backward()
                    loss = loss_tensor.item()
                    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 5.0)
                    optimizer.step()
                    scheduler.step()
                    global_step += 1
                    done += 1
                    seen += len(batch.labels)
                    loss_sum += loss
                    writer.add_scalar("loss/batch", loss, global_step)
                    writer.add_scalar("lr", scheduler.get_last_lr()[0], global_step)
                    bar.update(task, advance=1, loss=loss_sum / done)
                del iterator
                bar.remove_task(task)
                seconds = time.time() - started
                report = EpochReport(epoch + 1, loss_sum / done, None, None, None, seconds, seen / seconds)
                writer.add_scalar("loss/epoch", report.train_loss, epoch + 1)
                writer.add_scalar("throughput/images_per_second", report.images_per_second, epoch + 1)
                is_last = epoch + 1 == config.epochs
                due = (epoch + 1) % max(config.val_each, 1) == 0 or is_last
                if val_loaders and due:
                    scores = {}
                    for name, loader_ in val_loaders.items():
                        real = name == "real"
                        val_loss, word, char = validate(
                            model,
                            loader_,
                            device,
                            config.test_display,
                            say,
                            ignore_case=real and config.ignore_case,
                            ignore_symbols=real and config.ignore_symbols,
                        )
                        scores[name] = (val_loss, word, char)
                        writer.add_scalar(f"val_{name}/loss", val_loss, epoch + 1)
                        writer.add_scalar(f"val_{name}/word_accuracy", word, epoch + 1)
                        writer.add_scalar(f"val_{name}/char_accuracy", char, epoch + 1)
                    report.val_loss, report.word_accuracy, report.char_accuracy = scores.get(
                        "real", scores.get("synthetic")
                    )
                    report.val_scores = scores
                    score = report.word_accuracy + 1e-3 * report.char_accuracy
                    if score > best:
                        best = score
                        save_weights(model, out / "best.safetensors")
                elif not val_loaders:
                    save_weights(model, out / "best.safetensors")
                save_weights(model, out / "last.safetensors")
                save_training_state(
                    {
                        "model": model.state_dict(),
                        "model_config": model_config.to_dict(),
                        "train_config": config.to_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "epoch": epoch + 1,
                        "step": global_step,
                        "best": best,
                        "torch_rng": torch.get_rng_state(),
                    },
                    last_path,
                )
                writer.flush()
                reports.append(report)
                val = "".join(
                    f", {name} val loss {v[0]:.4f}, word acc {v[1]:.2%}, char acc {v[2]:.2%}"
                    for name, v in report.val_scores.items()
                )
                say(
                    f"epoch {epoch + 1}/{config.epochs}: loss {report.train_loss:.4f}{val}, {report.images_per_second:.0f} images/s, {seconds:.0f} s"
                )
    finally:
        writer.close()
    return reports
