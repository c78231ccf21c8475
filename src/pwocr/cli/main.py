"""The ``pwocr`` command: argument parsing, then one library call per subcommand.

Each subcommand lives in its own module of this package and registers its parser. Every seed flag
keeps its seed name (``--epochs_num``, ``--imgs_folder``...) beside a modern one. A ``PwocrError``
is printed as one line on stderr with exit code 2; no traceback reaches the user. So is a
command whose optional extra is not installed (``pwocr train`` without ``pwocr[train]``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import signal
import sys
import warnings
from collections.abc import Sequence

from pwocr.cli import read, serve, tools, train
from pwocr.cli.common import Parser, examples
from pwocr.cli.output import TerminalClosed
from pwocr.errors import PwocrError
from pwocr.messages import print_messages


def build_parser() -> argparse.ArgumentParser:
    from pwocr import __version__

    parser = Parser(
        prog="pwocr",
        description="Read passwords out of photos: the exact string, the characters it is unsure of, "
        "and the next most likely readings.",
        epilog=examples(
            "pwocr recognize photo.jpg",
            "pwocr recognize photo.jpg --candidates 3 --charset alnum --length 12",
            "pwocr recognize --imgs_folder photos/          # writes photos/prediction.csv",
            "pwocr evaluate --val_file photos/labels.csv",
            "pwocr <command> --help                         # that command's flags and examples",
        ),
    )
    parser.add_argument("--version", action="version", version=f"pwocr {__version__}")
    sub = parser.add_subparsers(
        title="commands", dest="command", required=True, parser_class=Parser, metavar="<command>"
    )
    read.register(sub)
    train.register(sub)
    tools.register(sub)
    serve.register(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Libraries' warnings (torch's, Pillow's) as one line each, not two lines of someone else's source."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"pwocr: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    warnings.showwarning = _one_line_warning
    if isinstance(sys.stdout, io.TextIOWrapper):
        # File names that are not UTF-8 reach stdout as their own bytes, as Python does in the C
        # locale, instead of a UnicodeEncodeError after the first reading.
        sys.stdout.reconfigure(errors="surrogateescape")
    if sys.stdout is None:  # started with standard output closed (`>&-`): writing to it fails in one line
        sys.stdout = _ClosedOutput()
    try:
        args = build_parser().parse_args(argv)  # a command whose extra is missing stops here, in one line
        # pwocr's log messages, one line each on stderr, as each command has always printed them:
        # after "pwocr: ", or bare where the command says so (train, serve).
        print_messages(getattr(args, "message_prefix", "pwocr: "))
        return int(args.handler(args))
    except PwocrError as e:
        print(f"pwocr: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pwocr: interrupted", file=sys.stderr)
        return 130
    except (TerminalClosed, BrokenPipeError):
        # The reader of the pipe has gone (`| head -1`): end quietly, as a command killed by SIGPIPE,
        # and let nothing flush into the closed pipe at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


class _ClosedOutput(io.TextIOBase):
    """Standard output when the process started without one."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


if __name__ == "__main__":
    sys.exit(main())
