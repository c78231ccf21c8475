"""Validation: the run's model reads its validation sets as ``Recognizer`` would, and is scored; at
the end of a run, the best weights' confidence temperature is re-fitted on the real set."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from pwocr.alphabet import Alphabet
from pwocr.checkpoints import load_model
from pwocr.data.preprocess import padded_width
from pwocr.decoding.ctc import greedy_decode
from pwocr.evaluation.calibration import (
    LabelledTables,
    SetsFit,
    fit_refusal,
    greedy_correctness,
    refit_temperature_on_sets,
    save_with_temperature,
)
from pwocr.evaluation.metrics import compute_metrics
from pwocr.model.crnn import CRNN
from pwocr.training import distributed
from pwocr.training.config import TrainConfig
from pwocr.training.datasets import Collate
from pwocr.training.distributed import Ranks
from pwocr.training.loss import ctc_per_character, model_input

#: (mean per-character loss, word accuracy, character accuracy) of one validation set.
Scores = tuple[float, float, float]

logger = logging.getLogger(__name__)


@torch.inference_mode()
def validation_readings(
    model: CRNN, loader: DataLoader, device: torch.device, tables: list[np.ndarray] | None = None
) -> tuple[list[float], list[str], list[str], list[str]]:
    """Per-line loss, truth, reading and raw path of every line in ``loader``.

    The reading is what ``Recognizer.decode`` returns without constraints or a format prior: the
    greedy path (a format prior is chosen at the end, on these readings: ``pwocr.training.formats``).
    ``tables``, when given, receives each line's log-probability table (time x classes), in order.
    """
    model.eval()
    alphabet = Alphabet(model.config.alphabet)
    losses, truths, predictions, raws = [], [], [], []
    for batch in loader:
        # Each width bucket on its own, every line padded only to its bucket, as Recognizer reads
        # it: validation reads what recognize reads (every frame, the padding's too).
        buckets = padded_width(batch.widths, model.config.pad_width, model.config.pad_multiple)
        for padded in buckets.unique().tolist():
            index = (buckets == padded).nonzero().flatten()
            log_probs = model(model_input(batch.images[index, :, :, :padded], device)).float()
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
    ignore_case: bool = False,
    ignore_symbols: bool = False,
    ranks: Ranks | None = None,
) -> Scores:
    """Mean per-character CTC loss, word and character accuracy; prints ``display`` examples on stderr.

    Under torchrun each rank reads its share of the set and the readings are gathered, so every
    rank computes the same metrics as one process would.
    """
    ranks = ranks or Ranks()
    losses, truths, predictions, raws = validation_readings(model, loader, device)
    rows = distributed.gather_lists(ranks, list(zip(losses, truths, predictions, raws)))
    for _, truth, prediction, raw in rows[:display]:
        # Asked for by --test_display, so printed, never logged: readings stay out of logs.
        print(f"{raw} => {prediction} => {truth}", file=sys.stderr)
    metrics = compute_metrics(
        [r[1] for r in rows], [r[2] for r in rows], ignore_case=ignore_case, ignore_symbols=ignore_symbols
    )
    return sum(r[0] for r in rows) / max(len(rows), 1), metrics.word_accuracy, metrics.char_accuracy


@dataclass
class BestReadings:
    """What the kept weights read of each validation set, by name ("real", "synthetic")."""

    truths: dict[str, list[str]]
    predictions: dict[str, list[str]]
    tables: dict[str, list[np.ndarray]]


def read_with_best(out: Path, sets: dict[str, Dataset]) -> tuple[CRNN, BestReadings] | None:
    """``best.safetensors`` and its readings of ``sets``; ``None`` when the run kept no weights."""
    best_path = out / "best.safetensors"
    if not sets or not best_path.is_file():
        return None
    model = load_model(best_path).to(memory_format=torch.channels_last)
    collate = Collate(Alphabet(model.config.alphabet), model.config)
    readings = BestReadings({}, {}, {})
    for name, dataset in sets.items():
        tables: list[np.ndarray] = []
        loader = DataLoader(dataset, batch_size=32, collate_fn=collate)
        _, readings.truths[name], readings.predictions[name], _ = validation_readings(
            model, loader, torch.device("cpu"), tables
        )
        readings.tables[name] = tables
    return model, readings


def refit_best_temperature(
    config: TrainConfig, out: Path, model: CRNN, readings: BestReadings
) -> tuple[float | None, SetsFit | None]:
    """Fit the confidence temperature of ``best.safetensors`` (``model``) on its validation readings, in place.

    Returns the temperature the run ends with (``None`` when none was considered) and the fit, if
    one was made. New weights make the old temperature wrong. The fit weighs every set read (the
    user's and the synthetic guard) and makes no set's ECE worse (``refit_temperature_on_sets``);
    it needs right and wrong readings (and a few dozen lines) to mean anything, otherwise the
    starting model's is kept.
    """
    if config.ignore_case or config.ignore_symbols:
        # Confidence is the probability of the exact string; labels that do not give the exact
        # string (upper-case scene-text sets) cannot say whether it was right.
        logger.info(
            "temperature kept: a validation set scored ignoring case or symbols cannot calibrate exact readings"
        )
        return None, None
    alphabet = Alphabet(model.config.alphabet)
    sets = {
        name: LabelledTables(tables, *greedy_correctness(tables, readings.truths[name], alphabet))
        for name, tables in readings.tables.items()
    }
    correct = [c for s in sets.values() for c in s.correct]
    refusal = fit_refusal(correct)
    if refusal is not None:
        logger.info("temperature kept at %.3f: %s", model.config.temperature, refusal)
        return model.config.temperature, None
    fit = refit_temperature_on_sets(sets, model.config.temperature)
    save_with_temperature(model, fit.after, out / "best.safetensors")
    logger.info(
        "confidence temperature re-fitted on %d validation lines: %.3f -> %.3f (ECE %s)",
        len(correct),
        fit.before,
        fit.after,
        ", ".join(f"{SET_NAMES.get(n, n)} {b:.3f} -> {a:.3f}" for n, (b, a) in fit.ece.items()),
    )
    return fit.after, fit


#: How the report names each validation set.
SET_NAMES = {"real": "your validation set", "synthetic": "synthetic guard set"}
