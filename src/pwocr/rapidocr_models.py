"""The PP-OCRv6 small models pwocr ships (Apache-2.0), as released in the ``rapidocr`` 3.10 wheel.

pwocr uses two of rapidocr's model files and none of its code: the text detector finds the lines
of a whole photo; the recognizer reads labels in scripts pwocr cannot spell and starts
``crnn-svtr`` and ``crnn-lcnet``. They ship in ``pwocr/weights/ppocrv6`` (with rapidocr's licence
and model notice) instead of coming with a ``rapidocr`` dependency: rapidocr brings 13 packages
and 55 MB for these 31 MB of files, and a later rapidocr may bundle other models under other
names. Torch-free, so reading a photo never imports torch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pwocr.errors import PwocrError

#: The rapidocr release whose bundled model files pwocr ships (checked by their SHA-256 in the tests).
RAPIDOCR_VERSION = "3.10"
RECOGNIZER_FILE = "PP-OCRv6_rec_small.onnx"
DETECTOR_FILE = "PP-OCRv6_det_small.onnx"
SHA256 = {
    DETECTOR_FILE: "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    RECOGNIZER_FILE: "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
}
LICENSE = "Apache-2.0 (PaddleOCR PP-OCRv6 small, as bundled in rapidocr 3.10; see weights/ppocrv6/)"


def rapidocr_model_path(name: str) -> Path:
    """Where pwocr keeps the PP-OCRv6 model file ``name``; a one-line error if this installation lacks it."""
    path = Path(str(resources.files("pwocr") / "weights" / "ppocrv6" / name))
    if not path.is_file():
        raise PwocrError(f"{path}: the PP-OCRv6 model is missing from this installation of pwocr")
    return path
