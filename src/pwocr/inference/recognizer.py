"""``Recognizer``: the public entry point that turns images into password readings."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.checkpoints import resolve_checkpoint
from pwocr.data.images import ImageSource, describe, list_images, load, refuse_one_image
from pwocr.data.preprocess import LinePreprocessor
from pwocr.decoding.beam import Candidate
from pwocr.decoding.confidence import DEFAULT_FLAGS, CharConfidence, FlagPolicy
from pwocr.decoding.constraints import Constraints
from pwocr.decoding.formats import FormatPrior
from pwocr.decoding.policy import decode_table, fuse_tables
from pwocr.errors import PwocrError
from pwocr.inference.engine import Backend, OnnxEngine, open_engine
from pwocr.options import checked_candidates, checked_whole

_log = logging.getLogger(__name__)


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
                    "lookalikes": [{"char": a, "confidence": round(p, 6)} for a, p in c.lookalikes],
                }
                for c in self.chars
            ]
        return out


@dataclass(frozen=True)
class Skipped:
    """An input that gave no reading, and why (one line that names it)."""

    image: str
    reason: str


def equal_width_batches(widths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped by equal width (a line's padded width: its bucket), in batches of at most ``batch_size``, narrowest first."""
    groups: dict[int, list[int]] = {}
    for i, width in enumerate(widths):
        groups.setdefault(width, []).append(i)
    return [
        indices[k : k + batch_size] for _, indices in sorted(groups.items()) for k in range(0, len(indices), batch_size)
    ]


def tempered_probabilities(log_probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log_probs / temperature)`` over the last axis; the argmax is the same for any temperature."""
    if temperature == 1.0:
        return np.exp(log_probs)
    scaled = log_probs / temperature
    scaled -= scaled.max(-1, keepdims=True)
    probs = np.exp(scaled)
    return probs / probs.sum(-1, keepdims=True)


#: The most onnxruntime threads a reader asks for: more than any machine pwocr runs on has cores,
#: and a mistyped million would try to start that many.
MAX_THREADS = 256


class Recognizer:
    """Loads a checkpoint once and reads images: one (``read``), a list (``read_batch``) or a folder (``read_folder``).

    A ``Recognizer`` is three parts: the checkpoint's ``LinePreprocessor``, an engine that runs the
    model (onnxruntime by default; torch on request or on a GPU), and the decoder policy of ``decode``.

    Args:
        checkpoint: a ``.safetensors``, ``.pt`` or exported ``.onnx`` file; ``None`` or ``"default"`` is the shipped model.
        device: ``"cpu"`` or ``"cuda"`` (the torch backend only).
        batch_size: lines per forward pass (lines of one width bucket only).
        backend: ``"onnx"`` runs the exported graph on onnxruntime (the faster on a CPU, and no torch
            import); ``"torch"`` runs the module itself, and is used whenever ``device`` is not the CPU.
        threads: onnxruntime's intra-op threads (default: one per core).
        flags: when a character is flagged as unsure (``FlagPolicy``; the default is the one every command uses).
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        backend: Backend = "onnx",
        threads: int | None = None,
        flags: FlagPolicy = DEFAULT_FLAGS,
    ) -> None:
        checked_whole("batch_size", batch_size, 1)
        if threads is not None:
            checked_whole("threads", threads, 1, MAX_THREADS)
        self.checkpoint = resolve_checkpoint(checkpoint)
        self.engine = open_engine(self.checkpoint, backend, device, threads)
        self.backend = "onnx" if isinstance(self.engine, OnnxEngine) else "torch"
        self.config = self.engine.config
        self.alphabet = Alphabet(self.config.alphabet)
        self.preprocess = LinePreprocessor.for_model(self.config)
        self.batch_size = batch_size
        self.flags = flags
        # The formats a fine-tune learned (none in the shipped model): a prior of the decoder's.
        self.prior = FormatPrior.of(self.config)

    # ------------------------------------------------------------ model
    def log_probabilities(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The model's per-step log-probabilities ``(T_i, C)`` for each image (gray or RGB array), in input order.

        Each line is padded on its own to its width bucket (``LinePreprocessor.padded_width``) and
        batched only with lines of the same bucket, so a reading never depends on its batch-mates.
        """
        return self._log_probabilities_of_lines([self.preprocess(image) for image in images])

    def _log_probabilities_of_lines(self, lines: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``log_probabilities`` of lines already through ``self.preprocess``."""
        return self._run_lines(lines, features=False)[0]

    def _run_lines(
        self, lines: Sequence[np.ndarray], features: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """Each line's log-probabilities and, if asked for and the engine has them, its ``T x C`` features."""
        tables: list[np.ndarray] = [np.empty(0)] * len(lines)
        kept: list[np.ndarray] = [np.empty(0)] * len(lines)
        given = False
        buckets = [self.preprocess.padded_width(line.shape[1]) for line in lines]
        for chunk in equal_width_batches(buckets, self.batch_size):
            batch = self.preprocess.batch([lines[i] for i in chunk])
            log_probs, columns = self.engine.with_features(batch) if features else (self.engine(batch), None)
            given = columns is not None
            for j, i in enumerate(chunk):
                # The frames over the padding stay: the last character's peak often falls there.
                tables[i] = log_probs[:, j]
                if columns is not None:
                    kept[i] = columns[:, j]
        return tables, kept if given else None

    def load_line(self, source: ImageSource) -> np.ndarray:
        """One image loaded as the model reads it (colour or gray) and cut to its model-height line."""
        return self.preprocess(load(source, colour=self.preprocess.colour))

    def line_frames(self, shape: tuple[int, ...]) -> int:
        """How many leading frames of an ``H x W`` image's table cover the image (the rest, its padding)."""
        return int(self.config.output_length(self.preprocess.width_for(shape[0], shape[1])))

    def probabilities(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-step class probabilities at the model's calibrated temperature, in input order."""
        return self.line_probabilities([self.preprocess(image) for image in images])

    def line_probabilities(self, lines: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``probabilities`` of lines already through ``self.preprocess`` (keep lines, not photos, in memory)."""
        return [tempered_probabilities(t, self.config.temperature) for t in self._log_probabilities_of_lines(lines)]

    def probabilities_and_features(
        self, images: Sequence[np.ndarray]
    ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """``probabilities`` of each image, and each one's ``T x C`` features over its own frames (not its
        padding) where the model's features are PP-OCRv6's (``ModelConfig.ppocr_features``) and its
        engine gives them (a graph exported before them does not): ``None`` otherwise."""
        lines = [self.preprocess(image) for image in images]
        tables, features = self._run_lines(lines, features=bool(self.config.ppocr_features))
        probs = [tempered_probabilities(t, self.config.temperature) for t in tables]
        if features is None:
            return probs, None
        return probs, [f[: self.line_frames(image.shape)] for f, image in zip(features, images)]

    # ------------------------------------------------------------ decoding
    def decode(
        self,
        probs: np.ndarray,
        image: str = "",
        candidates: int = 1,
        constraints: Constraints | None = None,
        beam_width: int = 16,
        with_prior: bool = True,
    ) -> Reading:
        """Turn one probability table into a ``Reading``: the one decoder policy of every command
        (``pwocr.decoding.policy.decode_table``), with the model's format prior where it has one.

        ``with_prior=False`` reads the greedy path even so: a whole photo's lines, whose words and
        ink are aligned to it (the prior then weighs the picked value alone)."""
        prior = self.prior if with_prior else None
        decoded = decode_table(probs, self.alphabet, candidates, constraints, self.flags, prior, beam_width)
        best = decoded.best
        return Reading(image, best.text, decoded.raw, best.confidence, decoded.candidates, decoded.chars)

    # ------------------------------------------------------------ public API
    def read(self, image: ImageSource, candidates: int = 1, constraints: Constraints | None = None) -> Reading:
        """Read one cropped text line (path, bytes, PIL image or NumPy array).

        A whole photo (a sign, a screen, a sticker) read here is squeezed into one line and reads as
        nonsense: ``pwocr.read_image`` finds its lines and picks the password.
        """
        return self.read_batch([image], candidates, constraints)[0]

    def read_batch(
        self,
        images: Iterable[ImageSource],
        candidates: int = 1,
        constraints: Constraints | None = None,
        skip_errors: bool = False,
    ) -> list[Reading]:
        """Read many images; with ``skip_errors`` a bad one is logged (a warning naming it) and left out."""
        return list(self.read_stream(images, candidates, constraints, skip_errors))

    def read_stream(
        self,
        images: Iterable[ImageSource],
        candidates: int = 1,
        constraints: Constraints | None = None,
        skip_errors: bool = False,
        chunk: int = 256,
    ) -> Iterator[Reading]:
        """Read images lazily, ``chunk`` at a time, yielding readings in input order as they are made.

        Memory stays bounded by one chunk of decoded images, so a folder of thousands of phone
        photos can be read while results are written out. With ``skip_errors``, an image that
        cannot be loaded is logged as a warning (one line naming it and the problem) and left
        out; otherwise it raises ``PwocrError``.
        """
        for result in self.read_each(images, candidates, constraints, chunk):
            if isinstance(result, Skipped):
                if not skip_errors:
                    raise PwocrError(result.reason)
                _log.warning("%s; skipped", result.reason)
            else:
                yield result

    def read_each(
        self,
        images: Iterable[ImageSource],
        candidates: int = 1,
        constraints: Constraints | None = None,
        chunk: int = 256,
    ) -> Iterator[Reading | Skipped]:
        """Like ``read_stream``, but one result per input, in input order: a ``Reading`` or a ``Skipped``.

        For outputs that keep a row for every input (a CSV of a folder), and report why a file
        gave no reading where it stood.
        """
        refuse_one_image(images, "read_batch")
        self.check_request(candidates, constraints)
        results: list[Reading | Skipped | None] = []  # None: a line waiting for the model
        lines: list[np.ndarray] = []
        names: list[str] = []

        def flush() -> Iterator[Reading | Skipped]:
            readings = iter(self._read_lines(lines, names, candidates, constraints))
            for result in results:
                yield next(readings) if result is None else result

        for source in images:
            try:
                # Keep only the small model-height line, not the decoded photo.
                lines.append(self.load_line(source))
                names.append(describe(source))
                results.append(None)
            except PwocrError as e:
                results.append(Skipped(describe(source), str(e)))
            if len(lines) >= chunk:
                yield from flush()
                results, lines, names = [], [], []
        if results:
            yield from flush()

    def check_request(self, candidates: object, constraints: object) -> None:
        """Refuse options that would fail deep in the decoder or read nothing at all: a one-line
        ``PwocrError`` (a ``TypeError`` for constraints that are not ``Constraints``)."""
        checked_candidates(candidates)
        if constraints is not None and not isinstance(constraints, Constraints):
            raise TypeError(f"constraints must be a pwocr.Constraints, not {type(constraints).__name__}")
        if constraints is not None:
            constraints.check_alphabet(self.alphabet.chars, "constraints")

    def _read_lines(
        self, lines: list[np.ndarray], names: list[str], candidates: int, constraints: Constraints | None
    ) -> Iterator[Reading]:
        temperature = self.config.temperature
        for table, name in zip(self._log_probabilities_of_lines(lines), names):
            yield self.decode(tempered_probabilities(table, temperature), name, candidates, constraints)

    def read_fused(
        self,
        frames: Sequence[ImageSource],
        candidates: int = 1,
        constraints: Constraints | None = None,
        proposals: int = 8,
    ) -> Reading:
        """One reading from several images of the same password line (photos, or a video's frames).

        Each frame proposes its ``proposals`` best candidates (``decode``); every proposal is scored
        under every frame, and the best by the geometric mean of its probabilities is the reading
        (``pwocr.decoding.fusion``), weighed by the model's format prior where it has one.
        Characters carry the frames' mean probabilities; one is flagged when most frames flag it.
        A frame that cannot be read is logged and left out, as a bad file of a folder is.
        """
        refuse_one_image(frames, "read_fused")
        self.check_request(candidates, constraints)
        lines, read = [], []
        for frame in frames:
            try:
                lines.append(self.load_line(frame))
                read.append(frame)
            except PwocrError as e:
                _log.warning("%s; skipped", e)
        if not lines:
            raise PwocrError("no frames to fuse" if not frames else "no frame could be read")
        tables = self.line_probabilities(lines)
        name = describe(read[0]) + (f" (+{len(read) - 1} frames)" if len(read) > 1 else "")
        fused = fuse_tables(tables, self.alphabet, candidates, constraints, self.flags, self.prior, proposals)
        best = fused.best
        return Reading(name, best.text, fused.raw, best.confidence, fused.candidates, fused.chars)

    def read_folder(
        self,
        folder: str | os.PathLike[str],
        candidates: int = 1,
        constraints: Constraints | None = None,
    ) -> list[Reading]:
        """Read every image in a folder (sorted by name) as a cropped line (``read``); unreadable files
        are logged and skipped."""
        files = list_images(folder)
        if not files:
            raise PwocrError(f"{folder}: no images found")
        return self.read_batch(files, candidates, constraints, skip_errors=True)
