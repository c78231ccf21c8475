"""A training run's folder (``--out``): resumable checkpoints that survive any kill, the last K kept.

Every resumable checkpoint is ``step-NNNNNNNN.pt``, written atomically (temporary file, fsync,
rename); ``last.pt`` is a hard link to the newest, so it costs no second copy and is replaced by a
rename too. A kill at any moment leaves the previous ``last.pt`` whole, and at worst a dot-file
temporary, which the next run removes before it starts.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from pwocr.checkpoints import load_training_state, save_training_state
from pwocr.errors import PwocrError
from pwocr.training.state import TrainingState

LAST = "last.pt"
_STEP = re.compile(r"^step-(\d{8})\.pt$")
#: Temporaries ``atomic_path`` leaves when killed between creating and renaming them, for our files only.
_TEMPORARY = re.compile(r"^\.(last\.pt|step-\d{8}\.pt|best\.safetensors|last\.safetensors|summary\.json)\..*\.tmp$")


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Delete the temporaries that killed saves left in ``out``; returns what was removed."""
    if not out.is_dir():
        return []
    removed = []
    for path in out.iterdir():
        if _TEMPORARY.match(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def step_checkpoints(out: Path) -> list[Path]:
    """The step-numbered checkpoints in ``out``, oldest first."""
    if not out.is_dir():
        return []
    return sorted((p for p in out.iterdir() if _STEP.match(p.name)), key=lambda p: p.name)


def _replace_by_link(target: Path, link: Path) -> None:
    """Make ``link`` name the same file as ``target``, atomically (a copy where hard links are refused)."""
    fd, tmp = tempfile.mkstemp(dir=link.parent, prefix=f".{link.name}.", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)
    try:
        try:
            os.link(target, tmp)
        except OSError:
            shutil.copyfile(target, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, link)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_resumable(out: Path, state: TrainingState, keep_last: int) -> Path:
    """Write ``state`` as ``step-<step>.pt`` and ``last.pt``, then delete all but the newest ``keep_last``."""
    path = out / f"step-{state.position.step:08d}.pt"
    save_training_state(state.to_dict(), path)
    _replace_by_link(path, out / LAST)
    for old in step_checkpoints(out)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def load_resumable(out: Path) -> tuple[TrainingState, Path]:
    """The newest readable resumable checkpoint in ``out``: ``last.pt``, else the newest step checkpoint."""
    candidates = [out / LAST, *reversed(step_checkpoints(out))]
    problems = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            return TrainingState.from_dict(load_training_state(path), str(path)), path
        except PwocrError as e:
            problems.append(str(e))
    if problems:
        raise PwocrError(f"--resume: no readable checkpoint in {out} ({problems[0]})")
    raise PwocrError(f"--resume: {out / LAST} not found; nothing to resume in --out {out}")
