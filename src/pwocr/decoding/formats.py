"""The formats a fine-tuned model has learned to expect: a prior over the shape of its readings.

A user's own set often comes in a few formats: a country's licence plates (``AA000AA``,
``AAA0000``), a product's serial numbers. Where the font draws two characters alike (``O`` and
``0`` on many plates), where a character stands tells them apart. ``pwocr train`` learns the
shapes of the training labels and, where the validation set reads better with them, keeps them in
the model (``pwocr.training.formats``); the decoder then takes, among a line's candidates (its
beam and its look-alike swaps), the one with the highest ``log P(string) + weight * log P(shape)``,
and says how sure it is by that product, normalised (``posterior``): a plate the prior decides is
as sure as the prior makes it, where the model alone split it between ``O`` and ``0``.
A shape the labels never showed keeps a small share (``floor``), so a reading of a new format still
wins where the model is sure of it. The shipped model has no formats: a password is read as it looks.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from pwocr.decoding.beam import Candidate


class KeepsFormats(Protocol):
    """What keeps a prior: a ``ModelConfig`` (whose package this one does not import)."""

    formats: tuple[tuple[str, float], ...]
    format_floor: float
    format_weight: float


#: How a character stands in a shape: its class; any other character stands for itself.
UPPER, LOWER, DIGIT = "A", "a", "0"
#: A shape fewer labels than this came in is not kept: one label is not a format (and a shape
#: kept in a model says a little about its training labels).
MIN_COUNT = 2
#: How many candidates of a line the prior chooses among (beam and look-alike swaps).
POOL = 10


#: Unicode general categories that stand for a class (the page's ``\p{Lu}``, ``\p{Ll}``, ``\p{Nd}``:
#: not ``str.isupper`` and kin, which also count ``ª``, ``Ⅰ`` or ``²``).
_CLASSES = {"Lu": UPPER, "Ll": LOWER, "Nd": DIGIT}


def shape_of(text: str) -> str:
    """The shape of a string: each upper-case letter ``A``, lower-case ``a``, decimal digit ``0``; the rest as it is."""
    return "".join(_CLASSES.get(unicodedata.category(c), c) for c in text)


@dataclass(frozen=True)
class FormatPrior:
    """Shapes with their shares of the training labels, the share of any other shape, and the prior's weight."""

    shapes: tuple[tuple[str, float], ...]
    floor: float
    weight: float = 1.0

    @classmethod
    def learn(cls, labels: Iterable[str], weight: float = 1.0, min_count: int = MIN_COUNT) -> FormatPrior:
        """The shapes that ``min_count`` or more labels share, as shares of all labels; others get half a label's."""
        counts = Counter(shape_of(label) for label in labels)
        total = sum(counts.values())
        if not total:
            return cls((), 0.0, 0.0)
        kept = sorted(((shape, n / total) for shape, n in counts.items() if n >= min_count), key=lambda s: -s[1])
        return cls(tuple(kept), 0.5 / total, weight)

    @classmethod
    def of(cls, config: KeepsFormats) -> FormatPrior:
        """The prior a model keeps in its config (``NO_PRIOR`` where it keeps none)."""
        return cls(config.formats, config.format_floor, config.format_weight)

    def with_weight(self, weight: float) -> FormatPrior:
        return FormatPrior(self.shapes, self.floor, weight)

    @property
    def active(self) -> bool:
        return bool(self.shapes) and self.weight > 0 and self.floor > 0

    @cached_property
    def _log_shares(self) -> dict[str, float]:
        return {shape: math.log(share) for shape, share in self.shapes}

    def log_prior(self, text: str) -> float:
        """``log P(shape)`` of a reading: its shape's share of the training labels, or the floor."""
        return self._log_shares.get(shape_of(text), math.log(self.floor))

    def score(self, candidate: Candidate) -> float:
        """``log P(string) + weight * log P(shape)``: what the decoder ranks a line's candidates by."""
        return math.log(max(candidate.confidence, 1e-300)) + self.weight * self.log_prior(candidate.text)

    def rank(self, candidates: Iterable[Candidate]) -> list[Candidate]:
        """Distinct candidates by text, best score first (the model's probability breaks ties)."""
        distinct: dict[str, Candidate] = {}
        for candidate in candidates:
            kept = distinct.get(candidate.text)
            if kept is None or candidate.confidence > kept.confidence:
                distinct[candidate.text] = candidate
        return sorted(distinct.values(), key=lambda c: (self.score(c), c.confidence), reverse=True)

    def posterior(self, ranked: Sequence[Candidate]) -> list[Candidate]:
        """``ranked`` (distinct, from ``rank``) with each confidence its probability under the model and
        the prior: ``P(string) * P(shape) ** weight``, normalised over the candidates and the model's
        mass outside them (taken as of a shape never seen)."""
        weights = [math.exp(self.score(c)) for c in ranked]
        outside = max(0.0, 1.0 - sum(c.confidence for c in ranked)) * self.floor**self.weight
        total = sum(weights) + outside
        if total <= 0:
            return list(ranked)
        return [Candidate(c.text, w / total, c.labels) for c, w in zip(ranked, weights)]

    def as_config(self) -> dict[str, Any]:
        """The ``ModelConfig`` fields that keep this prior in a model (``dataclasses.replace(config, **...)``)."""
        return {"formats": self.shapes, "format_floor": self.floor, "format_weight": self.weight}


#: No prior: what the shipped model keeps, and what a fine-tune starts from.
NO_PRIOR = FormatPrior((), 0.0, 0.0)
