"""Fusing several frames of one password: every frame proposes candidates, every frame scores them all.

A single photo of a screen may blur one character, catch glare on another, or crop a third; the
next photo errs elsewhere. Each frame's probability table gives every string a CTC probability, so
the frames are fused exactly where they agree to be compared: on strings. The candidates each frame
proposes (its reading, its beam and look-alike swaps) are pooled and each is scored by the geometric
mean of its probabilities under all the frames (a product of experts, normalised per frame so that
the number stays a probability and one frame gives its own reading back). Frames need no pixel or
time alignment: a character's position in each table is found by each table's own alignment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.beam import Candidate
from pwocr.decoding.confidence import DEFAULT_FLAGS, CharConfidence, FlagPolicy, char_confidences, string_probabilities


def fuse_candidates(tables: Sequence[np.ndarray], proposals: Iterable[Candidate], top_k: int) -> list[Candidate]:
    """The ``top_k`` proposals with the highest geometric mean of their CTC probabilities over ``tables``.

    Args:
        tables: each frame's ``(T_i, C)`` probabilities (blank at 0); widths may differ.
        proposals: candidates from any frame (their ``labels`` are scored; repeated texts count once).
        top_k: how many to return, best first.
    """
    pool: dict[tuple[int, ...], str] = {}
    for candidate in proposals:
        pool.setdefault(tuple(candidate.labels), candidate.text)
    by_length: dict[int, list[tuple[int, ...]]] = {}
    for labels in pool:
        by_length.setdefault(len(labels), []).append(labels)
    fused: list[Candidate] = []
    for labellings in by_length.values():
        rows = np.asarray(labellings, dtype=np.int64).reshape(len(labellings), -1)
        with np.errstate(divide="ignore"):
            logs = np.mean([np.log(string_probabilities(table, rows)) for table in tables], axis=0)
        for labels, score in zip(labellings, logs):
            fused.append(Candidate(pool[labels], math.exp(score) if np.isfinite(score) else 0.0, labels))
    fused.sort(key=lambda c: c.confidence, reverse=True)
    return fused[:top_k]


def fuse_characters(
    tables: Sequence[np.ndarray],
    alphabet: Alphabet,
    labels: Sequence[int],
    allowed: Iterable[str] | None = None,
    policy: FlagPolicy = DEFAULT_FLAGS,
) -> list[CharConfidence]:
    """Each character of the fused reading as the frames see it: mean probabilities, flagged if most frames flag it."""
    allowed = list(allowed) if allowed is not None else None
    per_frame = [char_confidences(table, alphabet, labels, allowed=allowed, policy=policy) for table in tables]
    count = len(per_frame)
    out = []
    for position, char in enumerate(alphabet.decode(labels)):
        views = [frame[position] for frame in per_frame]
        rivals: dict[str, float] = {}
        named: dict[str, list[float]] = {}
        for view in views:
            for c, q in view.alternatives:
                rivals[c] = rivals.get(c, 0.0) + q / count
            for c, q in view.lookalikes:
                named.setdefault(c, []).append(q)
        out.append(
            CharConfidence(
                char,
                sum(view.confidence for view in views) / count,
                tuple(sorted(rivals.items(), key=lambda cq: -cq[1])[:3]),
                2 * sum(view.confusable for view in views) > count,
                tuple((c, sum(qs) / len(qs)) for c, qs in named.items() if 2 * len(qs) >= count),
            )
        )
    return out
