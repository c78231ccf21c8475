"""A training run's folder (``--out``): resumable checkpoints that survive any kill, the last K kept.

Every resumable checkpoint is ``step-NNNNNNNN.pt``, written atomically (temporary file, fsync,
rename); ``last.pt`` is a hard link to the newest, so it costs no second copy and is replaced by a
rename too. A kill at any moment leaves the previous ``last.pt`` whole, and at worst a dot-file
temporary, which the next run removes before it starts.

One run writes in a folder at a time: ``locked_run_folder`` holds ``.lock`` there for the whole run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pwocr.checkpoints import load_training_state, save_training_state
from pwocr.errors import PwocrError
from pwocr.io import make_folder
from pwocr.training.state import TrainingState

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs there are not guarded against each other
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

LAST = "last.pt"
LOCK = ".lock"
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


@contextlib.contextmanager
def locked_run_folder(out: Path, hold: bool = True) -> Iterator[None]:
    """Hold ``out``'s lock while a run writes there, so that a second run into the same folder (new or
    ``--resume``) is refused at once instead of mixing its checkpoints and resume state with the first's.

    An advisory ``flock`` on ``out/.lock``: the kernel drops it when the process ends, however it
    ends, so no stale lock ever needs clearing. ``hold=False`` takes none (the ranks that the run's
    rank 0 or launcher speaks for; they share its lock). When the run ends the lock file goes, and
    so do the folders made for it that the run left empty: a run refused by a label writes nothing.
    """
    if not hold or fcntl is None:
        yield
        return
    made = [p for p in (out, *out.parents) if not p.exists()]
    fd = _take_lock(out)
    try:
        yield
    finally:
        if fd is not None:
            _release_lock(out, fd, made)


def _take_lock(out: Path) -> int | None:
    """An open descriptor of ``out/.lock``, locked; None where the filesystem has no locks (said)."""
    assert fcntl is not None
    busy = f"--out {out}: another training is writing to this folder (wait for it or choose another --out)"
    path = out / LOCK
    for _ in range(10):
        make_folder(out)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            continue  # a run that ended removed the folder it had made between making and opening it
        except PermissionError:
            raise PwocrError(f"--out {out}: the folder is not writable") from None
        except OSError as e:
            raise PwocrError(f"--out {out}: cannot create {LOCK} ({e.strerror or type(e).__name__})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PwocrError(busy) from None
        except OSError as e:
            os.close(fd)
            logger.warning("--out %s: cannot lock the folder (%s); runs into it are not kept apart", out, e.strerror)
            return None
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        os.close(fd)  # the lock file of a run that has just ended, removed as it ended: lock the new one
    raise PwocrError(busy)


def _release_lock(out: Path, fd: int, made: list[Path]) -> None:
    """Remove the lock file while still holding it (a run that opened it meanwhile sees it gone and takes
    a new one), release it, then remove the folders made for the run where it left them empty."""
    with contextlib.suppress(OSError):
        (out / LOCK).unlink()
    os.close(fd)
    for folder in made:  # the deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()
