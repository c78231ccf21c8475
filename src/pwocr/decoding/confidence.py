"""Confidences from the model's distribution: a string's CTC probability, and each character's with its rivals."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.ctc import character_spans, collapse

#: Glyphs that look alike in common fonts; a character of a group whose rival is close is flagged.
CONFUSABLE_GROUPS: dict[str, str] = {
    "vertical bars": "Il|1!i",
    "round": "O0oQD",
    "quotes": "'`\"",
    "five": "5S$s",
    "two": "2Zz",
    "eight": "8B&",
    "six": "6b",
    "nine": "9gq",
    "brackets": "([{",
    "closing brackets": ")]}",
    "slashes": "/\\|",
    "dashes": "-_~",
    "dots": ".,:;",
    "vee": "vVyY",
    "cee": "cC(",
    "ess": "sS",
    "you": "uU",
    "double-u": "wW",
    "ex": "xX",
    "zed": "zZ",
    "kay": "kK",
    "pee": "pP",
    "oh": "oO",
}


def confusable_with(char: str) -> set[str]:
    """Characters that share a confusable group with ``char``."""
    return {c for group in CONFUSABLE_GROUPS.values() if char in group for c in group if c != char}


@dataclass(frozen=True)
class CharConfidence:
    char: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    confusable: bool


def _extended(labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """CTC's blank-interleaved label sequence, and where a transition may skip the blank before a label."""
    extended = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    extended[1::2] = labels
    can_skip = np.zeros(len(extended), dtype=bool)
    can_skip[3::2] = extended[3::2] != extended[1:-2:2]
    return extended, can_skip


def string_probability(probs: np.ndarray, labels: Sequence[int]) -> float:
    """The CTC probability of one labelling: the sum over all its paths (the forward algorithm).

    Run in probability space, rescaled at every step (the scale kept in logs), so that a long
    line neither underflows nor pays for a log-add-exp per state and step.
    """
    extended, can_skip = _extended(labels)
    emit = probs[:, extended].astype(np.float64)  # T x states, gathered once
    skip = can_skip[2:].astype(np.float64)
    alpha = np.zeros(len(extended))
    alpha[: min(2, len(extended))] = emit[0, : min(2, len(extended))]
    log_scale = 0.0
    for t in range(1, emit.shape[0]):
        total = alpha.sum()
        if total <= 0.0:
            return 0.0
        alpha /= total
        log_scale += math.log(total)
        new = alpha.copy()
        new[1:] += alpha[:-1]
        new[2:] += alpha[:-2] * skip
        new *= emit[t]
        alpha = new
    end = alpha[-1] + (alpha[-2] if len(extended) > 1 else 0.0)
    return float(math.exp(math.log(end) + log_scale)) if end > 0.0 else 0.0


def align_labels(probs: np.ndarray, labels: Sequence[int]) -> list[int]:
    """Viterbi forced alignment: for each label of the reading, the step where its best path emits it most surely.

    When the reading is the greedy one (the frame-wise best path spells it), that path is also the
    best path of the reading, and the alignment is read off it directly; otherwise (a beam or
    constrained reading) the Viterbi pass finds it.
    """
    if not labels:
        return []
    greedy = probs.argmax(-1).tolist()
    if collapse(greedy) == list(labels):
        # Within a span every frame emits the label: its surest frame is the span's argmax.
        return [
            first + int(probs[first : last + 1, label].argmax())
            for (first, last), label in zip(character_spans(greedy), labels)
        ]
    return _viterbi_alignment(probs, labels)


def _viterbi_alignment(probs: np.ndarray, labels: Sequence[int]) -> list[int]:
    """``align_labels`` for any reading: the best path that spells ``labels``, by Viterbi."""
    log = np.log(np.maximum(probs, 1e-30))
    extended, can_skip = _extended(labels)
    states, steps = len(extended), log.shape[0]
    score = np.full(states, -np.inf)
    score[0] = log[0, extended[0]]
    score[1] = log[0, extended[1]]
    back = np.zeros((steps, states), dtype=np.int8)  # 0: stay, 1: from s-1, 2: from s-2
    for t in range(1, steps):
        stay = score
        step = np.concatenate(([-np.inf], score[:-1]))
        skip = np.where(can_skip, np.concatenate(([-np.inf, -np.inf], score[:-2])), -np.inf)
        options = np.stack([stay, step, skip])
        back[t] = options.argmax(0)
        score = options.max(0) + log[t, extended]
    s = states - 1 if score[-1] >= score[-2] else states - 2
    path = np.empty(steps, dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        path[t] = s
        s -= int(back[t, s])  # a Python int: an int8 step would overflow past 127 states
    best_step: dict[int, int] = {}
    for t, state in enumerate(path.tolist()):
        if state % 2 == 1:
            i = state // 2
            if i not in best_step or probs[t, labels[i]] > probs[best_step[i], labels[i]]:
                best_step[i] = t
    return [best_step.get(i, 0) for i in range(len(labels))]


def char_confidences(
    probs: np.ndarray,
    alphabet: Alphabet,
    labels: Sequence[int],
    alternatives: int = 3,
    close_ratio: float = 0.2,
    allowed: Iterable[str] | None = None,
) -> list[CharConfidence]:
    """Each character's probability at its emitting step, its best rivals there, and a confusable flag.

    A character is flagged when a rival reaches ``close_ratio`` of its probability, or half that for
    a rival from its confusable group: ``I`` against ``l`` at 85/10 is worth a second look.
    """
    allowed_set = set(allowed) if allowed is not None else None
    out = []
    for label, t in zip(labels, align_labels(probs, labels)):
        row = probs[t]
        char = alphabet.chars[label - 1]
        non_blank = row[1:]
        order = np.argsort(-non_blank)
        rivals = []
        for i in order:
            c = alphabet.chars[i]
            if c == char or (allowed_set is not None and c not in allowed_set):
                continue
            rivals.append((c, float(non_blank[i])))
            if len(rivals) == alternatives:
                break
        p = float(row[label])
        group = confusable_with(char)
        close = any(q >= close_ratio * p for _, q in rivals[:1]) or any(
            c in group and q >= 0.5 * close_ratio * p for c, q in rivals
        )
        out.append(CharConfidence(char, p, tuple(rivals), bool(close)))
    return out
