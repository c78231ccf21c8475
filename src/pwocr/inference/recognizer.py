"""``Recognizer``: the public entry point that turns images into password readings."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from pwocr.alphabet import Alphabet
from pwocr.checkpoints import load_model, resolve_checkpoint
from pwocr.data.images import ImageSource, describe, list_images, load_gray, pad_batch, resize_to_height, to_tensor
from pwocr.decoding.beam import (
    Candidate,
    CharConfidence,
    Constraints,
    char_confidences,
    prefix_beam_search,
    string_probability,
)
from pwocr.decoding.ctc import greedy_decode
from pwocr.errors import PwocrError
from pwocr.model.crnn import output_length

Backend = Literal["torch", "onnx"]


@dataclass(frozen=True)
class Reading:
    """What the model read in one image.

    ``confidence`` is the probability of ``text`` given the image; ``candidates`` are the best
    distinct strings (``text`` first); ``chars`` gives each character of ``text`` with its
    probability, its closest rivals and whether it is confusable.
    """

    image: str
    text: str
    raw: str
    confidence: float
    candidates: tuple[Candidate, ...]
    chars: tuple[CharConfidence, ...]

    @property
    def uncertain(self) -> list[int]:
        """Positions of characters flagged as confusable."""
        return [i for i, c in enumerate(self.chars) if c.confusable]

    def as_dict(self, detail: bool = True) -> dict[str, Any]:
        """The JSON form: ``image, text, raw, confidence`` and, with ``detail``, ``candidates`` and ``chars``."""
        out: dict[str, Any] = {
            "image": self.image,
            "text": self.text,
            "raw": self.raw,
            "confidence": round(self.confidence, 6),
        }
        if detail:
            out["candidates"] = [{"text": c.text, "confidence": round(c.confidence, 6)} for c in self.candidates]
            out["chars"] = [
                {
                    "char": c.char,
                    "confidence": round(c.confidence, 6),
                    "alternatives": [{"char": a, "confidence": round(p, 6)} for a, p in c.alternatives],
                    "confusable": c.confusable,
                }
                for c in self.chars
            ]
        return out


def tempered_probabilities(log_probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log_probs / temperature)`` over the last axis; the argmax is the same for any temperature."""
    if temperature == 1.0:
        return np.exp(log_probs)
    scaled = log_probs / temperature
    scaled -= scaled.max(-1, keepdims=True)
    probs = np.exp(scaled)
    return probs / probs.sum(-1, keepdims=True)


class Recognizer:
    """Loads a checkpoint once and reads images: one (``read``), a list (``read_batch``) or a folder (``read_folder``).

    Args:
        checkpoint: a ``.safetensors`` or ``.pt`` file; ``None`` or ``"default"`` is the shipped model.
        device: ``"cpu"`` or ``"cuda"`` (the torch backend only).
        batch_size: lines per forward pass; lines are grouped by width so padding stays small.
        backend: ``"onnx"`` runs the exported graph on onnxruntime (the faster on a CPU); ``"torch"``
            runs the module itself, and is used whenever ``device`` is not the CPU.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        backend: Backend = "onnx",
    ) -> None:
        self.checkpoint = resolve_checkpoint(checkpoint)
        self.model = load_model(self.checkpoint)
        self.config = self.model.config
        self.alphabet = Alphabet(self.config.alphabet)
        self.batch_size = max(1, batch_size)
        self.device = torch.device(device)
        self.model.to(self.device)
        if backend not in ("torch", "onnx"):
            raise PwocrError(f"unknown backend {backend!r}; choose torch or onnx")
        self.backend = backend if self.device.type == "cpu" else "torch"
        self._session: Any = None
        if self.backend == "onnx":
            from pwocr.inference.onnx import onnx_session

            self._session = onnx_session(self.model)

    # ------------------------------------------------------------ model
    def _line(self, gray: np.ndarray) -> torch.Tensor:
        c = self.config
        return to_tensor(resize_to_height(gray, c.height, c.min_width, c.max_width))

    def log_probabilities(self, grays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The model's per-step log-probabilities ``(T_i, C)`` for each grayscale image, in input order."""
        lines = [self._line(g) for g in grays]
        order = sorted(range(len(lines)), key=lambda i: lines[i].shape[-1])
        out: list[np.ndarray] = [np.empty(0)] * len(lines)
        for chunk in self._width_buckets(order, [lines[i].shape[-1] for i in order]):
            images, widths = pad_batch([lines[i] for i in chunk])
            if self._session is not None:
                log_probs = self._session.run(None, {"images": images.numpy()})[0]
            else:
                with torch.inference_mode():
                    log_probs = self.model(images.to(self.device)).float().cpu().numpy()
            for j, i in enumerate(chunk):
                out[i] = log_probs[: int(output_length(int(widths[j]))), j]
        return out

    def probabilities(self, grays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-step class probabilities at the model's calibrated temperature, in input order."""
        return [tempered_probabilities(t, self.config.temperature) for t in self.log_probabilities(grays)]

    def _width_buckets(self, order: list[int], widths: list[int]) -> list[list[int]]:
        """Cut width-sorted lines into batches whose widest line is at most 25% wider than the narrowest.

        The BiLSTM sees a batch's padding, so a line read among much wider ones could read differently
        than alone; with little padding, as in training, batched and single readings agree.
        """
        buckets: list[list[int]] = []
        narrowest = 0
        for i, width in zip(order, widths):
            if buckets and len(buckets[-1]) < self.batch_size and width <= 1.25 * narrowest:
                buckets[-1].append(i)
            else:
                buckets.append([i])
                narrowest = width
        return buckets

    # ------------------------------------------------------------ decoding
    def decode(
        self,
        probs: np.ndarray,
        image: str = "",
        candidates: int = 1,
        constraints: Constraints | None = None,
        beam_width: int = 16,
    ) -> Reading:
        """Turn one probability table into a ``Reading``: greedy for one unconstrained candidate, else beam search."""
        greedy = greedy_decode(probs, self.alphabet)
        raw = greedy.raw
        constrained = constraints is not None and constraints.active
        if candidates <= 1 and not constrained:
            best = Candidate(greedy.text, string_probability(probs, greedy.labels), greedy.labels)
            found = [best]
        else:
            found = prefix_beam_search(
                probs,
                self.alphabet,
                top_k=max(1, candidates),
                beam_width=max(beam_width, candidates),
                constraints=constraints,
            )
            if not found:
                return Reading(image, "", raw, 0.0, (), ())
            best = found[0]
        chars = char_confidences(
            probs, self.alphabet, best.labels, allowed=constraints.allowed if constraints else None
        )
        return Reading(image, best.text, raw, best.confidence, tuple(found), tuple(chars))

    # ------------------------------------------------------------ public API
    def read(self, image: ImageSource, candidates: int = 1, constraints: Constraints | None = None) -> Reading:
        """Read one image (path, bytes, PIL image or NumPy array)."""
        return self.read_batch([image], candidates, constraints)[0]

    def read_batch(
        self,
        images: Iterable[ImageSource],
        candidates: int = 1,
        constraints: Constraints | None = None,
        skip_errors: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> list[Reading]:
        """Read many images in batches.

        With ``skip_errors``, an image that cannot be loaded is reported through ``warn`` (one line
        naming it and the problem) and left out; otherwise it raises ``PwocrError``.
        """
        warn = warn or (lambda message: print(message, file=sys.stderr))
        grays, names = [], []
        for source in images:
            try:
                grays.append(load_gray(source))
                names.append(describe(source))
            except PwocrError as e:
                if not skip_errors:
                    raise
                warn(f"{e}; skipped")
        tables = self.probabilities(grays)
        return [self.decode(t, name, candidates, constraints) for t, name in zip(tables, names)]

    def read_folder(
        self,
        folder: str | os.PathLike[str],
        candidates: int = 1,
        constraints: Constraints | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> list[Reading]:
        """Read every image in a folder (sorted by name); unreadable files are reported and skipped."""
        files = list_images(folder)
        if not files:
            raise PwocrError(f"{folder}: no images found")
        return self.read_batch(files, candidates, constraints, skip_errors=True, warn=warn)
