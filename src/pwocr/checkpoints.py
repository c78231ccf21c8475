"""Saving and loading models: safetensors weights with their config, and resumable training checkpoints.

A ``.safetensors`` file holds the weights and, in its metadata, the ``ModelConfig`` as JSON, so it
alone rebuilds model, alphabet and preprocessing. A ``.pt`` training checkpoint adds optimizer and
schedule state; it is read with ``torch.load(weights_only=True)``, which never runs pickled code.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pwocr.decoding.formats import FormatPrior
from pwocr.errors import PwocrError
from pwocr.extras import require
from pwocr.io import atomic_path, special_file_kind
from pwocr.model.config import DECODING_FIELDS, ModelConfig

if TYPE_CHECKING:  # torch is imported where weights are handled, so reading with onnxruntime never loads it
    import torch

    from pwocr.model.crnn import CRNN

#: The name that stands for the shipped model wherever a checkpoint path is expected.
DEFAULT_NAME = "default"
#: Metadata keys of every model file pwocr writes (``.safetensors`` and exported ``.onnx``): the
#: ``ModelConfig`` as JSON, and the hash of the checkpoint an ONNX graph was exported from.
CONFIG_KEY = "pwocr_model_config"
SOURCE_KEY = "pwocr_source_sha256"


def default_weights_path() -> Path:
    return Path(str(resources.files("pwocr") / "weights" / "default.safetensors"))


def resolve_checkpoint(path: str | os.PathLike[str] | None) -> Path:
    """``None`` or ``"default"`` name the shipped model; anything else is a file that must exist.

    The shipped model is its weights where they are installed (a source checkout: training starts
    from them), else its ONNX graph, which is all that reading needs (the wheel ships only that).
    """
    if path is None or str(path) == DEFAULT_NAME:
        resolved = default_weights_path()
        if not resolved.is_file():
            resolved = resolved.with_suffix(".onnx")
        if not resolved.is_file():
            raise PwocrError(f"{resolved}: the shipped model is missing from this installation")
        return resolved
    resolved = Path(path)
    if resolved.is_dir():
        inside = [resolved / name for name in ("best.safetensors", "last.safetensors") if (resolved / name).is_file()]
        hint = f"; did you mean {inside[0]}?" if inside else ""
        raise PwocrError(f"{resolved}: is a folder, not a checkpoint (a .safetensors, .pt or .onnx file){hint}")
    refuse_special_file(resolved)
    if not resolved.is_file():
        raise PwocrError(f"{resolved}: checkpoint not found")
    return resolved


def refuse_special_file(path: str | os.PathLike[str]) -> None:
    """One line for a path that is there but no regular file, before anything opens it (a named pipe would block)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing or unreadable: whoever opens it says so
    kind = special_file_kind(mode)
    if kind is not None:
        raise PwocrError(f"{path}: {kind}, not a regular file")


def save_weights(model: CRNN, path: str | os.PathLike[str], half: bool = False) -> None:
    """Write the model's weights and config as safetensors, atomically; ``half`` stores fp16."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if half and v.is_floating_point():
            v = v.half()
        tensors[k] = v.contiguous()
    with _writing(path) as tmp:
        save_file(tensors, str(tmp), metadata={CONFIG_KEY: json.dumps(model.config.to_dict())})


def save_training_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a training checkpoint atomically, so an interrupted save never leaves a broken file."""
    import torch

    with _writing(path) as tmp:
        torch.save(state, tmp)


@contextmanager
def _writing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """``atomic_path``, with a failed write (a full disk) as one line that says the previous file is intact."""
    try:
        with atomic_path(path) as tmp:
            yield tmp
    except PwocrError:
        raise
    except Exception as e:  # OSError, SafetensorError, torch's RuntimeError: each wraps the system's reason
        reason = _write_failure(e, Path(path).parent)
        raise PwocrError(f"{path}: cannot write ({reason}); the previous file is intact") from None


def _write_failure(error: Exception, folder: Path) -> str:
    """The system's reason inside a write error: ``No space left on device``, not a Rust or C++ dump."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    found = re.search(r'message: "([^"]+)"', str(error))  # safetensors: IoError(Os { ..., message: "..." })
    if found:
        return found.group(1)
    try:
        if shutil.disk_usage(folder).free < 1 << 20:
            return "No space left on device"
    except OSError:
        pass
    return str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__


def load_training_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``.pt`` training checkpoint without unpickling code."""
    import torch

    refuse_special_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise PwocrError(f"{path}: not a pwocr training checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        raise PwocrError(f"{path}: not a pwocr training checkpoint (no model or model_config)")
    return state


def require_weights(path: Path, doing: str) -> None:
    """One line when ``path`` has no weights torch can load here: an ONNX graph, or no ``[train]`` extra."""
    if path.suffix == ".onnx":
        shipped = path.parent == default_weights_path().parent
        where = "the shipped model's weights ship with pwocr's source: pip install -e '.[train]' in a clone"
        raise PwocrError(
            f"{path}: {doing} needs a .safetensors checkpoint, not an ONNX graph" + (f" ({where})" if shipped else "")
        )
    require("train", f"{path}: {doing}")


def config_from_json(text: str, source: str) -> ModelConfig:
    """The ``ModelConfig`` in a model file's metadata; a malformed one is a one-line error naming ``source``."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise PwocrError(f"{source}: malformed model config (not JSON: {str(e)[:80]})") from None
    return config_from_data(data, source)


def config_from_data(data: object, source: str) -> ModelConfig:
    """The ``ModelConfig`` of a checkpoint's saved dict; any missing, unknown, mistyped or out-of-range
    value is one line: ``SOURCE: malformed model config (...)``."""
    try:
        if not isinstance(data, dict):
            raise PwocrError("not a JSON object")
        return ModelConfig.from_dict(data)
    except (PwocrError, ValueError, TypeError, ArithmeticError) as e:  # the last three: a safety net
        raise PwocrError(f"{source}: malformed model config ({str(e)[:160]})") from None


def read_config(path: str | os.PathLike[str]) -> ModelConfig:
    """The ``ModelConfig`` of a checkpoint: a ``.safetensors`` file's metadata (no weights read, no torch), or a ``.pt``'s."""
    require("train", f"{path}: reading a checkpoint's config")
    from safetensors import SafetensorError, safe_open

    if Path(path).suffix == ".pt":
        return config_from_data(load_training_state(path)["model_config"], str(path))

    refuse_special_file(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise PwocrError(f"{path}: not a safetensors file ({e})") from None
    if CONFIG_KEY not in metadata:
        raise PwocrError(f"{path}: not a pwocr model (no {CONFIG_KEY} in its metadata)")
    return config_from_json(metadata[CONFIG_KEY], str(path))


def load_state(path: str | os.PathLike[str] | None) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The config and fp32 weights from a ``.safetensors`` or ``.pt`` checkpoint (or the shipped model)."""
    resolved = resolve_checkpoint(path)
    require_weights(resolved, "loading its weights into torch")
    if resolved.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        config = read_config(resolved)
        try:
            weights = load_file(str(resolved))
        except (SafetensorError, OSError) as e:
            raise PwocrError(f"{resolved}: not a safetensors file ({e})") from None
    else:
        import torch

        state = load_training_state(resolved)
        config = config_from_data(state["model_config"], str(resolved))
        weights = state["model"]
        if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise PwocrError(f"{resolved}: not a pwocr training checkpoint (its model is not a dict of tensors)")
    return config, {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}


def build_model(
    config: ModelConfig, weights: dict[str, torch.Tensor] | None = None, source: str = "checkpoint"
) -> CRNN:
    """A CRNN for ``config``, loaded with ``weights`` when given; a mismatch is a one-line error."""
    from pwocr.model.crnn import CRNN

    model = CRNN(config)
    if weights is not None:
        try:
            model.load_state_dict(weights)
        except RuntimeError:
            raise PwocrError(
                f"{source}: its weights do not fit a {config.arch} CRNN with {len(config.alphabet)} characters "
                "(a checkpoint of another architecture?)"
            ) from None
    return model


def load_model(path: str | os.PathLike[str] | None = None) -> CRNN:
    """Rebuild a model from a checkpoint alone, in eval mode."""
    config, weights = load_state(path)
    return build_model(config, weights, str(resolve_checkpoint(path))).eval()


def average_checkpoints(paths: Sequence[str | os.PathLike[str] | None], shares: Sequence[float]) -> CRNN:
    """The weight-space average ``sum(share_i * weights_i)`` of checkpoints of one model, in eval mode.

    Averaging a fine-tuned model with the one it started from (WiSE-FT, Wortsman et al. 2022)
    keeps much of what the fine-tuning learnt while giving back little of what the start knew:
    pwocr's look-alike stage trades real-word accuracy for look-alikes, and the average gets most
    of the look-alikes back at a fraction of the cost. The checkpoints must share everything but
    how they decode: the average keeps the first's temperature (run ``pwocr calibrate`` on it) and
    the format prior of the first that has one (a fine-tune's: the shipped model has none).
    """
    if len(paths) != len(shares) or len(paths) < 2:
        raise PwocrError(f"averaging needs two or more checkpoints and one share each ({len(paths)} and {len(shares)})")
    if not (all(0 <= s < math.inf for s in shares) and abs(sum(shares) - 1) <= 1e-6):  # NaN fails every test
        raise PwocrError(f"the shares {', '.join(f'{s:g}' for s in shares)} must be non-negative and sum to 1")
    first_config, total = load_state(paths[0])
    total = {k: v * shares[0] if v.is_floating_point() else v for k, v in total.items()}
    prior: dict[str, Any] = {}
    for path, share in zip(paths[1:], shares[1:]):
        config, weights = load_state(path)
        if config.formats and not first_config.formats and not prior:
            prior = FormatPrior.of(config).as_config()
        decoding = {name: getattr(first_config, name) for name in DECODING_FIELDS}
        if dataclasses.replace(config, **decoding) != first_config:
            raise PwocrError(
                f"{resolve_checkpoint(path)}: another model than {resolve_checkpoint(paths[0])} (config differs)"
            )
        if weights.keys() != total.keys():
            raise PwocrError(f"{resolve_checkpoint(path)}: its weights do not match {resolve_checkpoint(paths[0])}'s")
        for k, v in weights.items():
            if v.is_floating_point():
                total[k] = total[k] + v * share
    return build_model(dataclasses.replace(first_config, **prior), total, str(resolve_checkpoint(paths[0]))).eval()
