"""The reading options' choices and bounds, one definition for the CLI, the HTTP API and the page.

Plain Python, imported when the command line is parsed. The page's form (``serving/static/index.html``)
writes the same numbers as ``min``/``max``; a test keeps them equal.
"""

from typing import Literal, get_args

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
