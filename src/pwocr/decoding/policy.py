"""The one decoder policy: from a line's probability table (or several frames' tables) to its reading,
candidates and characters.

``Recognizer.decode`` and ``Recognizer.read_fused`` wrap it for every command; training calls it to
choose a format prior on the validation set; ``static/reader/decode.js`` (``decodeLabelled``,
``fuseReadings``) mirrors it in the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.beam import Candidate, prefix_beam_search
from pwocr.decoding.confidence import DEFAULT_FLAGS, CharConfidence, FlagPolicy, char_confidences, string_probability
from pwocr.decoding.constraints import Constraints
from pwocr.decoding.ctc import GreedyResult, greedy_decode
from pwocr.decoding.formats import POOL, FormatPrior
from pwocr.decoding.fusion import fuse_candidates, fuse_characters
from pwocr.decoding.swaps import lookalike_swaps
from pwocr.errors import PwocrError


@dataclass(frozen=True)
class Decoded:
    """A line's reading (``best``), its raw path, its candidates (``best`` first) and its characters."""

    best: Candidate
    raw: str
    candidates: tuple[Candidate, ...]
    chars: tuple[CharConfidence, ...]


def best_distinct(candidates: Iterable[Candidate], count: int, exclude: str) -> list[Candidate]:
    """The ``count`` most probable candidates with distinct texts, none equal to ``exclude``."""
    seen = {exclude}
    out = []
    for candidate in sorted(candidates, key=lambda c: c.confidence, reverse=True):
        if candidate.text not in seen:
            seen.add(candidate.text)
            out.append(candidate)
    return out[:count]


def decode_table(
    probs: np.ndarray,
    alphabet: Alphabet,
    candidates: int = 1,
    constraints: Constraints | None = None,
    flags: FlagPolicy = DEFAULT_FLAGS,
    prior: FormatPrior | None = None,
    beam_width: int = 16,
) -> Decoded:
    """Decode one ``(T, C)`` probability table.

    The reading is the greedy path without constraints, and the best string of the constrained
    beam search with them, however many candidates are asked for: top-k lists the next ones
    beside it, never instead of it. Every confidence is the string's CTC probability under the
    model (for a constrained search, still the model's probability, not one renormalised over the
    allowed characters). A model with a format prior reads the best of its ``candidate_pool`` by
    the prior's score, lists them in that order, and gives each its probability under the model
    and the prior (``FormatPrior.posterior``).
    """
    if candidates < 1:
        raise PwocrError(f"candidates {candidates} must be at least 1")
    greedy = greedy_decode(probs, alphabet)
    with_prior = prior is not None and prior.active
    searched = max(candidates, POOL) if with_prior else candidates
    found = _search(probs, alphabet, greedy, constraints, searched, beam_width)
    if not found:
        return Decoded(Candidate("", 0.0), greedy.raw, (), ())
    if with_prior:
        assert prior is not None
        ranked = prior.posterior(prior.rank(found))
        best, found = ranked[0], ranked[:candidates]
    else:
        best = found[0]
        found = [best, *best_distinct(found[1:], candidates - 1, exclude=best.text)]
    chars = char_confidences(probs, alphabet, best.labels, allowed=_allowed(constraints), policy=flags)
    return Decoded(best, greedy.raw, tuple(found), tuple(chars))


def candidate_pool(
    probs: np.ndarray, alphabet: Alphabet, constraints: Constraints | None = None, size: int = POOL
) -> list[Candidate]:
    """What a format prior chooses among: the reading as without a prior (first), the beam's ``size``
    best and up to ``size - 1`` look-alike swaps of the reading (texts may repeat); empty when the
    constraints admit nothing."""
    return _search(probs, alphabet, greedy_decode(probs, alphabet), constraints, size)


def _search(
    probs: np.ndarray,
    alphabet: Alphabet,
    greedy: GreedyResult,
    constraints: Constraints | None,
    size: int,
    beam_width: int = 16,
) -> list[Candidate]:
    """The reading (the greedy path, or the constrained beam's best), then for ``size`` above one the
    beam's ``size`` best and ``size - 1`` look-alike swaps of the reading; empty when the constraints
    admit nothing."""
    constrained = constraints is not None and constraints.active
    found: list[Candidate] = []
    if size > 1 or constrained:
        found = prefix_beam_search(
            probs, alphabet, top_k=size, beam_width=max(beam_width, size), constraints=constraints
        )
    if constrained:
        if not found:
            return []
        best = found[0]
    else:
        best = Candidate(greedy.text, string_probability(probs, greedy.labels), greedy.labels)
    swaps = lookalike_swaps(probs, alphabet, best.labels, size - 1, _allowed(constraints)) if size > 1 else []
    return [best, *found, *swaps]


def _allowed(constraints: Constraints | None) -> set[str] | None:
    """The characters a reading may have under ``constraints`` (``None``: any)."""
    return set(constraints.allowed) if constraints is not None and constraints.allowed is not None else None


def fuse_tables(
    tables: Sequence[np.ndarray],
    alphabet: Alphabet,
    candidates: int = 1,
    constraints: Constraints | None = None,
    flags: FlagPolicy = DEFAULT_FLAGS,
    prior: FormatPrior | None = None,
    proposals: int = 8,
) -> Decoded:
    """One reading from several frames' tables of the same line (``pwocr.decoding.fusion``).

    Each frame proposes its ``proposals`` best candidates (``decode_table``); every proposal is
    scored under every frame, and the best by the geometric mean of its probabilities (weighed by
    the format prior, where there is one) is the reading; its characters carry the frames' mean
    probabilities, flagged when most frames flag them.
    """
    if candidates < 1:
        raise PwocrError(f"candidates {candidates} must be at least 1")
    each = max(candidates, proposals)
    readings = [decode_table(t, alphabet, each, constraints, flags, prior) for t in tables]
    proposed = [c for r in readings for c in r.candidates]
    if prior is not None and prior.active:
        found = prior.posterior(prior.rank(fuse_candidates(tables, proposed, len(proposed))))[:candidates]
    else:
        found = fuse_candidates(tables, proposed, candidates)
    if not found:
        return Decoded(Candidate("", 0.0), readings[0].raw, (), ())
    chars = fuse_characters(tables, alphabet, found[0].labels, _allowed(constraints), flags)
    return Decoded(found[0], readings[0].raw, tuple(found), tuple(chars))
