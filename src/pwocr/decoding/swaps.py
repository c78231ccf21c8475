"""Candidates that swap look-alike characters: where the model may have read ``l`` for ``I``.

A beam search keeps what the model finds likely at each step; a look-alike the model all but ruled
out (``I`` at 0.1% beside ``l``) never enters it, yet in a font that draws them alike it is the
likeliest mistake. So the candidates also enumerate the reading with one or two of its characters
swapped for a look-alike (``pwocr.lookalikes``), proposed by the two characters' probabilities at
the character's step and ranked by the model's own string probability.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.beam import Candidate
from pwocr.decoding.confidence import align_labels, lookalike_columns, string_probabilities

#: A look-alike the model gives less than this share of the character's probability is not proposed.
FLOOR = 1e-6


def lookalike_swaps(
    probs: np.ndarray,
    alphabet: Alphabet,
    labels: Sequence[int],
    top_k: int,
    allowed: set[str] | None = None,
    proposals: int = 24,
) -> list[Candidate]:
    """The ``top_k`` most probable readings that differ from ``labels`` by one or two look-alikes.

    Args:
        probs: the line's ``(T, C)`` probabilities (blank at 0).
        labels: the reading to vary.
        allowed: characters a swap may bring in (under ``--charset``); ``None``: any.
        proposals: how many swaps are scored exactly, best estimated first.

    Returns:
        Candidates with their CTC probabilities, best first (the reading itself not among them).
    """
    if not labels or top_k < 1:
        return []
    options = _swap_options(probs, alphabet, labels, allowed)
    chosen = _best_combinations(options, proposals)
    if not chosen:
        return []
    rows = np.tile(np.asarray(labels, dtype=np.int64), (len(chosen), 1))
    for row, swaps in zip(rows, chosen):
        for position, label in swaps:
            row[position] = label
    scores = string_probabilities(probs, rows)
    # A swap that puts two equal characters side by side with no blank frame between them cannot be read: 0.
    found = [
        Candidate(alphabet.decode(row.tolist()), float(p), tuple(row.tolist()))
        for row, p in zip(rows, scores)
        if p > 0.0
    ]
    found.sort(key=lambda c: c.confidence, reverse=True)
    return found[:top_k]


def _swap_options(
    probs: np.ndarray, alphabet: Alphabet, labels: Sequence[int], allowed: set[str] | None
) -> list[list[tuple[float, int, int]]]:
    """Per position, its look-alike swaps as ``(log probability ratio, position, new label)``, best first."""
    options = []
    for position, (label, t) in enumerate(zip(labels, align_labels(probs, labels))):
        p = max(float(probs[t, label]), 1e-30)
        here = []
        for c, column in lookalike_columns(alphabet.chars, alphabet.chars[label - 1]):
            if allowed is not None and c not in allowed:
                continue
            ratio = float(probs[t, column]) / p
            if ratio >= FLOOR:
                here.append((math.log(ratio), position, column))
        options.append(sorted(here, reverse=True))
    return options


def _best_combinations(options: list[list[tuple[float, int, int]]], count: int) -> list[list[tuple[int, int]]]:
    """The ``count`` best single swaps and pairs of swaps at two positions, by summed log ratio."""
    singles = heapq.nlargest(count, (o for here in options for o in here))
    combos: list[tuple[float, list[tuple[int, int]]]] = [(score, [(pos, lab)]) for score, pos, lab in singles]
    for i, (score_a, pos_a, lab_a) in enumerate(singles):
        for score_b, pos_b, lab_b in singles[i + 1 :]:
            if pos_a != pos_b:
                combos.append((score_a + score_b, [(pos_a, lab_a), (pos_b, lab_b)]))
    combos.sort(key=lambda c: c[0], reverse=True)
    return [swaps for _, swaps in combos[:count]]
