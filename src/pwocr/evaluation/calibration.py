"""How far string confidences can be trusted: expected calibration error and flagging power."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
