"""The resumable state's one schema: today's files, older unversioned ones and newer ones."""

import pytest
import torch

from pwocr.errors import PwocrError
from pwocr.training.state import SCHEMA_VERSION, Position, TrainingState


def _state() -> TrainingState:
    return TrainingState(
        model={"w": torch.ones(2)},
        model_config={"alphabet": "ab"},
        train_config={"epochs": 3},
        optimizer={},
        scheduler={"total_steps": 10},
        position=Position(epoch=1, batch=2, step=7, best=0.5, best_epoch=1, epoch_loss=1.5, epoch_seen=4),
        world=2,
        rng={"torch": torch.get_rng_state()},
    )


def test_state_reads_back_what_it_wrote():
    raw = _state().to_dict()
    assert raw["version"] == SCHEMA_VERSION and (raw["epoch"], raw["batch"], raw["step"]) == (1, 2, 7)
    back = TrainingState.from_dict(raw, "x.pt")
    assert back.position == _state().position and back.world == 2 and torch.equal(back.model["w"], torch.ones(2))


def test_unversioned_state_of_earlier_pwocr_resumes():
    """Version 1: today's keys without ``version``; its first writes also lacked the in-epoch position."""
    raw = _state().to_dict()
    del raw["version"]
    assert TrainingState.from_dict(raw, "x.pt").position.batch == 2
    oldest = {k: v for k, v in raw.items() if k not in ("batch", "best_epoch", "epoch_loss", "epoch_seen", "world")}
    oldest["torch_rng"] = oldest.pop("rng")["torch"]
    state = TrainingState.from_dict(oldest, "x.pt")
    assert (state.position.batch, state.position.best_epoch, state.world) == (0, 0, 1)
    assert set(state.rng) == {"torch"}


def test_newer_or_incomplete_state_is_one_line():
    raw = _state().to_dict()
    with pytest.raises(PwocrError, match=r"x\.pt: training state version 99"):
        TrainingState.from_dict({**raw, "version": 99}, "x.pt")
    del raw["optimizer"]
    with pytest.raises(PwocrError, match=r"x\.pt: not a pwocr training checkpoint \(no optimizer"):
        TrainingState.from_dict(raw, "x.pt")


def test_state_written_before_the_fine_tune_start_scores_resumes_without_them():
    raw = _state().to_dict()
    for name in ("start_real", "start_guard"):
        del raw[name]
    position = TrainingState.from_dict(raw, "x.pt").position
    assert (position.start_real, position.start_guard, position.step) == (-1.0, -1.0, 7)
