"""The training loop's parts: one optimisation step, one epoch, and stopping cleanly on a signal."""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.utils.data import DataLoader

from pwocr.errors import PwocrError
from pwocr.model.crnn import CRNN
from pwocr.training import distributed
from pwocr.training.anchor import Anchor
from pwocr.training.checkpointing import Checkpointer
from pwocr.training.datasets import Batch
from pwocr.training.distributed import Ranks
from pwocr.training.loss import GlyphWatch, ctc_loss
from pwocr.training.state import Position
from pwocr.training.teacher import Teacher

logger = logging.getLogger(__name__)


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


@dataclass
class Trainee:
    """What an optimisation step updates: the model (``net`` wraps it under DDP), its optimiser and
    schedule; and the teacher it is distilled from, if any."""

    model: CRNN
    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    teacher: Teacher | None = None
    distill: float = 0.0
    # The teacher reads every line (a run without synthetic lines), not only the synthetic ones.
    distill_every_line: bool = False
    # What pulls the learning conv weights back toward their start after each step (--anchor).
    anchor: Anchor | None = None
    # The look-alike refiner's glyph loss, when the refiner trains alone (--refine_lookalikes).
    glyphs: GlyphWatch | None = None

    def step(self, batch: Batch) -> float:
        """One optimisation step on ``batch``; returns its loss."""
        loss_tensor = ctc_loss(
            self.net, batch, self.device, self.teacher, self.distill, self.distill_every_line, self.glyphs
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss_tensor.backward()
        loss = loss_tensor.item()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 5.0)
        self.optimizer.step()
        if self.anchor is not None:
            self.anchor.pull(self.optimizer.param_groups[0]["lr"])  # group 0: the conv stack's (setup.optimiser)
        self.scheduler.step()
        return loss


@dataclass
class EpochWatch:
    """What watches an epoch: the progress bar, TensorBoard, the stop request and mid-epoch checkpoints."""

    ranks: Ranks
    checkpoints: Checkpointer
    checkpoint_every: int
    bar: Progress
    writer: Any  # a SummaryWriter on rank 0, else None
    stop: dict[str, int]


def fit_one_epoch(
    trainee: Trainee, loader: DataLoader, steps: int, position: Position, watch: EpochWatch
) -> tuple[EpochReport, bool]:
    """Train from ``position`` (epoch ``position.epoch``, its batch ``position.batch``) to the epoch's end.

    Returns the epoch's report (no validation yet) and whether a signal asked the run to stop at
    its end. A signal before the end saves where the run stopped and raises ``KeyboardInterrupt``.
    """
    task = watch.bar.add_task(
        "train", total=steps, completed=position.batch, epoch=position.epoch + 1, loss=float("nan")
    )
    started = time.time()
    iterator = iter(loader)
    with worker_deaths_seen_at_fetch():
        seen_here, stopping = _fit_steps(trainee, iterator, steps, position, watch, task)
    del iterator
    watch.bar.remove_task(task)
    seconds = time.time() - started
    loss_sum, batches, images = distributed.sum_over_ranks(
        watch.ranks, [position.epoch_loss, float(steps), float(seen_here)], trainee.device
    )
    report = EpochReport(position.epoch + 1, loss_sum / batches, None, None, None, seconds, images / max(seconds, 1e-9))
    return report, stopping


def _fit_steps(
    trainee: Trainee, iterator: Iterator[Batch], steps: int, position: Position, watch: EpochWatch, task: Any
) -> tuple[int, bool]:
    """The epoch's steps from ``position`` on: the lines this process trained on, and whether a
    signal asked the run to stop at the epoch's end (one before it saves and raises ``KeyboardInterrupt``)."""
    epoch, ranks, seen_here, stopping = position.epoch, watch.ranks, 0, False
    while position.batch < steps:
        batch = _next_batch(iterator, position, watch.checkpoints)
        loss = trainee.step(batch)
        position.step += 1
        position.batch += 1
        seen_here += len(batch.labels)
        position.epoch_seen += len(batch.labels)
        position.epoch_loss += loss
        if watch.writer is not None:
            watch.writer.add_scalar("loss/batch", loss, position.step)
            watch.writer.add_scalar("lr", trainee.scheduler.get_last_lr()[0], position.step)
        watch.bar.update(task, advance=1, loss=position.epoch_loss / (position.batch or 1))
        # Every rank stops at the same step when any was signalled (torchrun signals them all).
        stopping = distributed.sum_over_ranks(ranks, [float(watch.stop["signal"])], trainee.device)[0] > 0
        if stopping and position.batch < steps:
            watch.checkpoints.save_state(position)
            logger.warning(stopped_message(watch.stop["signal"], epoch, position.batch, steps, watch.checkpoints.out))
            raise KeyboardInterrupt
        if stopping:
            break  # the epoch is complete: validate and save it as usual, then stop
        every = watch.checkpoint_every
        if every and position.step % every == 0 and position.batch < steps:
            watch.checkpoints.save_state(position)
    return seen_here, stopping


def _next_batch(iterator: Iterator[Batch], position: Position, checkpoints: Checkpointer) -> Batch:
    """The loader's next batch; when a data process died (the OOM killer, a signal sent to it alone),
    the run saves where it stopped and says how to go on, instead of dying with a traceback."""
    try:
        return next(iterator)
    except (RuntimeError, ConnectionError, EOFError) as e:
        # The loader's own words for a dead process, or its batch lost half-way: the tensors of a
        # batch come by file descriptors that the dead process can no longer hand over.
        if isinstance(e, RuntimeError) and not str(e).startswith("DataLoader worker"):
            raise
        checkpoints.save_state(position)
        raise PwocrError(
            "a data process (--n_workers) died, killed from outside (the out-of-memory killer?);"
            f" saved {checkpoints.out / 'last.pt'} at epoch {position.epoch + 1}, batch {position.batch}:"
            f" continue with pwocr train --resume --out {checkpoints.out}"
        ) from None


def progress_bar(enabled: bool) -> Progress:
    columns = [
        TextColumn("epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    return Progress(*columns, disable=not enabled, transient=True)


def stopped_message(signum: int, epoch: int, batch: int, steps: int, out: Path) -> str:
    name = signal.Signals(signum).name if signum else "a signal to another process"
    where = f"epoch {epoch + 1}, batch {batch} of {steps}" if batch else f"the end of epoch {epoch}"
    return f"stopped by {name} at {where}; saved {out / 'last.pt'}: continue with pwocr train --resume --out {out}"


@contextmanager
def worker_deaths_seen_at_fetch() -> Iterator[None]:
    """Let a dead data process show at the next fetch, never in the middle of a step.

    A DataLoader's SIGCHLD handler raises as soon as a data process dies (the OOM killer, a signal
    sent to it alone): wherever the main process is, half-way through the optimiser's update
    included, where nothing consistent could be saved. Without it, the loader finds the dead
    process within a few seconds at the next fetch (``next`` polls its processes when it waits),
    between two steps, where ``_next_batch`` saves and says how to resume.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL if previous is None else previous)


@contextmanager
def stop_on_signals() -> Iterator[dict[str, int]]:
    """Turn SIGINT and SIGTERM into a request, seen after the current step; a second one stops at once."""
    request = {"signal": 0}
    if threading.current_thread() is not threading.main_thread():
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


def worker_ignores_ctrl_c(worker_id: int) -> None:
    """Ctrl-C reaches the whole process group: a data worker that died of it would crash the main
    process's next fetch before it could save. The main process alone handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
