"""Inference engines: the model's ONNX graph on onnxruntime (the default; no torch), or the torch module.

An ONNX file written by ``export_onnx`` carries the ``ModelConfig`` (alphabet, preprocessing,
temperature) in its metadata, so it runs alone. A ``.safetensors`` checkpoint is exported once and
cached by the hash of its bytes (the shipped model's graph ships beside it), so reading never pays
for an export or for importing torch after the first time.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from pwocr.checkpoints import (
    CONFIG_KEY,
    SOURCE_KEY,
    config_from_json,
    load_model,
    refuse_special_file,
    require_weights,
)
from pwocr.errors import PwocrError
from pwocr.extras import require
from pwocr.io import file_sha256
from pwocr.model.config import ModelConfig

#: What ``export_onnx`` writes, in the names of the graphs cached from it: version 2 added the
#: ``features`` output, so a graph cached before it is exported again rather than read without it.
EXPORT_VERSION = 2


#: What runs a model: onnxruntime (the default; no torch needed) or torch (training's, or a GPU).
Backend = Literal["torch", "onnx"]


class Engine(Protocol):
    config: ModelConfig

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """``N x C x H x W`` float32 lines to ``T x N x C`` log-probabilities."""
        ...

    def with_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The log-probabilities and the ``T x N x C`` features the sequence model reads (``None``: a
        graph exported without them)."""
        ...


def cache_dir() -> Path:
    """Where exported graphs are cached: ``$PWOCR_CACHE_DIR``, else ``$XDG_CACHE_HOME/pwocr``, else ``~/.cache/pwocr``."""
    if os.environ.get("PWOCR_CACHE_DIR"):
        return Path(os.environ["PWOCR_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pwocr"


def onnx_session(
    path: str | os.PathLike[str],
    threads: int | None = None,
    what: str = "an ONNX model",
    arena: bool = True,
    spinning: bool = True,
) -> Any:
    """A quiet onnxruntime CPU session over ``path``, ``threads`` intra-op threads at most; one line if it cannot load.

    The one way pwocr opens a graph: its own exported model, and PP-OCR's detector, recognizer and
    text-angle classifier. ``arena=False`` allocates each run's tensors from the system and frees
    them after it: for a graph whose inputs vary a lot in size, onnxruntime's arena would keep the
    largest run's memory for good. ``spinning=False`` lets the session's worker threads sleep as
    soon as a run ends: where several sessions take turns (a whole photo's detector, classifier,
    recognizer and label reader), a session's threads spinning after its run take the cores from
    the next one (40 composed photos on two cores: 0.50 against 0.43 s a photo), while a
    recognizer reading line after line alone is faster spinning (``bench/throughput.py``: 13.6
    against 15.4 ms a password line).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = arena
    if threads:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise PwocrError(f"{path}: not {what} onnxruntime can load ({type(e).__name__})") from None


class OnnxEngine:
    """An onnxruntime CPU session over a pwocr ONNX file; ``threads`` caps its intra-op threads."""

    def __init__(self, path: str | os.PathLike[str], threads: int | None = None) -> None:
        refuse_special_file(path)  # onnxruntime would wait on a named pipe for a writer
        self.session = onnx_session(path, threads)
        metadata = self.session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in metadata:
            raise PwocrError(f"{path}: an ONNX file without pwocr metadata (export it with `pwocr export`)")
        self.config = config_from_json(metadata[CONFIG_KEY], str(path))
        _check_classes(self.session, self.config, path)
        self.source_sha256 = metadata.get(SOURCE_KEY)
        self.metadata = dict(metadata)
        self.path = Path(path)
        self.has_features = "features" in {output.name for output in self.session.get_outputs()}

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.session.run(["log_probs"], {"images": images})[0]

    def with_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if not self.has_features:
            return self(images), None
        log_probs, features = self.session.run(["log_probs", "features"], {"images": images})
        return log_probs, features


def _check_classes(session: Any, config: ModelConfig, path: str | os.PathLike[str]) -> None:
    """Refuse a graph whose output has another number of classes than its metadata's alphabet plus the blank.

    Decoding indexes the alphabet with the output's classes: a mismatch would fail at the first
    reading (an ``IndexError``), or worse, read the wrong characters.
    """
    outputs = session.get_outputs()
    classes = outputs[0].shape[-1] if outputs and outputs[0].shape else None
    if isinstance(classes, int) and classes != config.num_classes:
        raise PwocrError(
            f"{path}: its graph outputs {classes} classes, but the alphabet in its metadata has "
            f"{len(config.alphabet)} characters ({config.num_classes} classes with the blank)"
        )


class TorchEngine:
    """The torch module itself (GPU reading, or checking the ONNX graph against it)."""

    def __init__(self, checkpoint: str | os.PathLike[str], device: str = "cpu") -> None:
        require("train", "reading with torch (--backend torch, a GPU or a .pt checkpoint)")
        import torch

        self.torch = torch
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise PwocrError(f"device {device!r}: expected cpu, cuda or cuda:N") from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise PwocrError(f"device {device!r}: torch sees no CUDA GPU here (read on cpu)")
        self.model = load_model(checkpoint).to(self.device)
        self.config = self.model.config

    def __call__(self, images: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(images).to(self.device)).float().cpu().numpy()

    def with_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with self.torch.inference_mode():
            log_probs, features = self.model.forward_with_features(self.torch.from_numpy(images).to(self.device))
        return log_probs.float().cpu().numpy(), features.float().cpu().numpy()


def onnx_engine_for_checkpoint(checkpoint: Path, threads: int | None = None) -> OnnxEngine:
    """The ONNX graph of a ``.safetensors`` checkpoint, loaded once: shipped beside it, or exported once into the cache."""
    digest = file_sha256(checkpoint)
    beside = checkpoint.with_suffix(".onnx")
    if beside.is_file():
        try:
            engine = OnnxEngine(beside, threads)
            if engine.source_sha256 == digest:
                return engine
        except PwocrError:
            pass  # a stale or foreign graph beside the weights: export our own
    cached = cache_dir() / f"{digest}.v{EXPORT_VERSION}.onnx"
    if cached.is_file():
        try:
            return OnnxEngine(cached, threads)
        except PwocrError:  # damaged, or written by a pwocr that checked less: the cache is ours to mend
            with contextlib.suppress(OSError):  # a read-only cache: the export below falls back to a temporary one
                cached.unlink()
    # Only the first reading of a checkpoint exports it; later ones need no torch.
    require("train", f"{checkpoint}: exporting a .safetensors checkpoint to ONNX on its first reading")
    from pwocr.inference.onnx import export_onnx

    model = load_model(checkpoint)
    try:
        export_onnx(model, cached, source_sha256=digest)
    except OSError:
        # A read-only home: keep the graph in a temporary folder instead.
        import tempfile

        cached = Path(tempfile.mkdtemp(prefix="pwocr-")) / cached.name
        export_onnx(model, cached, source_sha256=digest)
    return OnnxEngine(cached, threads)


def open_engine(checkpoint: Path, backend: Backend = "onnx", device: str = "cpu", threads: int | None = None) -> Engine:
    """An engine for a checkpoint: an ``.onnx`` file runs as it is; others are exported once, or run in torch."""
    if backend not in ("onnx", "torch"):
        raise PwocrError(f"unknown backend {backend!r}; choose onnx or torch")
    if checkpoint.suffix == ".onnx":
        if backend == "torch":
            require("train", "--backend torch")
            require_weights(checkpoint, "reading with torch")
        return OnnxEngine(checkpoint, threads)
    if backend == "torch" or device != "cpu" or checkpoint.suffix != ".safetensors":
        return TorchEngine(checkpoint, device)
    return onnx_engine_for_checkpoint(checkpoint, threads)


__all__ = ["Engine", "OnnxEngine", "TorchEngine", "onnx_engine_for_checkpoint", "open_engine"]
