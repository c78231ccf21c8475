"""pwocr says what it is doing through ``logging``, under the ``pwocr`` logger; the library never prints.

A program that runs pwocr chooses to show the messages: the ``pwocr`` command, and each training
process it launches, call ``print_messages``, which prints each one on stderr as a bare line (after
the command's prefix), as the command has always printed them. Messages name files, counts and
settings, never a reading nor what a file holds: a password photo is a secret.
"""

import logging
import sys


class _StderrLines(logging.Handler):
    """Each record as one line on the current ``sys.stderr`` (a progress bar's proxy, a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


def print_messages(prefix: str = "", level: int = logging.INFO) -> None:
    """Print pwocr's messages of ``level`` and above on stderr as ``prefix`` + message; calling again replaces the last call's."""
    logger = logging.getLogger("pwocr")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrLines)]:
        logger.removeHandler(handler)
    handler = _StderrLines()
    handler.setFormatter(logging.Formatter(prefix.replace("%", "%%") + "%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
