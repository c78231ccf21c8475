"""The reading options' choices and bounds, one definition for the CLI, the HTTP API and the page.

Plain Python, imported when the command line is parsed. The page's form (``serving/static/index.html``)
writes the same numbers as ``min``/``max``; a test keeps them equal.
"""

from numbers import Integral
from typing import Literal, get_args

from pwocr.errors import PwocrError

#: How an image is read: ``line``, one cropped line; ``photo``, find its text lines and pick the
#: password; ``auto``, decide by the image.
Layout = Literal["auto", "line", "photo"]
LAYOUTS: tuple[str, ...] = get_args(Layout)

#: The most candidates a reading lists (``--candidates``): more are rarely distinct strings worth
#: reading, and each one costs beam width.
MAX_CANDIDATES = 50

#: The longest password a length option may ask for; longer values are surely mistakes, and they
#: size the beam search.
MAX_LENGTH_OPTION = 256


def checked_candidates(value: object) -> int:
    """``value`` as a number of candidates, or a one-line ``PwocrError``: the Python API's callers pass
    anything, and a fraction, a string or a million would fail deep in the beam search or run for minutes."""
    return checked_whole("candidates", value, 1, MAX_CANDIDATES)


def checked_whole(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` from ``low`` (to ``high``): a Python or NumPy integer, not a bool, a float
    or a string; else a one-line ``PwocrError`` naming ``name``."""
    if isinstance(value, Integral) and not isinstance(value, bool) and low <= value and (high is None or value <= high):
        return int(value)
    bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
    raise PwocrError(f"{name} must be a whole number {bound}, got {value!r}")
