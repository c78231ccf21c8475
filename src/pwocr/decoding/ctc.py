"""Greedy (best-path) CTC decoding: the fastest mode, and the raw per-step string the seed printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pwocr.alphabet import Alphabet

BLANK = 0
#: How the raw per-time-step output shows a blank, as the seed printed it (``----"--]--t---``).
BLANK_SYMBOL = "-"


def character_spans(path: Sequence[int]) -> list[tuple[int, int]]:
    """The first and last frame of each character a CTC ``path`` spells (repeats merged, blanks split)."""
    spans: list[tuple[int, int]] = []
    previous = BLANK
    for t, label in enumerate(path):
        if label != BLANK and label == previous and spans:
            spans[-1] = (spans[-1][0], t)
        elif label != BLANK:
            spans.append((t, t))
        previous = label
    return spans


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
    labels: tuple[int, ...]


def greedy_decode(table: np.ndarray, alphabet: Alphabet) -> GreedyResult:
    """Decode one ``(T, C)`` table of probabilities or log-probabilities by the best class at each step."""
    path = table.argmax(-1).tolist()
    labels = tuple(collapse(path))
    return GreedyResult(alphabet.decode(labels), raw_string(path, alphabet), labels)
