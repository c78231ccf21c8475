"""Rank 0's writes into the run folder: the resumable state, the last weights and the best ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from pwocr.checkpoints import save_weights
from pwocr.model.crnn import CRNN
from pwocr.training.config import TrainConfig
from pwocr.training.distributed import Ranks
from pwocr.training.run_folder import save_resumable
from pwocr.training.state import Position, TrainingState, rng_states


@dataclass
class Checkpointer:
    """Saves one run's model, optimiser and schedule; on ranks other than 0, saves nothing."""

    config: TrainConfig
    model: CRNN
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ranks: Ranks
    written: set[str] = field(default_factory=set)  # file names, for the summary

    @property
    def out(self) -> Path:
        return Path(self.config.out)

    def save_state(self, position: Position) -> None:
        """The resumable state at ``position`` (``step-N.pt``, ``last.pt``) and ``last.safetensors``."""
        if not self.ranks.is_main:
            return
        save_weights(self.model, self.out / "last.safetensors")
        state = TrainingState(
            model=self.model.state_dict(),
            model_config=self.model.config.to_dict(),
            train_config=self.config.to_dict(),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            position=Position(**vars(position)),
            world=self.ranks.world,
            rng=rng_states(),
        )
        path = save_resumable(self.out, state, self.config.keep_last)
        self.written.update({"last.safetensors", "last.pt", path.name})

    def save_best(self) -> None:
        if self.ranks.is_main:
            save_weights(self.model, self.out / "best.safetensors")
            self.written.add("best.safetensors")
