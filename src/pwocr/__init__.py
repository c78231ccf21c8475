"""pwocr: read random-string passwords out of photos with a CRNN.

from pwocr import Recognizer
reading = Recognizer().read("photo.jpg", candidates=5)
"""

from pwocr.alphabet import NAMED_CHARSETS, PRINTABLE_94, Alphabet, resolve_charset
from pwocr.decoding.beam import CONFUSABLE_GROUPS, Candidate, CharConfidence, Constraints
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.model.crnn import CRNN, MODEL_SIZES, ModelConfig

__version__ = "0.1.0"

__all__ = [
    "CONFUSABLE_GROUPS",
    "CRNN",
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
    "resolve_charset",
]
