"""A run's resumable state: one versioned schema, written by ``TrainingState.to_dict`` and read by
``TrainingState.from_dict``. The one exception is ``pwocr.checkpoints``, a lower layer, which reads a
``.pt`` file's ``model`` and ``model_config`` keys alone to read with or export it; those two keys
keep their names in every version.

On disk it is a flat dict of tensors and plain values, which ``torch.load(weights_only=True)`` reads
without unpickling code. Random states are saved too, so that a resumed run draws what the
uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pwocr.errors import PwocrError

#: 1: the format written before it carried a version; 2: the same keys, plus ``version``.
SCHEMA_VERSION = 2


@dataclass
class Position:
    """How far a run has come, and its best validation score so far."""

    epoch: int = 0  # whole epochs done
    batch: int = 0  # batches done of the next epoch
    step: int = 0  # optimiser steps in all
    best: float = -1.0  # word accuracy + 1e-3 x character accuracy of the best epoch
    best_epoch: int = 0
    epoch_loss: float = 0.0  # summed batch losses of the epoch in progress
    epoch_seen: int = 0  # lines seen of the epoch in progress
    # A fine-tune's starting model, scored before its first step (-1: not scored): what the kept
    # epoch is weighed against (the guard) and what the final report compares with.
    start_real: float = -1.0  # word accuracy on --val_file
    start_guard: float = -1.0  # word accuracy on the synthetic guard set


#: Position fields added after version 2 was first written: a run saved before them has their defaults.
_LATER_POSITION_FIELDS = frozenset({"start_real", "start_guard"})


@dataclass
class TrainingState:
    """Everything a run needs to continue exactly where it stopped."""

    model: dict[str, torch.Tensor]
    model_config: dict[str, Any]
    train_config: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    position: Position
    world: int  # processes that trained it: another count changes the order of an epoch in progress
    rng: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The on-disk form: flat, and versioned."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "position"}
        return {"version": SCHEMA_VERSION, **flat, **dataclasses.asdict(self.position)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str) -> TrainingState:
        """Read the on-disk form of any version this code knows; another one is a one-line error."""
        version = raw.get("version", 1)
        if version == 1:
            raw = _upgrade_from_version_1(raw)
        elif version != SCHEMA_VERSION:
            raise PwocrError(f"{source}: training state version {version}; this pwocr reads up to {SCHEMA_VERSION}")
        names = [f.name for f in dataclasses.fields(cls) if f.name != "position"]
        positions = [f.name for f in dataclasses.fields(Position)]
        missing = [name for name in names + positions if name not in raw and name not in _LATER_POSITION_FIELDS]
        if missing:
            raise PwocrError(f"{source}: not a pwocr training checkpoint (no {', '.join(missing)})")
        position = Position(**{name: type(getattr(Position(), name))(raw[name]) for name in positions if name in raw})
        return cls(position=position, **{name: raw[name] for name in names})


def _upgrade_from_version_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 as written by every pwocr before versions: runs written before resuming inside an
    epoch or on several processes lack the position in the epoch, best epoch and world (a resumed
    one starts at an epoch boundary on one process), and kept torch's random state alone."""
    defaults = {"train_config": {}, "batch": 0, "best_epoch": 0, "epoch_loss": 0.0, "epoch_seen": 0, "world": 1}
    upgraded = {**defaults, **raw}
    if "rng" not in upgraded and "torch_rng" in upgraded:
        upgraded["rng"] = {"torch": upgraded.pop("torch_rng")}
    return upgraded


# ----------------------------------------------------------------------------------------------
# Random states, as tensors and lists.


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_states() -> dict[str, Any]:
    """The random states of torch, NumPy and Python (and CUDA when in use)."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "gauss": [has_gauss, gauss]},
        "python": {"version": version, "state": list(py_state), "gauss": py_gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the random states ``rng_states`` saved (a version-1 state may hold torch's alone)."""
    torch.set_rng_state(states["torch"])
    if "numpy" in states:
        numpy = states["numpy"]
        np.random.set_state(
            (
                "MT19937",
                numpy["keys"].numpy().astype(np.uint32),
                numpy["pos"],
                int(numpy["gauss"][0]),
                numpy["gauss"][1],
            )
        )
    if "python" in states:
        python = states["python"]
        random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
