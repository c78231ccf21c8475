"""The distillation teacher: the frozen starting model that learning without forgetting holds the student to.

A fine-tune keeps the stem and the first blocks of the conv stack frozen (all of them by default),
and the teacher is the model the student started from, so those layers hold the same weights in
both. They have no batch norm and no dropout, so their output is the same in both: the teacher
reads on from what the student computed there instead of running the conv stack a second time,
which is most of what a teacher costs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from pwocr.errors import PwocrError
from pwocr.model.crnn import CRNN
from pwocr.model.surgery import lcnet_of

logger = logging.getLogger(__name__)


class Teacher:
    """Reads lines as the starting model does; ``shared_blocks`` (stem plus that many blocks, when
    the student has them frozen at the teacher's weights) are taken from the student's own pass."""

    def __init__(self, model: CRNN, student: CRNN | None = None, frozen_blocks: int = -1) -> None:
        self.model = model.eval().requires_grad_(False)
        self.shared_blocks = _shared_blocks(model, student, frozen_blocks) if student is not None else -1
        self._kept: torch.Tensor | None = None
        self._capturing = False
        if self.shared_blocks >= 0:
            assert student is not None
            lcnet_of(student).after_blocks(self.shared_blocks).register_forward_hook(self._keep)

    def _keep(self, module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
        if self._capturing:
            self._kept = output

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Around the student's forward pass: keep its frozen layers' output for :meth:`read`."""
        self._capturing, self._kept = self.shared_blocks >= 0, None
        try:
            yield
        finally:
            self._capturing = False

    @torch.no_grad()
    def read(self, images: torch.Tensor, lines: torch.Tensor) -> torch.Tensor:
        """The teacher's log-probabilities (time x lines x classes) for the ``lines`` (a mask) of ``images``."""
        kept, self._kept = self._kept, None
        if kept is None:
            return self.model(images[lines]).float()
        return self.model.forward_after_blocks(kept[lines], self.shared_blocks).float()


def _shared_blocks(teacher: CRNN, student: CRNN, frozen_blocks: int) -> int:
    """How many conv blocks (after the stem) the two models provably compute alike; -1: not even the stem."""
    if frozen_blocks < 0 or teacher.refiner is not None:
        return -1  # nothing frozen, or a refiner that reads from inside the stack: read each line whole
    try:
        mine, theirs = lcnet_of(student), lcnet_of(teacher)
    except PwocrError:
        return -1
    same = all(
        torch.equal(a, b)
        for a, b in zip(mine.prefix_parameters(frozen_blocks), theirs.prefix_parameters(frozen_blocks))
    )
    if not same:
        logger.debug("the student's frozen layers differ from the teacher's: the teacher reads each line whole")
        return -1
    return frozen_blocks
