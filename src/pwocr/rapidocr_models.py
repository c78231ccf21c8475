"""The PP-OCRv6 small models that the ``rapidocr`` wheel bundles (Apache-2.0), and where to find them.

pwocr uses three of rapidocr's files and none of its code: the recognizer starts ``crnn-svtr`` and
``crnn-lcnet`` and reads labels in scripts pwocr cannot spell; the text detector finds the lines
of a whole photo. Torch-free, so reading a photo never imports torch.
"""

from __future__ import annotations

from pathlib import Path

from pwocr.errors import PwocrError

#: The rapidocr release whose bundled models pwocr was written and verified against.
RAPIDOCR_VERSION = "3.10"
RECOGNIZER_FILE = "PP-OCRv6_rec_small.onnx"
DETECTOR_FILE = "PP-OCRv6_det_small.onnx"
LICENSE = "Apache-2.0 (PaddleOCR PP-OCRv6 small, bundled in rapidocr)"


def rapidocr_model_path(name: str) -> Path:
    """Where the installed ``rapidocr`` keeps the bundled model file ``name``; a one-line error if it does not."""
    try:
        import rapidocr
    except ImportError:
        raise PwocrError(
            f"pwocr uses the PP-OCRv6 models bundled in rapidocr: pip install 'rapidocr=={RAPIDOCR_VERSION}.*'"
        ) from None
    path = Path(rapidocr.__file__).parent / "models" / name
    if not path.is_file():
        raise PwocrError(f"{path}: not found in the installed rapidocr (expected version {RAPIDOCR_VERSION})")
    return path
