"""The one way pwocr writes files: to a temporary file beside the target, fsynced, then renamed.

A reader never sees a half-written file, and a killed write leaves the old file intact and no
temporary behind (the temporary is removed on any exception, and is a dot-file when a kill beats it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from pwocr.errors import PwocrError


class WriteError(PwocrError, OSError):
    """An output that could not be written (a full disk, a read-only folder): one line, the previous file intact.

    Also an ``OSError``, so callers that fall back on a write failure (another folder) still can.
    """


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to (by any library); it replaces ``path`` on success.

    A write that fails with an ``OSError`` raises ``WriteError`` naming ``path`` and the system's reason.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise _write_error(path, e) from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise _write_error(path, e) from None
        raise


def _mode_for(path: Path) -> int:
    """A file replaced keeps its permissions; a new one gets what ``open`` would give it, 0o666 less the
    umask: a user who keeps their files private (``umask 077``) gets private label files and reports,
    which hold passwords."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read from ``/proc`` where it can be: ``os.umask`` reads it only by setting
    it, and a thread (a TensorBoard writer's) creating a file in between would get mode 0666."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0)
        os.umask(umask)
        return umask


def file_in_the_way(path: str | os.PathLike[str]) -> Path | None:
    """The first folder above ``path`` that is there but is a file (``--out photo.png/x.csv``), if any."""
    return next((p for p in Path(path).parents if p.exists() and not p.is_dir()), None)


def make_folder(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """``path`` made, with its parents, as a folder to write in; a one-line ``PwocrError`` naming
    ``option`` where a file stands in the way or the folder cannot be made."""
    folder = Path(path)
    blocked = folder if folder.exists() and not folder.is_dir() else file_in_the_way(folder)
    if blocked is not None:
        raise PwocrError(f"{option} {path}: {blocked} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PwocrError(f"{option} {path}: cannot create the folder ({e.strerror or type(e).__name__})") from None
    return folder


def _write_error(path: Path, error: OSError) -> WriteError:
    blocking = file_in_the_way(path)
    if blocking is not None:
        return WriteError(f"{path}: cannot write ({blocking} is a file, not a folder)")
    return WriteError(f"{path}: cannot write ({error.strerror or error}); the previous file is intact")


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically.

    A file name in the text that is not UTF-8 (``os.fsdecode``'s surrogates) is written as its own
    bytes, so a page or label file naming it neither fails nor names another file.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data)


class PartialFile:
    """A text file written as results come, to ``.<name>.partial`` beside it, renamed into place on ``commit``.

    The streaming form of ``atomic_path``, for results written as they come: an interrupted run
    leaves the partial file (what was read so far) and never a half-written target; ``commit``
    fsyncs, then renames atomically, with the target's permissions kept (``_mode_for``).
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        self.partial = self.target.with_name(f".{self.target.name}.partial")
        if self.target.is_dir():
            raise PwocrError(f"{self.target}: a folder; name a file to write")
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            # A file name that is not UTF-8 is written back as its own bytes (so the row names the
            # file on disk) instead of stopping the run at that row.
            self.stream: TextIO = self.partial.open("w", newline="", encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            raise _write_error(self.target, e) from None

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.chmod(self.partial, _mode_for(self.target))  # a replaced private file stays private
        os.replace(self.partial, self.target)

    def discard(self, keep: bool = False) -> None:
        """Give the file up, the target left as it was: the partial file is deleted (freeing a full disk), or with ``keep`` left."""
        with contextlib.suppress(OSError):
            self.stream.close()
        if not keep:
            self.partial.unlink(missing_ok=True)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as hex, read in blocks (a checkpoint or graph is megabytes)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def special_file_kind(mode: int) -> str | None:
    """What a ``stat`` mode is when it is no regular file (``None`` when it is one): a folder, a FIFO
    (opening it blocks), a socket or a device (reading it never ends): refused before anything opens it."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    return "a socket" if stat.S_ISSOCK(mode) else "a device"
