"""How ``pwocr recognize`` writes its results: for people (text), for programs (JSON, CSV, TSV), or bare.

One ``ResultWriter`` per run takes a result per input as it is read (a ``Reading`` or a
``Skipped``) and writes it at once, so a long folder shows progress and a killed run keeps what
was read. Files are written to a partial file beside the target and renamed when complete.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pwocr.errors import PwocrError
from pwocr.io import PartialFile

if TYPE_CHECKING:
    from pwocr.decoding.confidence import CharConfidence
    from pwocr.inference.recognizer import Reading, Skipped
    from pwocr.layout.photo import PhotoReading

    Result = Reading | PhotoReading | Skipped

FORMATS = ("text", "json", "jsonl", "csv", "tsv")

#: CSV/TSV columns: the seed's ``img,password``, then the reading's probability and what happened.
COLUMNS = ("img", "password", "confidence", "status")

logger = logging.getLogger(__name__)


def probability_text(p: float) -> str:
    """``p`` as a percentage to a tenth, never rounded to a certainty it is not: ``<0.1%`` and ``>99.9%`` at the ends.

    A candidate at 0.04% is still a string the model offers, and a reading at 99.96% is not sure;
    the page's ``percent`` (``static/app.js``) writes probabilities the same way.
    """
    if p < 0.0005:
        return "<0.1%"
    if p >= 0.9995:
        return ">99.9%"
    return f"{p:.1%}"


def format_text(reading: Reading, show_raw: bool = False) -> str:
    """The reading, its probability, the unsure characters marked ``^`` with their rivals, then the next candidates."""
    raw = f", raw output: {reading.raw}" if show_raw else ""
    lines = [f"{reading.image}: {reading.text}  ({probability_text(reading.confidence)}{raw})"]
    uncertain = reading.uncertain
    if uncertain:
        indent = " " * (len(reading.image) + 2)
        marks = "".join("^" if i in uncertain else " " for i in range(len(reading.text))).rstrip()
        rivals = ", ".join(_unsure(reading.chars[i]) for i in uncertain if reading.chars[i].alternatives)
        lines.append(f"{indent}{marks}  unsure: {rivals}")
    for rank, candidate in enumerate(reading.candidates[1:], start=2):
        lines.append(f"  {rank}. {candidate.text}  ({probability_text(candidate.confidence)})")
    return "\n".join(lines)


def _unsure(char: CharConfidence) -> str:
    """``'l' or 'I'``: the character and its look-alikes the model finds nearly as likely, else its closest rival."""
    others = [c for c, _ in char.lookalikes] or [char.alternatives[0][0]]
    return " or ".join(repr(c) for c in [char.char, *others])


def format_photo(photo: PhotoReading, show_raw: bool = False) -> str:
    """The password first (as a line reading, with why it was picked), then every line found, in reading order."""
    out = []
    if photo.password is None:
        out.append(f"{photo.image}: no password found ({len(photo.lines)} lines of text)")
    else:
        out.append(format_text(photo.password.reading, show_raw))  # the password's reading is named as the photo
        out.append(f"  picked line {photo.password.line}: {photo.password.why}")
    if photo.turned:
        out.append(f"  read turned {photo.turned} degrees counterclockwise: its text stood sideways or upside down")
    for pair in photo.pairs[1:]:  # a sign listing several networks: each one's password
        network = f" ({pair.network})" if pair.network else ""
        out.append(f"  also line {pair.line}{network}: {pair.reading.text}  ({pair.reading.confidence:.0%})")
    others = {pair.line for pair in photo.pairs[1:]}
    for i, line in enumerate(photo.lines):  # numbered from 0 everywhere: here, --draw, the JSON's "line", the page
        mark = "  <- the password" if photo.password is not None and i == photo.password.line else ""
        mark = mark or ("  <- another network's password" if i in others else "")
        out.append(f"  [{i}] {line.words or line.reading.text}  ({line.reading.confidence:.0%}){mark}")
    return "\n".join(out)


#: A file name byte that is not UTF-8, as Python decodes it (``os.fsdecode``: a lone surrogate).
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def to_json(obj: object) -> str:
    """``obj`` as one line of JSON that is valid UTF-8 even when a file name is not.

    A name's undecodable bytes stay as ``\\udcXX`` escapes: ``json.loads`` then ``os.fsencode``
    give back the exact bytes, so a program can reopen the file.
    """
    text = json.dumps(obj, ensure_ascii=False)
    return _UNDECODABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: First characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A CSV/TSV cell that a spreadsheet shows as text: one starting a formula gets a leading ``'``.

    A file named ``=HYPERLINK(...).png``, or a password read as ``-2+3``, would otherwise run as
    a formula when the CSV is opened. Programs that want the exact strings read the JSON, or strip
    one leading ``'`` from a cell whose second character is one of ``FORMULA_STARTS``.
    """
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


class ResultWriter:
    """Writes each result to a stream as it comes, in one of ``FORMATS`` or bare (``quiet``)."""

    def __init__(
        self,
        stream: TextIO,
        fmt: str = "text",
        quiet: bool = False,
        show_raw: bool = False,
        names_relative_to: Path | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise PwocrError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        self.stream, self.format, self.quiet, self.show_raw = stream, fmt, quiet, show_raw
        self.names_relative_to = names_relative_to
        self._csv = None
        self._first = True
        if quiet:
            return
        if fmt in ("csv", "tsv"):
            self._csv = csv.writer(stream, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
            self._csv.writerow(COLUMNS)
        elif fmt == "json":
            stream.write("[")

    def write(self, result: Result) -> None:
        from pwocr.inference.recognizer import Skipped
        from pwocr.layout.photo import PhotoReading

        if isinstance(result, PhotoReading):
            self._write_photo(result)
            return
        skipped = isinstance(result, Skipped)
        if self.quiet:
            if not skipped and result.text:  # the password alone, one per line, for pipes (`| xclip`)
                self.stream.write(result.text + "\n")
        elif self._csv is not None:
            if skipped:
                self._row(result.image, "", "", f"skipped: {_reason(result)}")
            else:
                self._row(result.image, result.text, f"{result.confidence:.6f}", "ok")
        elif self.format in ("json", "jsonl"):
            obj = {"image": result.image, "error": _reason(result)} if skipped else result.as_dict(detail=True)
            text = to_json(obj)
            if self.format == "json":
                text = ("\n  " if self._first else ",\n  ") + text
            else:
                text += "\n"
            self.stream.write(text)
        elif not skipped:  # text: a skipped file is already reported on stderr
            self.stream.write(format_text(result, self.show_raw) + "\n")
        self._first = False
        self.stream.flush()

    def _write_photo(self, photo: PhotoReading) -> None:
        password = photo.password.reading if photo.password else None
        if self.quiet:
            if password is not None:
                self.stream.write(password.text + "\n")
        elif self._csv is not None:
            if password is None:
                self._row(photo.image, "", "", "ok: no password found")
            else:
                self._row(photo.image, password.text, f"{password.confidence:.6f}", "ok")
        elif self.format in ("json", "jsonl"):
            text = to_json(photo.as_dict())
            self.stream.write((("\n  " if self._first else ",\n  ") + text) if self.format == "json" else text + "\n")
        else:
            self.stream.write(format_photo(photo, self.show_raw) + "\n")
        self._first = False
        self.stream.flush()

    def _row(self, image: str, *cells: str) -> None:
        assert self._csv is not None
        self._csv.writerow([spreadsheet_safe(cell) for cell in (self._name(image), *cells)])

    def _name(self, image: str) -> str:
        """The ``img`` column: relative to the folder read (as the seed's prediction.csv), else as given."""
        if self.names_relative_to is not None:
            try:
                return Path(image).relative_to(self.names_relative_to).as_posix()
            except ValueError:
                pass
        return image

    def close(self) -> None:
        if self.format == "json" and not self.quiet:
            self.stream.write("\n]\n" if not self._first else "]\n")
        self.stream.flush()


def _reason(skipped: Skipped) -> str:
    """The reason without the file name that starts the one-line message (the row already names it)."""
    prefix = f"{skipped.image}: "
    return skipped.reason[len(prefix) :] if skipped.reason.startswith(prefix) else skipped.reason


class TerminalClosed(Exception):
    """Standard output went away (``| head -1`` closed the pipe) while it alone took the readings."""


class RunOutputs:
    """Where a run writes each result as it comes: the terminal, a file (``PartialFile``), or both.

    A file that cannot be written, when opened or at any write (a full disk, a removed drive), is
    given up in one line (logged as an error), its target left as it was, and the run goes on. When the
    readings also go to the terminal, the partial file is deleted; when the file alone had them,
    it is kept with what was written before the failure, and the terminal takes the rest. A
    terminal that cannot be written (a closed pipe, a full disk) is given up the same way while a
    file takes every reading; alone, it ends the run (``TerminalClosed`` for a closed pipe, else a
    one-line error). A file that would replace one of the images read (``is_input``) is not
    committed: its readings stay in the partial file. ``failed`` tells the caller to end with an error.
    """

    def __init__(
        self,
        terminal: Callable[[], ResultWriter] | None,
        target: Path | None,
        file_writer: Callable[[TextIO], ResultWriter],
        fallback: Callable[[], ResultWriter],
        is_input: Callable[[Path], bool] = lambda path: False,
    ) -> None:
        self.fallback, self.is_input = fallback, is_input
        self.file: PartialFile | None = None
        self.failed = False
        self._in_file = 0  # results the file alone holds (no terminal beside it)
        self.terminal: ResultWriter | None = None
        if terminal is not None:
            self._on_terminal(lambda: self._open_terminal(terminal))
        if target is not None:
            try:
                self.file = PartialFile(target)
                self.file_writer = file_writer(self.file.stream)
            except PwocrError as e:
                self._give_up(str(e))
            except OSError as e:
                self._give_up(f"{target}: cannot write ({e.strerror or e})")

    def write(self, result: Result) -> None:
        if self.terminal is not None:
            terminal = self.terminal
            self._on_terminal(lambda: terminal.write(result))
        if self.file is None:
            return
        try:
            self.file_writer.write(result)
        except OSError as e:
            self._give_up(f"{self.file.target}: cannot write ({e.strerror or e}); it was left as it was")
            assert self.terminal is not None
            self.terminal.write(result)
            return
        if self.terminal is None:
            self._in_file += 1

    def close(self) -> Path | None:
        """Finish every output; the file written, if one was."""
        written = None
        if self.file is not None and self.is_input(self.file.target):
            self.file.discard(keep=True)
            self.failed = True
            logger.error(
                "error: %s is one of the images read: not replaced; the readings are in %s",
                self.file.target,
                self.file.partial,
            )
            self.file = None
        if self.file is not None:
            try:
                self.file_writer.close()
                self.file.commit()
                written = self.file.target
            except OSError as e:
                self._give_up(f"{self.file.target}: cannot write ({e.strerror or e}); it was left as it was")
        if self.terminal is not None:
            terminal = self.terminal
            self._on_terminal(terminal.close)
        return written

    def _open_terminal(self, terminal: Callable[[], ResultWriter]) -> None:
        self.terminal = terminal()  # a JSON terminal writes its "[" at once

    def _on_terminal(self, action: Callable[[], object]) -> None:
        """Run a write to the terminal; if the terminal fails, go on with the file alone, or end the run."""
        try:
            action()
        except OSError as e:
            self.terminal = None
            if self.file is None:
                if isinstance(e, BrokenPipeError):
                    raise TerminalClosed from None
                raise PwocrError(f"standard output: cannot write ({e.strerror or e})") from None
            if not isinstance(e, BrokenPipeError):
                self.failed = True
                logger.error(
                    "error: standard output: cannot write (%s); the readings go on into %s",
                    e.strerror or e,
                    self.file.target,
                )

    def _give_up(self, reason: str) -> None:
        self.failed = True
        if self.file is not None and self.terminal is None and self._in_file:
            self.file.discard(keep=True)
            logger.error(
                "error: %s; the %d readings before are in %s, the rest follow here",
                reason,
                self._in_file,
                self.file.partial,
            )
        else:
            if self.file is not None:
                self.file.discard()
            logger.error("error: %s; printing the readings only", reason)
        self.file = None
        if self.terminal is None:
            self.terminal = self.fallback()
