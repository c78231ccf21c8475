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
    number = whole_number(value)
    if number is None or not 1 <= number <= MAX_CANDIDATES:
        raise PwocrError(f"candidates must be a whole number from 1 to {MAX_CANDIDATES}, got {value!r}")
    return number


def whole_number(value: object) -> int | None:
    """``value`` as an ``int`` where it is a whole number (a Python or NumPy integer), else ``None``
    (a bool, a float, a string)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        return None
    return int(value)
