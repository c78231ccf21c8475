"""How far string confidences can be trusted: expected calibration error and flagging power."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.checkpoints import save_weights
from pwocr.data.images import load
from pwocr.data.labels import SkippedRow, check_labels, read_screened_labels
from pwocr.data.preprocess import LinePreprocessor
from pwocr.decoding.confidence import string_probability
from pwocr.decoding.ctc import greedy_decode
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Recognizer, tempered_probabilities
from pwocr.model.config import ModelConfig

if TYPE_CHECKING:  # torch only where a checkpoint is written
    from pwocr.model.crnn import CRNN

logger = logging.getLogger(__name__)

#: Fewest lines a temperature is re-fitted on (the end of ``pwocr train``, ``pwocr calibrate``); they must
#: also hold right and wrong readings: the fit weighs one against the other.
MIN_FIT_LINES = 20


def fit_refusal(correct: Sequence[bool]) -> str | None:
    """Why no temperature can be fitted on readings right or wrong as ``correct`` says; ``None`` when one can."""
    right = sum(map(bool, correct))
    if len(correct) < MIN_FIT_LINES or right in (0, len(correct)):
        return (
            f"re-fitting needs {MIN_FIT_LINES} or more lines with right and wrong readings "
            f"({right} of {len(correct)} right)"
        )
    return None


@dataclass(frozen=True)
class Calibration:
    ece: float  # expected calibration error over equal-width confidence bins
    threshold: float  # confidence below which a reading is flagged
    right_flagged: float  # share of right readings flagged at that threshold (at most the budget)
    wrong_flagged: float  # share of wrong readings flagged at that threshold
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in ("ece", "threshold", "right_flagged", "wrong_flagged", "n")}


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Mean |accuracy - confidence| over ``bins`` equal-width bins, weighted by how many readings fall in each."""
    conf = np.asarray(confidences, dtype=float)
    right = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.mean() * abs(right[members].mean() - conf[members].mean())
    return float(ece)


def calibration(confidences: Sequence[float], correct: Sequence[bool], right_budget: float = 0.10) -> Calibration:
    """ECE, and the share of wrong readings flagged by the highest threshold that flags at most
    ``right_budget`` of the right ones (a reading is flagged when its confidence is below the threshold)."""
    conf = np.asarray(confidences, dtype=float)
    right = np.asarray(correct, dtype=bool)
    threshold = 0.0
    if right.any():
        # Flagging "conf < t" catches at most budget of the right readings.
        ordered = np.sort(conf[right])
        k = int(np.floor(right_budget * len(ordered)))
        threshold = float(ordered[k]) if k < len(ordered) else float(ordered[-1]) + 1e-12
    flagged = conf < threshold
    return Calibration(
        ece=expected_calibration_error(conf, right),
        threshold=threshold,
        right_flagged=float(flagged[right].mean()) if right.any() else 0.0,
        wrong_flagged=float(flagged[~right].mean()) if (~right).any() else 0.0,
        n=len(conf),
    )


#: The temperatures every fit tries: 22 steps, evenly spaced in log, from 0.5 (sharper) to 4 (flatter).
TEMPERATURE_GRID: tuple[float, ...] = tuple(np.round(np.exp(np.linspace(np.log(0.5), np.log(4.0), 22)), 4).tolist())


def fit_temperature(
    log_prob_tables: Sequence[np.ndarray],
    labels: Sequence[Sequence[int]],
    correct: Sequence[bool],
    grid: Sequence[float] | None = None,
) -> float:
    """The softmax temperature whose string confidences best predict whether readings are right.

    ``labels`` are the greedy readings' class indices (they do not change with temperature, so
    neither does ``correct``). Minimises the negative log-likelihood of right/wrong under the
    confidence, a proper scoring rule, over a grid of temperatures.
    """
    grid = TEMPERATURE_GRID if grid is None else grid
    best, best_nll = 1.0, np.inf
    for t in grid:
        nll = right_wrong_nll(string_confidences(log_prob_tables, labels, float(t)), correct)
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def right_wrong_nll(confidences: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray) -> float:
    """Negative log-likelihood of right/wrong under the confidences: the proper scoring rule the temperature minimises."""
    conf = np.clip(np.asarray(confidences, dtype=float), 1e-6, 1 - 1e-6)
    right = np.asarray(correct, dtype=bool)
    return float(-np.mean(np.where(right, np.log(conf), np.log1p(-conf))))


def string_confidences(
    log_prob_tables: Sequence[np.ndarray], labels: Sequence[Sequence[int]], temperature: float
) -> np.ndarray:
    """The CTC probability of each labelling at ``temperature``."""
    return np.array(
        [string_probability(tempered_probabilities(t, temperature), y) for t, y in zip(log_prob_tables, labels)]
    )


@dataclass(frozen=True)
class TemperatureFit:
    """A re-fitted temperature, and the greedy readings' calibration before and after it."""

    temperature: float
    before: Calibration
    after: Calibration


def greedy_correctness(
    log_prob_tables: Sequence[np.ndarray], truths: Sequence[str], alphabet: Alphabet
) -> tuple[list[tuple[int, ...]], list[bool]]:
    """Each table's greedy reading (class indices), and whether it reads its truth exactly."""
    labels = [greedy_decode(t, alphabet).labels for t in log_prob_tables]
    return labels, [alphabet.decode(y) == truth for y, truth in zip(labels, truths)]


def refit_temperature(
    log_prob_tables: Sequence[np.ndarray],
    labels: Sequence[Sequence[int]],
    correct: Sequence[bool],
    current: float,
    grid: Sequence[float] | None = None,
) -> TemperatureFit:
    """``pwocr calibrate``'s re-fit on one set: ``fit_temperature``, with the calibration at ``current`` and
    at the new temperature. (The end of ``pwocr train`` re-fits on several sets: ``refit_temperature_on_sets``.)"""
    temperature = fit_temperature(log_prob_tables, labels, correct, grid=grid)
    return TemperatureFit(
        temperature,
        before=calibration(string_confidences(log_prob_tables, labels, current), correct),
        after=calibration(string_confidences(log_prob_tables, labels, temperature), correct),
    )


@dataclass(frozen=True)
class LabelledTables:
    """One set's log-probability tables, greedy readings (class indices) and whether each is right."""

    tables: Sequence[np.ndarray]
    labels: Sequence[Sequence[int]]
    correct: Sequence[bool]


@dataclass(frozen=True)
class SetsFit:
    """A temperature re-fitted on several sets at once, and each set's ECE before and after."""

    before: float
    after: float
    ece: dict[str, tuple[float, float]]  # by set: (at ``before``, at ``after``)

    def as_dict(self) -> dict[str, object]:
        return {
            "temperature_before": self.before,
            "temperature_after": self.after,
            "ece": {name: {"before": round(b, 4), "after": round(a, 4)} for name, (b, a) in self.ece.items()},
        }


def refit_temperature_on_sets(
    sets: dict[str, LabelledTables], current: float, grid: Sequence[float] | None = None
) -> SetsFit:
    """The temperature of least negative log-likelihood over all ``sets`` that makes no set's ECE worse.

    A fine-tune's own validation set is small; fitted on it alone, a temperature can make the
    confidences of everything else (passwords, the guard set) worse. ``current`` always qualifies,
    so the result is never worse than no fit on any set.
    """
    grid = list(TEMPERATURE_GRID if grid is None else grid)
    grid = sorted({*map(float, grid), float(current)})

    def eces(t: float) -> dict[str, float]:
        return {
            n: expected_calibration_error(string_confidences(s.tables, s.labels, t), s.correct) for n, s in sets.items()
        }

    def nll(t: float) -> float:
        conf = np.concatenate([string_confidences(s.tables, s.labels, t) for s in sets.values()])
        return right_wrong_nll(conf, np.concatenate([np.asarray(s.correct, dtype=bool) for s in sets.values()]))

    start = eces(current)
    for t in sorted(grid, key=nll):
        after = eces(t)
        if all(after[n] <= start[n] + 1e-9 for n in sets):
            return SetsFit(float(current), t, {n: (start[n], after[n]) for n in sets})
    return SetsFit(float(current), float(current), {n: (start[n], start[n]) for n in sets})  # pragma: no cover


def save_with_temperature(model: CRNN, temperature: float, out: str | os.PathLike[str], half: bool = False) -> None:
    """Write ``model`` with its confidence temperature set to ``temperature`` (the model keeps it too)."""
    model.config = dataclasses.replace(model.config, temperature=temperature)
    save_weights(model, out, half=half)


@dataclass(frozen=True)
class LabelSource:
    """A label file to calibrate on, read as ``pwocr evaluate`` reads one."""

    val_file: str
    imgs_folder: str | None = None
    allow_outside: bool = False


def labelled_samples(
    source: LabelSource, config: ModelConfig, whose: str
) -> tuple[list[tuple[np.ndarray, str]], list[SkippedRow]]:
    """The rows of ``source`` loaded as the model's lines with their labels, and the rows left out, each logged as it is.

    As ``pwocr evaluate``: each file once and inside the images folder (``screen_labels``), a label
    character outside the model's alphabet an error naming file and line (``check_labels``), an
    image that cannot be read skipped with its CSV line. Each image is kept as its model-height line
    (``LinePreprocessor``), not as the photo: a thousand phone photos would hold tens of gigabytes.
    """
    items, skipped = read_screened_labels(source.val_file, source.imgs_folder, source.allow_outside)
    check_labels(items, Alphabet(config.alphabet), whose)
    prepare = LinePreprocessor.for_model(config)
    samples = []
    for item in items:
        try:
            samples.append((prepare(load(item.path, config.colour)), item.label))
        except PwocrError as e:
            skipped.append(SkippedRow(item.where, str(e)))
            logger.warning("%s; skipped", skipped[-1])
    if not samples:
        raise PwocrError(f"{source.val_file}: no readable images to calibrate on (every row was skipped, listed above)")
    return samples, skipped


def calibrate_checkpoint(
    checkpoint: str | os.PathLike[str] | None,
    samples: Sequence[tuple[np.ndarray, str]],
    out: str | os.PathLike[str],
    source: str = "the lines given",
) -> tuple[float, Calibration, Calibration]:
    """Fit the temperature of ``checkpoint`` on labelled ``samples`` and save the model with it as ``out``.

    Returns the temperature and the greedy calibration on ``samples`` before and after. Too few
    lines, or no right or no wrong reading among them (``fit_refusal``), is a ``PwocrError`` naming ``source``.
    """
    if not samples:
        raise PwocrError(f"{source}: no readable lines to calibrate on")
    recognizer = Recognizer(checkpoint, backend="onnx")
    tables = recognizer.log_probabilities([g for g, _ in samples])
    labels, correct = greedy_correctness(tables, [truth for _, truth in samples], recognizer.alphabet)
    refusal = fit_refusal(correct)
    if refusal is not None:
        raise PwocrError(f"{source}: temperature not fitted: {refusal}")
    fit = refit_temperature(tables, labels, correct, recognizer.config.temperature)
    from pwocr.checkpoints import load_model

    save_with_temperature(load_model(checkpoint), fit.temperature, out, half=True)
    return fit.temperature, fit.before, fit.after
