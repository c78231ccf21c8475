"""Confidences from the model's distribution: a string's CTC probability, and each character's with its rivals."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.ctc import character_spans, collapse
from pwocr.lookalikes import lookalikes_of


@dataclass(frozen=True)
class CharConfidence:
    """One character of a reading: its probability, its best rivals, whether it is flagged as unsure,
    and the look-alikes the model finds nearly as likely (``I or l`` where the font draws them alike)."""

    char: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    confusable: bool
    lookalikes: tuple[tuple[str, float], ...] = ()


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
    line neither underflows nor pays for a log-add-exp per state and step. (``string_probabilities``
    scores many labellings at once; one labelling goes this 1-D way, the reading's hot path.)
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


def string_probabilities(probs: np.ndarray, labellings: np.ndarray) -> np.ndarray:
    """The CTC probabilities of ``N`` labellings of one length (``N x L`` labels), in one forward pass.

    Run in probability space, rescaled at every step (the scales kept in logs), so that a long
    line neither underflows nor pays for a log-add-exp per state and step; all labellings advance
    together, so scoring twenty look-alike swaps costs about what scoring one does.
    """
    count, length = labellings.shape
    states = 2 * length + 1
    extended = np.zeros((count, states), dtype=np.int64)
    extended[:, 1::2] = labellings
    skip = np.zeros((count, states), dtype=np.float64)
    skip[:, 3::2] = extended[:, 3::2] != extended[:, 1:-2:2]
    emit = probs.astype(np.float64)[:, extended]  # T x N x states, gathered once
    alpha = np.zeros((count, states))
    alpha[:, : min(2, states)] = emit[0, :, : min(2, states)]
    log_scale = np.zeros(count)
    alive = np.ones(count, dtype=bool)
    for t in range(1, emit.shape[0]):
        total = alpha.sum(1)
        alive &= total > 0.0
        total = np.where(total > 0.0, total, 1.0)
        alpha /= total[:, None]
        log_scale += np.log(total)
        new = alpha.copy()
        new[:, 1:] += alpha[:, :-1]
        new[:, 2:] += alpha[:, :-2] * skip[:, 2:]
        new *= emit[t]
        alpha = new
    end = alpha[:, -1] + (alpha[:, -2] if states > 1 else 0.0)
    with np.errstate(divide="ignore"):
        out = np.exp(np.log(end) + log_scale)
    return np.where(alive & (end > 0.0), out, 0.0)


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


@dataclass(frozen=True)
class FlagPolicy:
    """When a character is flagged as unsure, and which look-alikes are named beside it.

    Chosen on renders in the training fonts (``bench/lookalike_policy.py``), never on the held-out
    benchmark families, so that its figures on those stay a test.

    Attributes:
        close_ratio: any rival at this share of the character's probability flags it.
        lookalike_ratio: the summed probability of the character's look-alikes (``pwocr.lookalikes``)
            at this share of its own flags it: a model that is sure of ``l`` but gives ``I`` a few
            percent has seen a glyph that fonts draw both ways.
        blank_ratio: a blank at this share of the character's probability at its own frame flags
            it: the character may not be there at all (a speck read as ``.``).
        missing_mass: where a frame between two characters (or before the first, after the last)
            gives this much probability to characters other than the two neighbours (and the blank),
            both neighbours are flagged: a thin ``'`` or ``|`` the reading dropped leaves such a trace.
        name_ratio: look-alikes at this share are named with it (``I or l``) in text and on the page.
    """

    close_ratio: float = 0.2
    lookalike_ratio: float = 0.02
    blank_ratio: float = 0.5
    missing_mass: float = 0.02
    name_ratio: float = 0.2


DEFAULT_FLAGS = FlagPolicy()
#: The rule before look-alike mass and dropped characters were weighed: a close rival, or one
#: look-alike at half that (kept to measure what the new rule buys: ``bench/lookalike.py --flags previous``).
PREVIOUS_FLAGS = FlagPolicy(lookalike_ratio=0.1, blank_ratio=math.inf, missing_mass=math.inf)


def char_confidences(
    probs: np.ndarray,
    alphabet: Alphabet,
    labels: Sequence[int],
    alternatives: int = 3,
    allowed: Iterable[str] | None = None,
    policy: FlagPolicy = DEFAULT_FLAGS,
) -> list[CharConfidence]:
    """Each character's probability at its emitting step, its best rivals there, its look-alikes and a flag.

    A character is flagged (``confusable``: "look at this one", whatever the reason) when ``policy``
    says so: a close rival of any kind, a share of mass on its look-alikes, a strong blank, or the
    trace of a character the reading dropped beside it. ``lookalikes`` names the look-alikes the
    model finds nearly as likely: where a font draws ``I`` and ``l`` alike, the reader says ``I or l``.
    Under constraints only ``allowed`` characters count as rivals, look-alikes or dropped characters.
    """
    allowed_set = set(allowed) if allowed is not None else None
    steps = align_labels(probs, labels)
    beside_a_gap = _beside_missing(probs, labels, steps, policy.missing_mass, _columns(alphabet.chars, allowed_set))
    out = []
    for position, (label, t) in enumerate(zip(labels, steps)):
        row = probs[t]
        char = alphabet.chars[label - 1]
        p = float(row[label])
        rivals = _rivals(row, alphabet, char, alternatives, allowed_set)
        similar = [(c, float(row[i])) for c, i in lookalike_columns(alphabet.chars, char)]
        if allowed_set is not None:
            similar = [(c, q) for c, q in similar if c in allowed_set]
        similar.sort(key=lambda cq: -cq[1])
        flagged = (
            any(q >= policy.close_ratio * p for _, q in rivals[:1])
            or sum(q for _, q in similar) >= policy.lookalike_ratio * p
            or float(row[0]) >= policy.blank_ratio * p
            or position in beside_a_gap
        )
        named = tuple((c, q) for c, q in similar if q >= policy.name_ratio * p)
        out.append(CharConfidence(char, p, tuple(rivals), bool(flagged), named))
    return out


@lru_cache(maxsize=1024)
def lookalike_columns(chars: str, char: str) -> tuple[tuple[str, int], ...]:
    """``char``'s look-alikes in the alphabet ``chars``, with their columns in a probability table."""
    return tuple((c, chars.index(c) + 1) for c in sorted(lookalikes_of(char)) if c in chars)


def _columns(chars: str, allowed: set[str] | None) -> np.ndarray | None:
    """The table columns of the allowed characters (``None``: every character)."""
    return None if allowed is None else np.array([i + 1 for i, c in enumerate(chars) if c in allowed], dtype=np.int64)


def _beside_missing(
    probs: np.ndarray, labels: Sequence[int], steps: Sequence[int], mass: float, allowed: np.ndarray | None
) -> set[int]:
    """Positions next to a gap where a frame gives ``mass`` to characters the reading does not have there.

    A gap is the frames strictly between two characters' emitting steps (or before the first, after
    the last); what its frames give to the characters on either side (counted once when they are the
    same character) and to the blank is the reading's, the rest is a trace of a dropped character.
    """
    if not len(labels):
        return set()
    frames = np.arange(probs.shape[0])
    gap = np.searchsorted(np.asarray(steps), frames, side="left")  # frames after step i-1, up to step i
    between = ~np.isin(frames, steps)
    frames, gap = frames[between], gap[between]
    if not len(frames):
        return set()
    labels_array = np.asarray(labels, dtype=np.int64)
    left = np.where(gap > 0, labels_array[np.maximum(gap - 1, 0)], 0)
    right = np.where(gap < len(labels), labels_array[np.minimum(gap, len(labels) - 1)], 0)
    rows = probs[frames]
    at = np.arange(len(frames))
    other = (1.0 - rows[:, 0]) if allowed is None else rows[:, allowed].sum(1)
    other = other - np.where(_counted(left, allowed), rows[at, left], 0.0)
    # Two equal neighbours (``xx``) are one character's mass, taken once.
    other = other - np.where(_counted(right, allowed) & (right != left), rows[at, right], 0.0)
    worst = np.full(len(labels) + 1, -np.inf)
    np.maximum.at(worst, gap, other)
    flagged: set[int] = set()
    for g in np.flatnonzero(worst >= mass).tolist():
        flagged.update(i for i in (g - 1, g) if 0 <= i < len(labels))
    return flagged


def _counted(labels: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Which of ``labels`` are characters (not the blank) that may be read."""
    real = labels > 0
    return real if allowed is None else real & np.isin(labels, allowed)


def _rivals(
    row: np.ndarray, alphabet: Alphabet, char: str, count: int, allowed: set[str] | None
) -> list[tuple[str, float]]:
    """The ``count`` most probable other characters at one step (allowed ones only, under constraints)."""
    non_blank = row[1:]
    rivals = []
    for i in np.argsort(-non_blank):
        c = alphabet.chars[i]
        if c == char or (allowed is not None and c not in allowed):
            continue
        rivals.append((c, float(non_blank[i])))
        if len(rivals) == count:
            break
    return rivals
