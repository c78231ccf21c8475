"""One process's part of a training run: set up, then epochs of training and validation, each saved;
at the end, the temperature re-fit and the summary. Named parts live beside it: ``setup``,
``loop`` (``fit_one_epoch``), ``validation``, ``checkpointing``, ``state``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from pwocr.errors import PwocrError
from pwocr.evaluation.evaluate import confusion_pairs
from pwocr.evaluation.metrics import compute_metrics
from pwocr.io import atomic_write
from pwocr.model.crnn import CRNN
from pwocr.training import setup
from pwocr.training.anchor import Anchor
from pwocr.training.checkpointing import Checkpointer
from pwocr.training.config import TrainConfig
from pwocr.training.datasets import EpochBatches, LabelledImages, StreamSpec, SyntheticStream
from pwocr.training.distributed import Ranks
from pwocr.training.formats import fit_format_prior
from pwocr.training.loop import (
    EpochReport,
    EpochWatch,
    Trainee,
    fit_one_epoch,
    progress_bar,
    stop_on_signals,
    stopped_message,
    worker_ignores_ctrl_c,
)
from pwocr.training.loss import GlyphWatch
from pwocr.training.setup import RunData
from pwocr.training.state import Position, TrainingState
from pwocr.training.validation import SET_NAMES, Scores, read_with_best, refit_best_temperature, validate

logger = logging.getLogger(__name__)


def run_rank(
    config: TrainConfig, state: TrainingState | None, state_path: Path, ranks: Ranks, progress: bool
) -> list[EpochReport]:
    """Train this rank from the start or from ``state``; returns one report per epoch run."""
    run_started = time.time()
    if state is not None:
        position = state.position
        logger.info(
            "resuming from %s: epoch %d of %d, batch %d", state_path, position.epoch + 1, config.epochs, position.batch
        )
    device = setup.start_rank(config, ranks)
    model, train_items, val_items = setup.run_model(config, state, state_path, device)
    data = setup.run_data(config, model.config, train_items, val_items, ranks)
    teacher = setup.prepare_for_training(config, model, device)
    optimizer, scheduler = setup.optimiser(config, model, data.steps)
    position = Position()
    if state is not None:
        position, scheduler = setup.resume(state, config, optimizer, scheduler, data.steps, ranks)
        if position.epoch >= config.epochs:
            logger.info(
                "the run in %s has finished its %d epochs; --epochs_num N (more) trains it longer",
                config.out,
                config.epochs,
            )
            return []
        if _out_of_patience(config, position.epoch, position.best_epoch):
            logger.info(
                "the run in %s stopped early at epoch %d (--patience): nothing left to resume; "
                "start a new run in another --out to train longer",
                config.out,
                position.epoch,
            )
            return []
    trainee = Trainee(
        model,
        _wrapped(model, ranks, device),
        optimizer,
        scheduler,
        device,
        teacher,
        config.distill or 0.0,
        distill_every_line=data.synth_ratio == 0,
        anchor=setup.anchor(config, model, teacher, device),
        glyphs=GlyphWatch(model) if config.refine_lookalikes else None,
    )
    checkpoints = Checkpointer(config, model, optimizer, scheduler, ranks)
    if config.fine_tuning and position.step == 0:
        _score_the_start(config, trainee, data, position, ranks)
    reports = _epochs(config, trainee, data, position, checkpoints, ranks, progress)
    if ranks.is_main:
        finish = finish_run(config, checkpoints.out, data, position)
        _write_summary(config, reports, position, finish, checkpoints.written, time.time() - run_started, ranks)
    return reports


def _score_the_start(config: TrainConfig, trainee: Trainee, data: RunData, position: Position, ranks: Ranks) -> None:
    """Score the starting model before a fine-tune's first step: the guard's reference and the report's "before"."""
    scores = _score_sets(config, trainee, data, ranks)
    position.start_real = scores["real"][1] if "real" in scores else -1.0
    position.start_guard = scores["synthetic"][1] if "synthetic" in scores else -1.0
    logger.info("before fine-tuning: %s", ", ".join(f"{SET_NAMES[n]} word acc {v[1]:.2%}" for n, v in scores.items()))


def _score_sets(config: TrainConfig, trainee: Trainee, data: RunData, ranks: Ranks) -> dict[str, Scores]:
    """The model's scores on every validation set, the user's scored as ``--ignore_case``/``--ignore_symbols`` say."""
    scores: dict[str, Scores] = {}
    for name, loader in data.val_loaders.items():
        real = name == "real"
        scores[name] = validate(
            trainee.model,
            loader,
            trainee.device,
            config.test_display,
            ignore_case=real and config.ignore_case,
            ignore_symbols=real and config.ignore_symbols,
            ranks=ranks,
        )
    return scores


def _wrapped(model: CRNN, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """The model as the steps run it: under DistributedDataParallel when there are several ranks."""
    if not ranks.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _epochs(
    config: TrainConfig,
    trainee: Trainee,
    data: RunData,
    position: Position,
    checkpoints: Checkpointer,
    ranks: Ranks,
    progress: bool,
) -> list[EpochReport]:
    """The epochs from ``position`` on: train, validate when due, save; stop cleanly on a signal."""
    writer = _open_writer(config) if ranks.is_main else None
    loaders = _epoch_loaders(config, data, trainee.model, ranks)
    reports: list[EpochReport] = []
    try:
        with stop_on_signals() as stop, progress_bar(progress and ranks.is_main) as bar:
            watch = EpochWatch(ranks, checkpoints, config.checkpoint_every, bar, writer, stop)
            for epoch in range(position.epoch, config.epochs):
                if position.batch == 0:
                    position.epoch_loss, position.epoch_seen = 0.0, 0
                report, stopping = fit_one_epoch(trainee, loaders(epoch, position.batch), data.steps, position, watch)
                _log_epoch(writer, report)
                if trainee.anchor is not None:
                    _log_anchor(writer, trainee.anchor, report.epoch)
                _validate_epoch(config, trainee, data, report, position, checkpoints, writer, ranks)
                position.epoch, position.batch, position.epoch_loss, position.epoch_seen = epoch + 1, 0, 0.0, 0
                checkpoints.save_state(position)
                if writer is not None:
                    writer.flush()
                reports.append(report)
                logger.info(_epoch_line(report, config.epochs))
                if report.val_scores and _out_of_patience(config, report.epoch, position.best_epoch):
                    logger.info(
                        "stopping early: validation has not improved for %d validations (best: epoch %d; --patience)",
                        config.patience,
                        position.best_epoch,
                    )
                    break
                if stopping:
                    logger.warning(stopped_message(stop["signal"], epoch + 1, 0, data.steps, checkpoints.out))
                    raise KeyboardInterrupt
    finally:
        if writer is not None:
            writer.close()
    return reports


def _log_anchor(writer: Any, anchor: Anchor, epoch: int) -> None:
    """How far the anchored conv weights have moved from their start: the log and TensorBoard."""
    distance = anchor.distance()
    logger.info("epoch %d: anchored conv weights %.4g (RMS) from their start", epoch, distance)
    if writer is not None:
        writer.add_scalar("anchor/rms_distance", distance, epoch)


def _open_writer(config: TrainConfig) -> Any:
    from torch.utils.tensorboard import SummaryWriter

    try:
        writer = SummaryWriter(log_dir=config.logs)
    except OSError as e:  # checked before the run started; a folder can still go between then and now
        raise PwocrError(f"--logs {config.logs}: cannot create the folder ({e.strerror or type(e).__name__})") from None
    try:
        Path(config.out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PwocrError(f"--out {config.out}: cannot create the folder ({e.strerror or type(e).__name__})") from None
    return writer


def _epoch_loaders(config: TrainConfig, data: RunData, model: CRNN, ranks: Ranks) -> Callable[[int, int], DataLoader]:
    """A function of (epoch, first batch) to that epoch's training batches on this rank, from that batch on."""
    assert config.seed is not None
    seed = config.seed
    # The loader's own generator, so that starting an iterator never draws from the global torch RNG
    # (which a resumed run restores exactly).
    workers = max(0, config.n_workers)
    loader_kwargs: dict[str, Any] = {
        "collate_fn": data.collate,
        "num_workers": workers,
        "generator": torch.Generator().manual_seed(seed),
        "worker_init_fn": worker_ignores_ctrl_c if workers else None,
    }

    def loader(epoch: int, first: int) -> DataLoader:
        if data.synth_ratio > 0:
            assert data.synth is not None and data.fonts is not None
            spec = StreamSpec(
                seed=seed * 100003 + epoch,
                synth=data.synth,
                fonts=data.fonts,
                real=tuple(data.train_items[ranks.rank :: ranks.world]),
                synth_ratio=data.synth_ratio,
                rank=ranks.rank,
            )
            stream = SyntheticStream(spec, model.config, batch_size=config.batch_size, start=first)
            return DataLoader(stream, batch_size=config.batch_size, **loader_kwargs)
        dataset = LabelledImages(data.train_items, model.config, augment=config.augment, seed=seed)
        dataset.epoch = epoch
        sampler = EpochBatches(len(data.train_items), config.batch_size, seed, epoch, ranks.rank, ranks.world, first)
        return DataLoader(dataset, batch_sampler=sampler, **loader_kwargs)

    return loader


def _log_epoch(writer: Any, report: EpochReport) -> None:
    if writer is not None:
        writer.add_scalar("loss/epoch", report.train_loss, report.epoch)
        writer.add_scalar("throughput/images_per_second", report.images_per_second, report.epoch)


def _validate_epoch(
    config: TrainConfig,
    trainee: Trainee,
    data: RunData,
    report: EpochReport,
    position: Position,
    checkpoints: Checkpointer,
    writer: Any,
    ranks: Ranks,
) -> None:
    """Score the epoch on every validation set when due, into ``report``; keep the best weights.

    Without validation sets, every epoch is the best so far.
    """
    if not data.val_loaders:
        position.best_epoch = report.epoch
        checkpoints.save_best()
        return
    if not (report.epoch == config.epochs or (config.val_each > 0 and report.epoch % config.val_each == 0)):
        return
    scores = _score_sets(config, trainee, data, ranks)
    if writer is not None:
        for name, values in scores.items():
            for key, value in zip(("loss", "word_accuracy", "char_accuracy"), values):
                writer.add_scalar(f"val_{name}/{key}", value, report.epoch)
    report.val_loss, report.word_accuracy, report.char_accuracy = scores.get("real", scores.get("synthetic"))
    report.val_scores = scores
    score = _selection_score(config, scores, position)
    if score > position.best:
        position.best, position.best_epoch = score, report.epoch
        checkpoints.save_best()


def _selection_score(config: TrainConfig, scores: dict[str, Scores], position: Position) -> float:
    """How an epoch ranks for keeping: word accuracy (then character accuracy) on the deciding set.

    A fine-tune with a guard set ranks every epoch that reads it within ``--guard_drop`` points of
    the starting model above every epoch that forgot more, and among those, the one that forgot least.
    """
    _, word, char = scores.get("real", scores.get("synthetic"))
    score = word + 1e-3 * char
    guard = scores.get("synthetic") if "real" in scores else None
    if guard is None or position.start_guard < 0:
        return score
    if guard[1] >= position.start_guard - config.guard_drop / 100 - 1e-9:
        return 2.0 + score
    return guard[1]


def _out_of_patience(config: TrainConfig, epochs_done: int, best_epoch: int) -> bool:
    """Whether ``--patience`` validations in a row have passed without a better epoch: the run stops
    there, and a resumed run that had stopped there is finished (derived, nothing saved for it)."""
    return bool(config.patience) and epochs_done - best_epoch >= config.patience * max(config.val_each, 1)


def _epoch_line(report: EpochReport, epochs: int) -> str:
    val = "".join(
        f", {name} val loss {v[0]:.4f}, word acc {v[1]:.2%}, char acc {v[2]:.2%}"
        for name, v in report.val_scores.items()
    )
    return (
        f"epoch {report.epoch}/{epochs}: loss {report.train_loss:.4f}{val}, "
        f"{report.images_per_second:.0f} images/s, {report.seconds:.0f} s"
    )


def finish_run(config: TrainConfig, out: Path, data: RunData, position: Position) -> dict[str, Any]:
    """Read the validation sets with the kept weights, re-fit their temperature, and say what the run changed.

    Returns the summary's part about the kept weights: temperature and ECE before and after the
    re-fit, the format prior chosen (``pwocr.training.formats``), each set's word accuracy before
    the run and now, the worst character confusions on the user's set, and the command that reads
    with the new model.
    """
    # Each loader reads its rank's share of a set: the whole set is the share's dataset.
    sets = {name: loader.dataset.dataset for name, loader in data.val_loaders.items()}
    read = read_with_best(out, sets)
    if read is None:
        return {"temperature": None}
    model, readings = read
    # The temperature is re-fitted for the user's images (with the guard beside them); a run on the
    # synthetic stream alone keeps its own (``pwocr calibrate`` fits one on any set).
    refit = config.calibrate and bool(data.val_items)
    temperature, fit = refit_best_temperature(config, out, model, readings) if refit else (None, None)
    formats = fit_format_prior(config, out, model, readings, [item.label for item in data.train_items])
    starts = {"real": position.start_real, "synthetic": position.start_guard}
    accuracy = {
        name: compute_metrics(
            readings.truths[name],
            readings.predictions[name],
            ignore_case=name == "real" and config.ignore_case,
            ignore_symbols=name == "real" and config.ignore_symbols,
        ).word_accuracy
        for name in sets
    }
    report: dict[str, Any] = {
        "word_accuracy": {
            name: {"before": round(starts[name], 4) if starts[name] >= 0 else None, "after": round(accuracy[name], 4)}
            for name in sets
        },
        "read_with": f"pwocr recognize --checkpoint_path {out / 'best.safetensors'} PHOTO",
    }
    if "real" in sets:
        pairs = _confusions(readings.truths["real"], readings.predictions["real"])
        report["character_errors"] = sum(n for _, n in pairs)
        report["worst_confusions"] = [{"truth": t or None, "read": r or None, "count": n} for (t, r), n in pairs[:5]]
    _log_report(report, config.soup_member)
    return {
        "temperature": temperature,
        "calibration": fit.as_dict() if fit else None,
        "formats": formats,
        "report": report,
    }


def _confusions(truths: list[str], predictions: list[str]) -> list[tuple[tuple[str, str], int]]:
    """Character errors, the most frequent first: a truth read as another character, dropped, or one read where none is."""
    pairs = [(pair, n) for pair, n in confusion_pairs(truths, predictions).items() if pair[0] != pair[1]]
    return sorted(pairs, key=lambda item: -item[1])


def _log_report(report: dict[str, Any], soup_member: int = 0) -> None:
    for name, change in report["word_accuracy"].items():
        before = "" if change["before"] is None else f"{change['before']:.2%} before, "
        logger.info("%s: %s%.2f%% with the kept weights", SET_NAMES[name], before, 100 * change["after"])
    confusions = report.get("worst_confusions")
    if confusions:
        # Which characters: in summary.json beside the model, never in a log (labels may be passwords).
        logger.info(
            "%d character errors on your validation set; the most frequent, by character, are in summary.json "
            "(worst_confusions)",
            report["character_errors"],
        )
    if soup_member:
        logger.info("member %d done: the soup averages the members' kept weights once they are all done", soup_member)
    else:
        logger.info("read with the new model: %s", report["read_with"])


def _write_summary(
    config: TrainConfig,
    reports: list[EpochReport],
    position: Position,
    finish: dict[str, Any],
    written: set[str],
    seconds: float,
    ranks: Ranks,
) -> None:
    """Print and save (``summary.json``) what the run did: its best epoch and metrics, files, time."""
    out = Path(config.out)
    best_epoch = position.best_epoch
    best = next((r for r in reports if r.epoch == best_epoch), None)
    written = {name for name in written if (out / name).exists()} | {"summary.json"}  # older step files pruned
    summary = {
        "epochs": config.epochs,
        "epochs_run": [r.epoch for r in reports],
        "best_epoch": best_epoch,
        "kept_by": _kept_by(config, position),
        "best": {name: dict(zip(("loss", "word_accuracy", "char_accuracy"), v)) for name, v in best.val_scores.items()}
        if best
        else None,
        **finish,
        "history": [
            {
                "epoch": r.epoch,
                "train_loss": round(r.train_loss, 5),
                **{f"{name}_word_accuracy": round(v[1], 4) for name, v in r.val_scores.items()},
            }
            for r in reports
        ],
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
    logger.info(
        "done in %.0f s: best epoch %d%s; wrote %s in %s", seconds, best_epoch, scores, ", ".join(sorted(written)), out
    )


def _kept_by(config: TrainConfig, position: Position) -> str:
    """How the kept epoch was chosen, in words, for the summary."""
    if position.start_guard >= 0 and config.val_file:
        return (
            f"best word accuracy on --val_file among epochs within {config.guard_drop:g} points of the starting "
            "model on the synthetic guard set (none within: the one that forgot least)"
        )
    return "best word accuracy on --val_file" if config.val_file else "best word accuracy on the synthetic set"
