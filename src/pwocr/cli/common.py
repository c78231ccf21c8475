"""Pieces every ``pwocr`` subcommand module shares: the parser class, argparse types, shared flags.

Each subcommand lives in its own module (``train``, ``read``, ``serve``, ``tools``) with a
``register(subparsers)`` function that adds its parser and sets ``handler``; ``main`` only
assembles them. Modules import heavy libraries (torch, onnxruntime) inside handlers, so
``pwocr --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions and examples keep their line breaks; every flag's help shows its default."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


class Parser(argparse.ArgumentParser):
    """Every command's --help shows each flag's default and keeps the examples' layout."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "on"}:
        return True
    if value in {"0", "false", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type for whole numbers of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive = at_least(1)
non_negative = at_least(0)


def add_use_cuda(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--use_cuda",
        "--cuda",
        dest="use_cuda",
        type=boolean,
        nargs="?",
        const=True,
        default=False,
        metavar="BOOL",
        help="use a CUDA GPU if there is one (--use_cuda alone means true)",
    )


def add_checkpoint(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--checkpoint_path",
        "--checkpoint",
        dest="checkpoint",
        default="default",
        metavar="FILE",
        help="model: a .safetensors checkpoint, an exported .onnx file, or 'default' (the shipped model)",
    )


def examples(*lines: str) -> str:
    """An epilog of example commands, one per line."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
