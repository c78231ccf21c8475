"""The end of a fine-tune: keep the formats of its labels as a decoding prior, where they help.

The shapes of the training labels (``pwocr.decoding.formats``) are tried at a few weights on the
validation readings of the kept weights; the prior is written into ``best.safetensors`` only when
it reads more of the user's validation set right and costs the synthetic guard set (random
passwords, which have no format) at most one point. Nothing about the labels is logged but counts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pwocr.alphabet import Alphabet
from pwocr.checkpoints import save_weights
from pwocr.decoding.beam import Candidate
from pwocr.decoding.formats import NO_PRIOR, FormatPrior
from pwocr.decoding.policy import candidate_pool
from pwocr.evaluation.calibration import expected_calibration_error
from pwocr.inference.recognizer import tempered_probabilities
from pwocr.model.crnn import CRNN
from pwocr.training.config import TrainConfig
from pwocr.training.validation import BestReadings

logger = logging.getLogger(__name__)

#: The prior's weights tried. 1 first: the model's probability times the shape's, Bayes' rule as
#: if the model's output were a likelihood; another is kept only where it reads strictly more.
WEIGHTS = (1.0, 0.5, 2.0)
#: Too few validation lines cannot show that a prior helps.
MIN_VAL_LINES = 10
#: The most of the guard set (a share of its lines) a kept prior may cost.
GUARD_COST = 0.01


def fit_format_prior(
    config: TrainConfig, out: Path, model: CRNN, readings: BestReadings, train_labels: Sequence[str]
) -> dict[str, Any] | None:
    """Choose the format prior of ``best.safetensors`` (``model``) on its validation readings, in place.

    Returns the summary's part: how many shapes, the share of the training labels they cover, the
    weight kept (0: none) and each set's exact readings without and with it; ``None`` when there
    was nothing to choose on. A model that keeps no prior is written without one; where one is
    kept, ``readings.predictions`` become the readings through it.
    """
    real = readings.tables.get("real")
    if not config.format_prior or not real or config.ignore_case or config.ignore_symbols:
        _keep(model, out, None)
        return None
    if len(real) < MIN_VAL_LINES:
        logger.info("format prior not tried: %d validation lines (it needs %d)", len(real), MIN_VAL_LINES)
        _keep(model, out, None)
        return None
    learned = FormatPrior.learn(train_labels)
    alphabet = Alphabet(model.config.alphabet)
    temperature = model.config.temperature
    # A line's pool does not depend on the weight: built once, ranked at each.
    pools = {
        name: [candidate_pool(tempered_probabilities(table, temperature), alphabet) for table in tables]
        for name, tables in readings.tables.items()
    }

    def right(prior: FormatPrior | None) -> dict[str, int]:
        return {
            name: sum(
                (prior.rank(pool)[0] if prior else pool[0]).text == truth
                for pool, truth in zip(pools[name], readings.truths[name])
            )
            for name in pools
        }

    without = right(None)
    tried = {weight: right(learned.with_weight(weight)) for weight in WEIGHTS} if learned.shapes else {}
    weight = _chosen_weight(without, tried, {name: len(t) for name, t in readings.tables.items()})
    _keep(model, out, learned.with_weight(weight) if weight else None)
    with_prior = tried[weight] if weight else without
    ece = {name: {"without": _ece(pools[name], readings.truths[name], None)} for name in pools}
    if weight:  # the run's report reads as the saved model now reads
        kept = learned.with_weight(weight)
        for name in pools:
            readings.predictions[name] = [kept.rank(pool)[0].text for pool in pools[name]]
            ece[name]["with"] = _ece(pools[name], readings.truths[name], kept)
    share = sum(s for _, s in learned.shapes)
    logger.info(
        "format prior %s: %d formats cover %.0f%% of your training labels; validation %d -> %d of %d right",
        f"kept (weight {weight:g})" if weight else "not kept",
        len(learned.shapes),
        100 * share,
        without["real"],
        with_prior["real"],
        len(real),
    )
    return {
        "shapes": len(learned.shapes),
        "labels_covered": round(share, 4),
        "weight": weight,
        "exact_readings": {
            name: {"without": without[name], "with": with_prior[name], "of": len(readings.tables[name])}
            for name in readings.tables
        },
        # Of the reading's confidence: the model's probability without, model and prior with.
        "ece": ece,
    }


def _ece(pools: list[list[Candidate]], truths: Sequence[str], prior: FormatPrior | None) -> float:
    """The ECE of the readings of ``pools`` (first: the reading without a prior) with their confidences."""
    best = [prior.posterior(prior.rank(pool))[0] if prior else pool[0] for pool in pools]
    return round(
        expected_calibration_error([b.confidence for b in best], [b.text == t for b, t in zip(best, truths)]), 4
    )


def _keep(model: CRNN, out: Path, prior: FormatPrior | None) -> None:
    """Write ``best.safetensors`` with ``prior`` (or none), where that changes its config."""
    config = dataclasses.replace(model.config, **(prior or NO_PRIOR).as_config())
    if config != model.config:
        model.config = config
        save_weights(model, out / "best.safetensors")


def _chosen_weight(without: dict[str, int], tried: dict[float, dict[str, int]], sizes: dict[str, int]) -> float:
    """The first weight tried that reads the most of the user's set right, if more than without a
    prior and within ``GUARD_COST`` on the guard set; 0 otherwise."""
    best, best_right = 0.0, without["real"]
    for weight, right in tried.items():
        guard_cost = without.get("synthetic", 0) - right.get("synthetic", 0)
        if right["real"] > best_right and guard_cost <= GUARD_COST * sizes.get("synthetic", 0):
            best, best_right = weight, right["real"]
    return best
