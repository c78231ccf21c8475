"""Reading labels pwocr's model cannot spell: ``密码``, ``パスワード``, ``Contraseña`` and the like.

pwocr's recognizer reads the 94 printable ASCII characters: what passwords are made of, but not
the labels beside them on a Chinese or Japanese Wi-Fi card. PP-OCRv6 small's recognizer, bundled
in ``rapidocr`` (Apache-2.0) and shipped with pwocr beside the detector, reads 18,000 characters (Chinese, Japanese
kana, accented Latin). It is run here on onnxruntime: for the shipped model, its CTC layer alone
over the features pwocr's model computed for the line anyway. The picker takes a label from it on lines
where pwocr found no label and was unsure of its reading; the value is still pwocr's reading.
Every line that is not a password is shown in its reading (``PhotoLine.words``): with spaces,
accents and the scripts pwocr cannot spell.
Hangul is not in its dictionary, so ``비밀번호`` is found only when printed with a Latin label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pwocr.errors import PwocrError
from pwocr.imaging import resize
from pwocr.inference.engine import onnx_session
from pwocr.rapidocr_models import HEAD_FILE, RECOGNIZER_FILE, rapidocr_model_path


@dataclass(frozen=True)
class LabelReading:
    """PP-OCRv6's text of a line and, for each character, where it starts across the line (0 to 1)."""

    text: str
    starts: tuple[float, ...]


class LabelReader:
    """PP-OCRv6 small's reading of a line, greedy CTC over its own dictionary: from the line's pixels
    (its whole recognizer) or from features pwocr's model already computed (its CTC layer alone).

    pwocr's ``crnn-svtr`` starts from PP-OCRv6's conv stack and mixer and ends in the same 120
    features a frame (``ModelConfig.ppocr_features``), so PP-OCRv6's CTC layer reads them: on the
    lines of 100 composed photos 85.6% exact against the whole recognizer's 83.0%, at 1.4 against
    12 ms a line (``bench/label_head.py``). Each graph is loaded when first needed.

    Args:
        model_path: PP-OCRv6's recognizer (default: the shipped one).
        head_path: its CTC layer alone (default: the shipped ``PP-OCRv6_rec_head.onnx``).
        threads: onnxruntime's intra-op threads.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        head_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else rapidocr_model_path(RECOGNIZER_FILE)
        self.head_path = Path(head_path) if head_path is not None else rapidocr_model_path(HEAD_FILE)
        self.threads = threads
        # Class 0 is CTC's blank; rapidocr appends a space after the dictionary.
        self.classes = ["", *_dictionary(self.head, self.head_path), " "]

    @cached_property
    def session(self) -> Any:
        """PP-OCRv6's whole recognizer, for a line pwocr's model gives no PP-OCRv6 features of."""
        session = onnx_session(self.model_path, self.threads, "a recognizer", spinning=False)
        if _dictionary(session, self.model_path) != self.classes[1:-1]:
            raise PwocrError(f"{self.model_path}: another dictionary than {self.head_path}'s")
        return session

    @cached_property
    def head(self) -> Any:
        """PP-OCRv6's CTC layer alone: ``features`` (T x 120) to ``logits`` (T x classes)."""
        return onnx_session(self.head_path, self.threads, "PP-OCRv6's CTC layer", spinning=False)

    def probabilities(self, gray: np.ndarray) -> np.ndarray:
        """PP-OCRv6's class probabilities for each frame of one straightened line (2-D uint8): ``T x classes``."""
        h, w = gray.shape
        width = int(min(max(16, round(48 * w / max(h, 1))), 48 * 40))
        line = resize(gray, width, 48, "area" if h > 48 else "linear")
        x = line.astype(np.float32) * (2.0 / 255.0) - 1.0
        x = np.ascontiguousarray(np.broadcast_to(x[None, None], (1, 3, 48, width)))
        return self.session.run(None, {self._input_name: x})[0][0]

    @cached_property
    def _input_name(self) -> str:
        return self.session.get_inputs()[0].name

    def __call__(self, gray: np.ndarray) -> LabelReading:
        """Read one straightened line (2-D uint8)."""
        return self.decode(self.probabilities(gray))

    def from_features(self, features: np.ndarray) -> LabelReading:
        """Read one line from pwocr's ``T x 120`` features over its own frames (``Recognizer.probabilities_and_features``)."""
        return self.decode(self.head.run(None, {"features": np.ascontiguousarray(features, np.float32)})[0])

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


def _dictionary(session: Any, path: Path) -> list[str]:
    """PP-OCRv6's characters, from a graph's metadata; a one-line error where it has none."""
    characters = session.get_modelmeta().custom_metadata_map.get("character", "").splitlines()
    if not characters:
        raise PwocrError(f"{path}: no character dictionary in its metadata (another PP-OCR model?)")
    return characters


@lru_cache(maxsize=1)
def default_label_reader() -> LabelReader | None:
    """The shipped PP-OCRv6 recognizer and its CTC layer, loaded once; ``None`` where this installation lacks them."""
    try:
        return LabelReader()
    except PwocrError:
        return None
