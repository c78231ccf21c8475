"""Saving and loading models: safetensors weights with their config, and resumable training checkpoints.

A ``.safetensors`` file holds the weights and, in its metadata, the ``ModelConfig`` as JSON, so it
alone rebuilds model, alphabet and preprocessing. A ``.pt`` training checkpoint adds optimizer and
schedule state; it is read with ``torch.load(weights_only=True)``, which never runs pickled code.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from pwocr.errors import PwocrError
from pwocr.model.crnn import CRNN, ModelConfig

#: The name that stands for the shipped model wherever a checkpoint path is expected.
DEFAULT_NAME = "default"
_CONFIG_KEY = "pwocr_model_config"


def default_weights_path() -> Path:
    return Path(str(resources.files("pwocr") / "weights" / "default.safetensors"))


def resolve_checkpoint(path: str | os.PathLike[str] | None) -> Path:
    """``None`` or ``"default"`` name the shipped model; anything else is a file that must exist."""
    if path is None or str(path) == DEFAULT_NAME:
        resolved = default_weights_path()
        if not resolved.is_file():
            raise PwocrError(f"{resolved}: the shipped model is missing from this installation")
        return resolved
    resolved = Path(path)
    if not resolved.is_file():
        raise PwocrError(f"{resolved}: checkpoint not found")
    return resolved


def _atomic_target(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; a model file is meant to be shared
    return fd, tmp


def save_weights(model: CRNN, path: str | os.PathLike[str], half: bool = False) -> None:
    """Write the model's weights and config as safetensors, atomically; ``half`` stores fp16."""
    path = Path(path)
    tensors = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if half and v.is_floating_point():
            v = v.half()
        tensors[k] = v.contiguous()
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_CONFIG_KEY: json.dumps(model.config.to_dict())})
        os.chmod(tmp, 0o644)  # safetensors rewrites the file with mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_training_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a training checkpoint atomically, so an interrupted save never leaves a broken file."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_training_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``.pt`` training checkpoint without unpickling code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise PwocrError(f"{path}: not a pwocr training checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        raise PwocrError(f"{path}: not a pwocr training checkpoint (no model or model_config)")
    return state


def load_state(path: str | os.PathLike[str] | None) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The config and fp32 weights from a ``.safetensors`` or ``.pt`` checkpoint (or the shipped model)."""
    resolved = resolve_checkpoint(path)
    if resolved.suffix == ".safetensors":
        try:
            from safetensors import safe_open

            with safe_open(str(resolved), framework="pt") as f:
                metadata = f.metadata() or {}
            weights = load_file(str(resolved))
        except (SafetensorError, OSError) as e:
            raise PwocrError(f"{resolved}: not a safetensors file ({e})") from None
        if _CONFIG_KEY not in metadata:
            raise PwocrError(f"{resolved}: not a pwocr model (no {_CONFIG_KEY} in its metadata)")
        config = ModelConfig.from_dict(json.loads(metadata[_CONFIG_KEY]))
    else:
        state = load_training_state(resolved)
        config = ModelConfig.from_dict(state["model_config"])
        weights = state["model"]
    return config, {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}


def build_model(
    config: ModelConfig, weights: dict[str, torch.Tensor] | None = None, source: str = "checkpoint"
) -> CRNN:
    """A CRNN for ``config``, loaded with ``weights`` when given; a mismatch is a one-line error."""
    model = CRNN(config)
    if weights is not None:
        try:
            model.load_state_dict(weights)
        except RuntimeError:
            raise PwocrError(
                f"{source}: its weights do not fit a {config.size} CRNN with {len(config.alphabet)} characters "
                "(a checkpoint of another architecture?)"
            ) from None
    return model


def load_model(path: str | os.PathLike[str] | None = None) -> CRNN:
    """Rebuild a model from a checkpoint alone, in eval mode."""
    config, weights = load_state(path)
    return build_model(config, weights, str(resolve_checkpoint(path))).eval()
