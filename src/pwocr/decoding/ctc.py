"""Greedy (best-path) CTC decoding: the fastest mode, and the raw per-step string the seed printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pwocr.alphabet import Alphabet

BLANK = 0
#: How the raw per-time-step output shows a blank, as the seed printed it (``----"--]--t---``).
BLANK_SYMBOL = "-"


def collapse(path: Sequence[int]) -> list[int]:
    """CTC's many-to-one map: merge repeated labels, then drop blanks."""
    out: list[int] = []
    previous = BLANK
    for label in path:
        if label != previous and label != BLANK:
            out.append(int(label))
        previous = label
    return out


def raw_string(path: Sequence[int], alphabet: Alphabet) -> str:
    """The best path before collapsing, with blanks shown as ``-``."""
    return "".join(BLANK_SYMBOL if i == BLANK else alphabet.chars[i - 1] for i in path)


@dataclass(frozen=True)
class GreedyResult:
    text: str
    raw: str
    confidence: float


def greedy_decode(log_probs: np.ndarray, alphabet: Alphabet) -> GreedyResult:
    """Decode one ``(T, C)`` log-probability table by taking the best class at each step.

    The confidence is the probability of the best path, a lower bound on the string's probability.
    """
    path = log_probs.argmax(-1)
    confidence = float(np.exp(log_probs[np.arange(len(path)), path].sum()))
    return GreedyResult(alphabet.decode(collapse(path.tolist())), raw_string(path.tolist(), alphabet), confidence)
