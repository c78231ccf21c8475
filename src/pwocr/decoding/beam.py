"""CTC prefix beam search for the K most probable readings, under decoding constraints.

Constraints act inside the search, not as a filter afterwards: at each time step the probability
mass of forbidden characters is handed to the allowed ones (a character is there; it must be one
of these), and prefixes that break the length limits are never extended or returned. So a
``digits`` reading of a blurred ``O`` becomes ``0``, not a dropped character.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.confidence import string_probability
from pwocr.decoding.constraints import Constraints, constrain_probs
from pwocr.decoding.ctc import BLANK


@dataclass(frozen=True)
class Candidate:
    text: str
    confidence: float
    labels: tuple[int, ...] = field(default=(), repr=False, compare=False)


def prefix_beam_search(
    probs: np.ndarray,
    alphabet: Alphabet,
    top_k: int = 5,
    beam_width: int = 16,
    prune: float = 1e-3,
    constraints: Constraints | None = None,
) -> list[Candidate]:
    """The ``top_k`` most probable distinct strings of one ``(T, C)`` probability table.

    Args:
        probs: per-step probabilities (not logs), blank at index 0.
        top_k: how many distinct strings to return, best first.
        beam_width: prefixes kept per step; with ``prune=0`` and a wide enough beam the search is exact.
        prune: characters below this probability at a step are not tried as extensions.
        constraints: allowed characters and length limits, applied during the search.

    Returns:
        Candidates whose confidences are their CTC probabilities under the model as it is (the sum
        over all their paths, by the forward algorithm on ``probs``): constraints steer the search,
        they do not inflate the probabilities.
    """
    constraints = constraints or Constraints()
    model_probs = np.asarray(probs, dtype=np.float64)
    probs = constrain_probs(model_probs, alphabet, constraints.allowed)
    max_length = constraints.max_length if constraints.max_length is not None else math.inf
    min_length = constraints.min_length
    steps = probs.shape[0]
    # prefix -> (probability ending in blank, probability ending in its last label)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
    for t in range(steps):
        row = probs[t]
        blank = row[BLANK]
        candidates = np.flatnonzero(row[1:] >= prune) + 1 if prune > 0 else np.arange(1, len(row))
        remaining = steps - t - 1
        following: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_b, p_nb) in beams.items():
            total = p_b + p_nb
            entry = following.setdefault(prefix, [0.0, 0.0])
            entry[0] += total * blank
            if prefix:
                last = prefix[-1]
                entry[1] += p_nb * row[last]  # the last label repeated, not a new character
            if len(prefix) >= max_length:
                continue
            for c in candidates:
                c = int(c)
                p = row[c]
                extended = (*prefix, c)
                # A label equal to the last one starts a new character only after a blank.
                gain = p_b * p if prefix and c == prefix[-1] else total * p
                # Too short to reach the minimum length in the steps left: not worth keeping.
                if len(extended) + remaining < min_length:
                    continue
                following.setdefault(extended, [0.0, 0.0])[1] += gain
        beams = _keep_best(following, beam_width, min_length > 0)
    # Every surviving prefix is scored by the model's own probability (constraints steer the search,
    # they do not inflate the probabilities), and the best top_k by that score are returned.
    finals = [
        Candidate(alphabet.decode(prefix), string_probability(model_probs, prefix), prefix)
        for prefix in beams
        if min_length <= len(prefix) <= max_length
    ]
    finals.sort(key=lambda c: c.confidence, reverse=True)
    return finals[:top_k]


def _keep_best(
    beams: dict[tuple[int, ...], list[float]], width: int, per_length: bool
) -> dict[tuple[int, ...], tuple[float, float]]:
    """The ``width`` most probable prefixes; with a minimum length, also the best two of each length,
    so that a longer reading survives while a shorter one leads."""
    ranked = sorted(beams.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)
    kept = dict(ranked[:width])
    if per_length:
        count: dict[int, int] = {}
        for prefix, value in ranked[width:]:
            n = count.get(len(prefix), sum(len(p) == len(prefix) for p in kept))
            if n < 2:
                kept[prefix] = value
                count[len(prefix)] = n + 1
    return {k: (v[0], v[1]) for k, v in kept.items()}
