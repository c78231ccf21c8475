"""pwocr: read random-string passwords out of photos with a CRNN.

from pwocr import Recognizer, read_image
recognizer = Recognizer()
reading = recognizer.read("line.png", candidates=5)      # a cropped line
photo = read_image(recognizer, "wifi-card.jpg")          # a whole photo: its lines, and the password picked
"""

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pwocr.alphabet import NAMED_CHARSETS, PRINTABLE_94, Alphabet, resolve_charset
from pwocr.decoding.beam import Candidate
from pwocr.decoding.confidence import CharConfidence
from pwocr.decoding.constraints import Constraints
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.lookalikes import LOOKALIKE_GROUPS
from pwocr.model.config import MODEL_SIZES, ModelConfig

# The library never prints: without a handler of the application's, Python's last-resort handler
# would write pwocr's warnings (a skipped file) to stderr.
logging.getLogger("pwocr").addHandler(logging.NullHandler())

try:
    __version__ = version("pwocr")  # one version source: pyproject.toml
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> Any:
    # The torch module only when asked for: importing pwocr to read images never loads torch.
    if name == "CRNN":
        from pwocr.extras import require

        require("train", "pwocr.CRNN")
        from pwocr.model.crnn import CRNN

        return CRNN
    if name in ("read_image", "read_images"):
        # Whole photos need the detector: loaded when first asked for, not by `import pwocr`.
        from pwocr import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'pwocr' has no attribute {name!r}")


__all__ = [
    "CRNN",
    "LOOKALIKE_GROUPS",
    "MODEL_SIZES",
    "NAMED_CHARSETS",
    "PRINTABLE_94",
    "Alphabet",
    "Candidate",
    "CharConfidence",
    "Constraints",
    "ModelConfig",
    "PwocrError",
    "Reading",
    "Recognizer",
    "read_image",
    "read_images",
    "resolve_charset",
]
