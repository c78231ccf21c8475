"""What a reading may be: allowed characters and a length range, and how they reshape a probability table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pwocr.alphabet import NAMED_CHARSETS, Alphabet
from pwocr.decoding.ctc import BLANK
from pwocr.errors import PwocrError
from pwocr.options import checked_whole


@dataclass(frozen=True)
class Constraints:
    """What a reading may be: allowed characters, and a length range (inclusive)."""

    allowed: str | None = None
    min_length: int = 0
    max_length: int | None = None

    def __post_init__(self) -> None:
        """Refuse, in one line, what would read nothing at all or nonsense, rather than return ``''``."""
        if self.allowed is not None and (not isinstance(self.allowed, str) or not self.allowed):
            raise PwocrError(f"allowed must be a non-empty string of characters, got {self.allowed!r}")
        if self.allowed in NAMED_CHARSETS:
            raise PwocrError(
                f"allowed={self.allowed!r} is a charset's name: pass resolve_charset({self.allowed!r}), its characters"
            )
        checked_whole("min_length", self.min_length, 0)
        if self.max_length is not None:
            checked_whole("max_length", self.max_length, 1)
        if self.max_length is not None and self.max_length < self.min_length:
            raise PwocrError(f"min_length {self.min_length} is above max_length {self.max_length}")

    @classmethod
    def exact_length(cls, length: int, allowed: str | None = None) -> Constraints:
        return cls(allowed, length, length)

    def admits(self, text: str) -> bool:
        if self.allowed is not None and any(c not in self.allowed for c in text):
            return False
        return len(text) >= self.min_length and (self.max_length is None or len(text) <= self.max_length)

    def check_alphabet(self, alphabet: str, option: str = "charset") -> None:
        """A one-line ``PwocrError`` naming ``option`` when no allowed character is in ``alphabet``: nothing could be read."""
        if self.allowed is not None and not any(c in alphabet for c in self.allowed):
            raise PwocrError(f"{option}: none of its characters are in the model's alphabet")

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
            raise PwocrError("length cannot be combined with min_length or max_length")
        low = length if length is not None else (min_length or 0)
        high = length if length is not None else max_length
        constraints = cls(allowed, low, high)  # contradicting lengths are refused as it is made
        if alphabet is not None:
            constraints.check_alphabet(alphabet)
        return constraints if constraints.active else None


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
