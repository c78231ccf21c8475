"""The glyphs that fonts draw alike: one table for flagging, candidates, display and training strings.

A password reader cannot lean on words to tell ``l`` from ``I``: it must see the difference, and
where a font draws none it must say so. Every part of pwocr that cares which characters look alike
reads this table: the decoder's flags and look-alike candidates (``pwocr.decoding``), the strings
training renders side by side (``pwocr.synth``) and the look-alike benchmark (``bench/lookalike.py``).
"""

from __future__ import annotations

from functools import lru_cache

#: Groups of characters that many fonts draw alike (a character may sit in several groups).
LOOKALIKE_GROUPS: dict[str, str] = {
    "vertical bars": "Il|1!ij",
    "round": "O0oQD",
    "quotes": "'`\"",
    "five": "5S$s",
    "two": "2Zz",
    "eight": "8B&",
    "six": "6bG",
    "nine": "9gq",
    "seven": "7/1",
    "brackets": "([{<",
    "closing brackets": ")]}>",
    "jay": "J]j;",
    "slashes": "/\\|",
    "dashes": "-_~=",
    "dots": ".,:;",
    "vee": "vVyYu",
    "cee": "cC(e",
    "you": "uUv",
    "double-u": "wW",
    "ex": "xX*",
    "zed": "zZ",
    "kay": "kK",
    "pee": "pP",
    "at": "@aQ",
    "en": "nhm",
    "ar": "rn",
    "hash": "#H",
    "plus": "+t",
    "caret": "^'",
}


@lru_cache(maxsize=256)
def lookalikes_of(char: str) -> frozenset[str]:
    """Characters that share a look-alike group with ``char`` (not ``char`` itself)."""
    return frozenset(c for group in LOOKALIKE_GROUPS.values() if char in group for c in group if c != char)


def disjoint_groups(alphabet: str) -> list[str]:
    """Disjoint look-alike groups of ``alphabet``'s characters, for what needs each character in one group
    (the look-alike refiner, ``pwocr.model.refiner``): each character in the first group of
    ``LOOKALIKE_GROUPS`` where it has a look-alike in ``alphabet`` not already placed."""
    taken: set[str] = set()
    groups: list[str] = []
    for members in LOOKALIKE_GROUPS.values():
        group = "".join(dict.fromkeys(c for c in members if c in alphabet and c not in taken))
        if len(group) > 1:
            taken.update(group)
            groups.append(group)
    return groups
