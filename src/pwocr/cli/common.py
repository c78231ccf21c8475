"""Pieces every ``pwocr`` subcommand module shares: the parser class, argparse types, shared flags.

Each subcommand lives in its own module (``train``, ``read``, ``serve``, ``tools``) with a
``register(subparsers)`` function that adds its parser and sets ``handler``; ``main`` only
assembles them. Modules import heavy libraries (torch, onnxruntime) inside handlers, so
``pwocr --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn


class HelpFormatter(argparse.HelpFormatter):
    """Help that reads well in a terminal up to 100 columns wide.

    Descriptions are wrapped to the terminal, example blocks (indented lines) keep their layout, and
    a flag's help ends with its default when it has a meaningful one (not for switches or unset values).
    """

    def __init__(self, prog: str) -> None:
        width = min(shutil.get_terminal_size((100, 24)).columns, 100) - 2
        super().__init__(prog, max_help_position=30, width=width)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            # argparse measures commands without their extra indent, and then wraps the longest ones.
            longest = max((len(a.metavar or a.dest) for a in action._get_subactions()), default=0)
            needed = longest + self._current_indent + self._indent_increment
            self._action_max_length = max(self._action_max_length, needed)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.split("\n\n"):
            if any(line.startswith(" ") for line in block.splitlines()[1:]) or block.startswith("examples:"):
                blocks.append(textwrap.indent(block, indent))  # an example block: as written
            else:
                blocks.append(
                    textwrap.fill(" ".join(block.split()), width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n\n".join(blocks)

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        default = action.default
        if (
            "%(default)" in help_text
            or "default:" in help_text
            or default is None
            or default is False
            or default is True
            or default == argparse.SUPPRESS
            or action.nargs == 0
            or isinstance(action, argparse._StoreConstAction)
            or not action.option_strings
        ):
            return help_text
        return f"{help_text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Every command's --help shows each flag's default and keeps the examples' layout.

    A command that needs an extra says so (``needs_extra="train"``): without it, any use of the
    command, ``--help`` included, is the one line that names the extra to install.
    """

    def __init__(self, *args, needs_extra: str | None = None, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.needs_extra = needs_extra

    def parse_known_args(self, args=None, namespace=None):
        if self.needs_extra:
            from pwocr.extras import require

            require(self.needs_extra, self.prog)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:  # the command's parser says it, so that the error points to that command's --help
            self.command_parser(parsed).error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed

    def command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The parser of the subcommand ``parsed`` ran (this one when there is none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
                if chosen is not None:
                    return chosen
        return self

    def error(self, message: str) -> NoReturn:
        """A bad option is one line that names it and where the options are listed, not the whole usage."""
        problem = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {problem} ({self.prog} --help lists the options)\n")


def file_name(text: str) -> str:
    """An argparse type for a file to write: an empty name (``-o ""``) would silently write nowhere."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got an empty one")
    return text


def output_file(suffix: str) -> Callable[[str], str]:
    """An argparse type for the one file a command writes, in the format that ``suffix`` names.

    A folder (``--out models/``) would otherwise become a file of that name, and another suffix
    (``average --out x.onnx``) a file that every reader opens by its suffix as the wrong format.
    """

    def parse(text: str) -> str:
        path = Path(file_name(text))
        if text.endswith(("/", os.sep)) or path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{text} is a folder: name the {suffix} file to write, e.g. {path / ('model' + suffix)}"
            )
        if path.suffix.lower() != suffix:
            raise argparse.ArgumentTypeError(
                f"{text}: name the file {suffix}, the format written, e.g. {path.with_suffix(suffix)}"
            )
        return text

    return parse


def boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "on"}:
        return True
    if value in {"0", "false", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type for whole numbers of at least ``minimum`` (and at most ``maximum``, if given)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


positive = at_least(1)
non_negative = at_least(0)


def add_use_cuda(group: argparse._ActionsContainer, default: object = False, help_suffix: str = "") -> None:
    """``--use_cuda [BOOL]``, the seed's flag; ``train`` passes ``argparse.SUPPRESS`` to see whether it was given."""
    group.add_argument(
        "--use_cuda",
        "--cuda",
        dest="use_cuda",
        type=boolean,
        nargs="?",
        const=True,
        default=default,
        metavar="BOOL",
        help="use a CUDA GPU if there is one (--use_cuda alone means true)" + help_suffix,
    )


def add_checkpoint(group: argparse._ActionsContainer, onnx: bool = True) -> None:
    kinds = "a .safetensors checkpoint or an exported .onnx file" if onnx else "a .safetensors checkpoint"
    group.add_argument(
        "--checkpoint_path",
        "--checkpoint",
        dest="checkpoint",
        default="default",
        metavar="FILE",
        help=f"model: {kinds} (default: the shipped model)",
    )


def examples(*lines: str) -> str:
    """An epilog of example commands, one per line; a long one continues on the next with a backslash."""
    out = []
    for line in lines:
        parts = textwrap.wrap(line, 94, break_on_hyphens=False, break_long_words=False)
        out.append("  " + " \\\n      ".join(parts))
    return "examples:\n" + "\n".join(out)
