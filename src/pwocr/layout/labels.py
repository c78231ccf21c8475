"""Reading labels pwocr's model cannot spell: ``密码``, ``パスワード``, ``Contraseña`` and the like.

pwocr's recognizer reads the 94 printable ASCII characters: what passwords are made of, but not
the labels beside them on a Chinese or Japanese Wi-Fi card. PP-OCRv6 small's recognizer, bundled
in ``rapidocr`` (Apache-2.0) and shipped with pwocr beside the detector, reads 18,000 characters (Chinese, Japanese
kana, accented Latin). It is run here on onnxruntime. The picker takes a label from it on lines
where pwocr found no label and was unsure of its reading; the value is still pwocr's reading.
Every line that is not a password is shown in its reading (``PhotoLine.words``): with spaces,
accents and the scripts pwocr cannot spell.
Hangul is not in its dictionary, so ``비밀번호`` is found only when printed with a Latin label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pwocr.errors import PwocrError
from pwocr.imaging import resize
from pwocr.inference.engine import onnx_session
from pwocr.rapidocr_models import RECOGNIZER_FILE, rapidocr_model_path


@dataclass(frozen=True)
class LabelReading:
    """PP-OCRv6's text of a line and, for each character, where it starts across the line (0 to 1)."""

    text: str
    starts: tuple[float, ...]


class LabelReader:
    """PP-OCRv6 small's recognizer on onnxruntime: greedy CTC over its own dictionary."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, threads: int | None = None) -> None:
        path = Path(model_path) if model_path is not None else rapidocr_model_path(RECOGNIZER_FILE)
        self.session = onnx_session(path, threads, "a recognizer", spinning=False)
        characters = self.session.get_modelmeta().custom_metadata_map.get("character", "").splitlines()
        if not characters:
            raise PwocrError(f"{path}: no character dictionary in its metadata (another PP-OCR model?)")
        # Class 0 is CTC's blank; rapidocr appends a space after the dictionary.
        self.classes = ["", *characters, " "]
        self.input_name = self.session.get_inputs()[0].name

    def probabilities(self, gray: np.ndarray) -> np.ndarray:
        """PP-OCRv6's class probabilities for each frame of one straightened line (2-D uint8): ``T x classes``."""
        h, w = gray.shape
        width = int(min(max(16, round(48 * w / max(h, 1))), 48 * 40))
        line = resize(gray, width, 48, "area" if h > 48 else "linear")
        x = line.astype(np.float32) * (2.0 / 255.0) - 1.0
        x = np.ascontiguousarray(np.broadcast_to(x[None, None], (1, 3, 48, width)))
        return self.session.run(None, {self.input_name: x})[0][0]

    def __call__(self, gray: np.ndarray) -> LabelReading:
        """Read one straightened line (2-D uint8)."""
        return self.decode(self.probabilities(gray))

    def decode(self, scores: np.ndarray) -> LabelReading:
        """Greedy CTC over PP-OCRv6's dictionary of ``T x classes`` scores (probabilities or logits) of one line."""
        path = scores.argmax(-1)
        text, starts, previous = [], [], 0
        frames = len(path)
        for t, label in enumerate(path):
            if label != 0 and label != previous and label < len(self.classes):
                text.append(self.classes[label])
                starts.append(t / frames)
            previous = label
        return LabelReading("".join(text), tuple(starts))


@lru_cache(maxsize=1)
def default_label_reader() -> LabelReader | None:
    """The shipped PP-OCRv6 recognizer, loaded once; ``None`` where this installation lacks it."""
    try:
        return LabelReader()
    except PwocrError:
        return None
