"""CTC prefix beam search with decoding constraints, and per-character confidences.

Constraints act inside the search, not as a filter afterwards: at each time step the probability
mass of forbidden characters is handed to the allowed ones (a character is there; it must be one
of these), and prefixes that break the length limits are never extended or returned. So a
``digits`` reading of a blurred ``O`` becomes ``0``, not a dropped character.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.ctc import BLANK
from pwocr.errors import PwocrError

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
class Constraints:
    """What a reading may be: allowed characters, and a length range (inclusive)."""

    allowed: str | None = None
    min_length: int = 0
    max_length: int | None = None

    @classmethod
    def exact_length(cls, length: int, allowed: str | None = None) -> Constraints:
        return cls(allowed, length, length)

    def admits(self, text: str) -> bool:
        if self.allowed is not None and any(c not in self.allowed for c in text):
            return False
        return len(text) >= self.min_length and (self.max_length is None or len(text) <= self.max_length)

    @property
    def active(self) -> bool:
        return self.allowed is not None or self.min_length > 0 or self.max_length is not None

    @classmethod
    def from_options(
        cls,
        allowed: str | None = None,
        length: int | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        alphabet: str | None = None,
    ) -> Constraints | None:
        """Constraints from user options (CLI flags, query parameters); ``None`` when they constrain nothing.

        ``length`` is exact and excludes the range options; ``alphabet``, when given, must share
        a character with ``allowed``. Contradictions raise a one-line ``PwocrError``.
        """
        if length is not None and (min_length is not None or max_length is not None):
            raise PwocrError("--length cannot be combined with --min_length or --max_length")
        if allowed is not None and alphabet is not None and not any(c in alphabet for c in allowed):
            raise PwocrError("--charset: none of its characters are in the model's alphabet")
        low = length if length is not None else (min_length or 0)
        high = length if length is not None else max_length
        if high is not None and high < low:
            raise PwocrError(f"--min_length {low} is above --max_length {high}")
        constraints = cls(allowed, low, high)
        return constraints if constraints.active else None


@dataclass(frozen=True)
class Candidate:
    text: str
    confidence: float
    labels: tuple[int, ...] = field(default=(), repr=False, compare=False)


def constrain_probs(probs: np.ndarray, alphabet: Alphabet, allowed: str | None) -> np.ndarray:
    """Move each step's probability of forbidden characters onto the allowed ones, in proportion.

    Blank keeps its probability; if no allowed character has any mass at a step, the forbidden
    mass is spread evenly over them.
    """
    if allowed is None:
        return probs
    keep = np.zeros(probs.shape[-1], dtype=bool)
    keep[BLANK] = True
    for c in allowed:
        if c in alphabet.chars:
            keep[alphabet.index(c)] = True
    if keep[1:].sum() == 0:
        out = np.zeros_like(probs)
        out[:, BLANK] = 1.0
        return out
    non_blank = 1.0 - probs[:, BLANK]
    allowed_mass = (probs * keep)[:, 1:].sum(-1)
    out = probs * keep
    uniform = keep[1:] / keep[1:].sum()
    scale = np.divide(non_blank, allowed_mass, out=np.zeros_like(non_blank), where=allowed_mass > 1e-12)
    out[:, 1:] = out[:, 1:] * scale[:, None]
    empty = allowed_mass <= 1e-12
    if empty.any():
        out[empty, 1:] = non_blank[empty, None] * uniform
    return out


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
    """The CTC probability of one labelling: the sum over all its paths (the forward algorithm, in logs)."""
    log = np.log(np.maximum(probs, 1e-30))
    extended, can_skip = _extended(labels)
    alpha = np.full(len(extended), -np.inf)
    alpha[0] = log[0, extended[0]]
    if len(extended) > 1:
        alpha[1] = log[0, extended[1]]
    for t in range(1, log.shape[0]):
        step = np.concatenate(([-np.inf], alpha[:-1]))
        skip = np.where(can_skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2]))[: len(alpha)], -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), skip) + log[t, extended]
    total = alpha[-1] if len(extended) == 1 else np.logaddexp(alpha[-1], alpha[-2])
    return float(np.exp(total))


def align_labels(probs: np.ndarray, labels: Sequence[int]) -> list[int]:
    """Viterbi forced alignment: for each label of the reading, the step where its best path emits it most surely."""
    if not labels:
        return []
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
