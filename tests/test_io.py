"""``pwocr.io``: outputs are replaced whole or not at all, and a failed write is one line."""

import errno
import os
import stat

import pytest

from pwocr import io as pwocr_io
from pwocr.errors import PwocrError
from pwocr.io import atomic_write


def test_a_full_disk_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    target.write_text("previous")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pwocr_io.os, "fsync", full)
    with pytest.raises(PwocrError) as e:
        pwocr_io.atomic_write(target, "new")
    assert str(e.value) == f"{target}: cannot write (No space left on device); the previous file is intact"
    assert isinstance(e.value, OSError)  # callers that fall back on a write failure still catch it
    assert target.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PwocrError, match=r"file/out.png: cannot write \("):
        pwocr_io.atomic_write(tmp_path / "file" / "out.png", b"x")


def test_text_naming_a_file_that_is_not_utf8_is_written_as_its_bytes(tmp_path):
    name = os.fsdecode(b"caf\xe9.png")
    pwocr_io.atomic_write(tmp_path / "wrong.html", f"<td>{name}</td>")
    assert (tmp_path / "wrong.html").read_bytes() == b"<td>caf\xe9.png</td>"


def test_a_new_file_follows_the_umask_and_a_replaced_one_keeps_its_mode(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write(tmp_path / "labels.csv", "filename,label\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "labels.csv").stat().st_mode) == 0o600  # private, as the user keeps files
    (tmp_path / "labels.csv").chmod(0o640)
    atomic_write(tmp_path / "labels.csv", "filename,label\na.png,b\n")
    assert stat.S_IMODE((tmp_path / "labels.csv").stat().st_mode) == 0o640


def test_readings_written_as_they_come_keep_a_replaced_file_private(tmp_path):
    """``recognize -o``'s file: a 0600 file of passwords was replaced by a 0644 one under umask 022."""
    target = tmp_path / "readings.csv"
    target.write_text("previous\n")
    target.chmod(0o600)
    old = os.umask(0o022)
    try:
        written = pwocr_io.PartialFile(target)
        written.stream.write("image,text\n")
        written.commit()
    finally:
        os.umask(old)
    assert target.read_text() == "image,text\n" and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_file_where_a_folder_should_be_is_named(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"x")
    with pytest.raises(PwocrError, match=r"out.csv: cannot write \(.*photo.png is a file, not a folder\)$"):
        atomic_write(tmp_path / "photo.png" / "sub" / "out.csv", "a")
