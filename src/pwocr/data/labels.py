"""The seed's label files: CSV with a header row, then ``filename,label``; written atomically."""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pwocr.errors import PwocrError
from pwocr.io import atomic_write, make_folder

if TYPE_CHECKING:
    from pwocr.alphabet import Alphabet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: str
    # Where the label was read, ``labels.csv:12``, so that an error names the line to fix.
    origin: str = field(default="", compare=False)

    @property
    def where(self) -> str:
        return self.origin or str(self.path)


@dataclass(frozen=True)
class SkippedRow:
    """A label row that was not read, where it is (``labels.csv:12``) and why (one line, no label in it: labels are secrets)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


#: First cells that mark a header row (the seed's ``filename``, ``img``, datasets' ``image``, ...).
HEADER_NAMES = {"filename", "file", "image", "img", "path", "name", "image_path", "file_name", "fname"}


def read_labels(
    csv_path: str | os.PathLike[str], imgs_folder: str | os.PathLike[str] | None = None, header: bool | None = None
) -> list[LabelledImage]:
    """Read a ``filename,label`` CSV (header row first); file names are relative to ``imgs_folder``.

    Without ``imgs_folder`` names are relative to the CSV's own folder. Labels keep commas, quotes
    and backslashes exactly as CSV quoting gives them. The header is required (its first cell one
    of ``HEADER_NAMES``), so a header-less file never silently loses its first row; pass
    ``header=False`` for one that has none. Only a caller that passes ``header`` offers a choice
    (``--no_header``), so only its missing-header error names that flag. A row with more than two
    fields (an unquoted comma in a label) is an error naming its line, never a silently truncated label.
    """
    csv_path = Path(csv_path)
    folder = labels_folder(csv_path, imgs_folder)
    if not csv_path.is_file():
        raise PwocrError(f"{csv_path}: label file not found")
    rows = _csv_rows(csv_path)
    if not rows:
        raise PwocrError(f"{csv_path}: the file is empty; expected a header row, then filename,label rows")
    if header is not False and (not rows[0][1] or rows[0][1][0].strip().lower() not in HEADER_NAMES):
        # Never the row itself: its second cell would be a password.
        hint = " (a file without a header: --no_header)" if header is not None else ""
        raise PwocrError(
            f"{csv_path}:1: expected a header row such as filename,label; its first cell is none of"
            f" {', '.join(sorted(HEADER_NAMES))}{hint}"
        )
    items = []
    for line_number, row in rows if header is False else rows[1:]:
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{csv_path}:{line_number}"
        if any("\n" in cell or "\r" in cell for cell in row):
            raise PwocrError(
                f'{where}: a quote (") opens here and is not closed on this line; close it, or write a quote '
                'inside a quoted label twice ("")'
            )
        if len(row) != 2:
            hint = ' (quote a label that has a comma: "a,b")' if len(row) > 2 else ""
            raise PwocrError(f"{where}: expected 2 columns (filename,label), found {len(row)}{hint}")
        if not row[0].strip():
            raise PwocrError(f"{where}: the filename column is empty")
        if row[1] == "":
            raise PwocrError(f"{where}: the label of {row[0]} is empty")
        items.append(LabelledImage(folder / row[0].strip(), row[1], where))
    if not items:
        raise PwocrError(f"{csv_path}: no labelled rows after the header")
    return items


def _csv_rows(csv_path: Path) -> list[tuple[int, list[str]]]:
    """The CSV's rows, each with the line it starts on (a quoted label may span lines); UTF-8 required."""
    data = csv_path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise PwocrError(
            f"{csv_path}:{line}: not UTF-8 (byte 0x{data[e.start]:02x}; a latin-1 or Windows file? save it as UTF-8)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise PwocrError(f"{csv_path}:{reader.line_num}: not a readable CSV row ({e})") from None
    return rows


def screen_labels(
    items: Sequence[LabelledImage], folder: str | os.PathLike[str], allow_outside: bool = False
) -> tuple[list[LabelledImage], list[SkippedRow]]:
    """The rows worth reading, and the others with why: each file once, and only inside ``folder``.

    A name with ``..`` or an absolute name that leaves ``folder`` is refused unless ``allow_outside``
    (a label file from elsewhere must not make pwocr read ``/etc/shadow`` or a neighbour's files).
    A file named again is read once, with its first row's label: a repeat would count twice, and a
    second, different label leaves the truth unknown.
    """
    root = os.path.normpath(os.path.abspath(folder))
    first: dict[str, LabelledImage] = {}
    kept, skipped = [], []
    for item in items:
        path = os.path.normpath(os.path.abspath(item.path))
        if not allow_outside and os.path.commonpath([root, path]) != root:
            skipped.append(SkippedRow(item.where, f"{item.path} is outside {folder} (--allow_outside reads it)"))
            continue
        if path in first:
            earlier = first[path]
            line = earlier.where.rsplit(":", 1)[-1]
            same = "the same label" if earlier.label == item.label else "another label"
            skipped.append(
                SkippedRow(item.where, f"{item.path} is named again (line {line} has {same}; that row is kept)")
            )
            continue
        first[path] = item
        kept.append(item)
    return kept, skipped


def read_screened_labels(
    csv_path: str | os.PathLike[str],
    imgs_folder: str | os.PathLike[str] | None = None,
    allow_outside: bool = False,
    header: bool | None = None,
) -> tuple[list[LabelledImage], list[SkippedRow]]:
    """``read_labels`` then ``screen_labels`` against the images folder: the rows to read, and the rows
    left out, each logged (``FILE:LINE: why; skipped``) as it is left out."""
    items = read_labels(csv_path, imgs_folder, header=header)
    kept, skipped = screen_labels(items, labels_folder(csv_path, imgs_folder), allow_outside)
    for row in skipped:
        logger.warning("%s; skipped", row)
    return kept, skipped


def labels_folder(csv_path: str | os.PathLike[str], imgs_folder: str | os.PathLike[str] | None) -> Path:
    """The folder a label file's names are relative to: ``imgs_folder``, else the file's own folder."""
    return Path(imgs_folder) if imgs_folder is not None else Path(csv_path).parent


def check_labels(
    items: Sequence[LabelledImage], alphabet: Alphabet, whose: str = "the alphabet", hint: str = ""
) -> None:
    """Raise naming file and line for the first label with a character outside ``alphabet``.

    Training and evaluation check labels this one way, so a label set that one accepts the other
    accepts too. A space at either end of a label (``name, label`` in the CSV) gets its own hint.
    ``whose`` names the alphabet in the message; ``hint`` says what the caller can do about it.
    """
    for item in items:
        missing = alphabet.missing(item.label)
        if not missing:
            continue
        char = missing[0]
        detail = ""
        if char.isspace() and item.label != item.label.strip():
            detail = " (a space after the comma in the CSV?)"
        # Where the character is, never the label itself: a label is a password.
        at = f"(character {item.label.index(char) + 1} of {len(item.label)})"
        raise PwocrError(f"{item.where}: label has character {char!r} {at} that is not in {whose}{detail}{hint}")


def write_labels(
    path: str | os.PathLike[str], rows: Iterable[tuple[str, str]], header: tuple[str, str] = ("filename", "label")
) -> None:
    """Write ``rows`` as a seed-format CSV, atomically."""

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue())


def split_labels(
    csv_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    val_fraction: float = 0.2,
    seed: int = 0,
    test_fraction: float = 0.0,
    header: bool = True,
) -> dict[str, int]:
    """Shuffle a label file's rows with ``seed`` and write ``train.csv``, ``val.csv`` (and ``test.csv``) into ``out``.

    ``val.csv`` picks validation rows (which epoch to keep, the temperature); ``test.csv``, when
    ``test_fraction`` is given, holds out rows that no choice of the run has seen, to judge it.
    The validation rows of a seed are the same with or without a test share. File names are kept
    as written (an absolute one stays absolute), so every file works with the original
    ``--imgs_folder``. Outputs of an earlier split in ``out`` are replaced (a stale ``test.csv`` is
    removed: it would overlap this ``train.csv``), but never the label file being split.
    Returns the rows per file.
    """
    import random

    for flag_name, share in (("--val", val_fraction), ("--test", test_fraction)):
        if not 0 <= share < 1 or (flag_name == "--val" and share == 0):
            raise PwocrError(f"{flag_name} {share}: expected a fraction between 0 and 1")
    csv_path = Path(csv_path)
    # Relative to ".", each path is the name as the file writes it.
    rows = [(str(item.path), item.label) for item in read_labels(csv_path, ".", header=header)]
    random.Random(seed).shuffle(rows)
    n_val = max(1, round(len(rows) * val_fraction))
    n_test = max(1, round(len(rows) * test_fraction)) if test_fraction else 0
    if n_val + n_test >= len(rows):
        raise PwocrError(f"{csv_path}: too few rows ({len(rows)}) to split")
    parts = {"train": rows[n_val + n_test :], "val": rows[:n_val]}
    if n_test:
        parts["test"] = rows[n_val : n_val + n_test]
    folder = _split_folder(csv_path, out)
    for name, part in parts.items():
        write_labels(folder / f"{name}.csv", part)
    if not n_test:
        # A test.csv of an earlier split would overlap this train.csv.
        (folder / "test.csv").unlink(missing_ok=True)
    return {name: len(part) for name, part in parts.items()}


def _split_folder(csv_path: Path, out: str | os.PathLike[str]) -> Path:
    """``out``, created, once sure it is a folder and that no output (written or removed) is ``csv_path``."""
    folder = Path(out)
    for name in ("train.csv", "val.csv", "test.csv"):
        target = folder / name
        if target.is_file() and os.path.samefile(target, csv_path):
            raise PwocrError(
                f"{csv_path}: --out {out} would replace it (it is the split's {name}); split into another folder"
            )
    return make_folder(folder)
