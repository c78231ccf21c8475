"""Alphabets: the ordered character sets a model reads, and named character sets."""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from pwocr.errors import PwocrError

#: The 94 printable ASCII characters ``!`` to ``~`` in code-point order, as the seed used.
PRINTABLE_94 = "".join(chr(c) for c in range(33, 127))

#: Named character sets, usable wherever a charset is expected (``--charset digits``).
NAMED_CHARSETS: dict[str, str] = {
    "printable": PRINTABLE_94,
    "digits": string.digits,
    "hex": string.digits + "abcdefABCDEF",
    "hex-lower": string.digits + "abcdef",
    "hex-upper": string.digits + "ABCDEF",
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "letters": string.ascii_letters,
    "alnum": string.digits + string.ascii_letters,
    "alnum-lower": string.digits + string.ascii_lowercase,
    "alnum-upper": string.digits + string.ascii_uppercase,
    "punctuation": string.punctuation,
}


#: The prefix that marks a literal character set: ``literal:abc`` is the three characters a, b, c.
LITERAL_PREFIX = "literal:"


def resolve_charset(spec: str) -> str:
    """Turn a charset name (``digits``), ``+``-joined names, or a literal set into characters.

    A literal set is written ``literal:...``; a spec with characters other than letters, ``-``
    and ``+`` (``0123456789abcdef``, the seed's alphabets) is read as literal too. A spec made of
    letters only that is not a name (``digit``, ``Digits``) is an error listing the names, never
    silently a set of its letters. Returns the characters in first-seen order, without duplicates.
    """
    if spec.startswith(LITERAL_PREFIX):
        chars = spec[len(LITERAL_PREFIX) :]
    elif all(part in NAMED_CHARSETS for part in spec.split("+")):
        chars = "".join(NAMED_CHARSETS[part] for part in spec.split("+"))
    elif spec and all(c.isascii() and (c.isalpha() or c in "+-") for c in spec):
        unknown = [part for part in spec.split("+") if part not in NAMED_CHARSETS]
        raise PwocrError(
            f"unknown charset name {unknown[0]!r}; names: {', '.join(NAMED_CHARSETS)} (joined with +), "
            f"or {LITERAL_PREFIX}<characters> for a literal set"
        )
    else:
        chars = spec
    if not chars:
        raise PwocrError("empty character set")
    return "".join(dict.fromkeys(chars))


@dataclass(frozen=True)
class Alphabet:
    """An ordered set of characters; index 0 of the model output is the CTC blank, so ``chars[i]`` is class ``i + 1``."""

    chars: str

    def __post_init__(self) -> None:
        if not self.chars:
            raise PwocrError("the alphabet is empty")
        if len(set(self.chars)) != len(self.chars):
            repeated = next(c for i, c in enumerate(self.chars) if c in self.chars[:i])
            raise PwocrError(f"the alphabet repeats {repeated!r}")

    @classmethod
    def default(cls) -> Alphabet:
        return cls(PRINTABLE_94)

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> Alphabet:
        """The alphabet of a set of labels, in code-point order (the seed derived it from the training file)."""
        return cls("".join(sorted(set("".join(labels)))))

    @property
    def num_classes(self) -> int:
        """Characters plus the CTC blank."""
        return len(self.chars) + 1

    def index(self, char: str) -> int:
        return self._lookup[char]

    @cached_property
    def _lookup(self) -> dict[str, int]:
        return {c: i + 1 for i, c in enumerate(self.chars)}

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` that are not in this alphabet, in order, without duplicates."""
        lookup = self._lookup
        return list(dict.fromkeys(c for c in text if c not in lookup))

    def encode(self, text: str, source: str = "label") -> list[int]:
        """Class indices of ``text``; raises naming ``source``, the character and its place (not ``text``) if one is not in the alphabet."""
        missing = self.missing(text)
        if missing:
            # Where the character is, never the text itself: a label is a password.
            at = f"(character {text.index(missing[0]) + 1} of {len(text)})"
            raise PwocrError(f"{source}: label has character {missing[0]!r} {at} that is not in the alphabet")
        lookup = self._lookup
        return [lookup[c] for c in text]

    def decode(self, indices: Sequence[int]) -> str:
        """Characters of class indices (blanks, index 0, are skipped)."""
        return "".join(self.chars[i - 1] for i in indices if i > 0)
