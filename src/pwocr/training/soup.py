"""A model soup: fine-tunes of one model that differ in their seed alone, averaged (``--soup N``).

Each fine-tune of the shipped model on a few hundred photos learns the photos and forgets a little
of what the start read; each forgets a different little, as its synthetic lines, augmentations and
order differ with the seed. The runs start from the same weights and stay near them, so the
average of their kept weights is itself a good model (Wortsman et al. 2022, "Model soups"): it
keeps what the members agree on, the user's set, and averages away where each one drifted.
Measured on ``plates-eu-br`` (README, "Train and fine-tune"), three members read as many test
plates as their best member or one more, and kept the synthetic guard within 1.3 points of the
shipped model where single runs lost up to 3.6.

The members are ordinary runs in ``out/member-K`` (each resumable on its own, each choosing its own
kept epoch). The soup averages their ``best.safetensors`` into ``out/best.safetensors``, then fits
the temperature and the format prior on the average as a single run fits them on its kept
weights, and writes ``summary.json``. ``out/soup.json`` keeps the run's settings for ``--resume``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pwocr.checkpoints import average_checkpoints, save_weights
from pwocr.errors import PwocrError
from pwocr.io import atomic_write
from pwocr.training import setup
from pwocr.training.config import TrainConfig
from pwocr.training.distributed import Ranks
from pwocr.training.run import finish_run
from pwocr.training.run_folder import load_resumable
from pwocr.training.state import Position

logger = logging.getLogger(__name__)

#: The soup's settings, in its --out: what ``--resume`` continues.
PLAN = "soup.json"


def is_soup_folder(out: Path) -> bool:
    """Whether ``out`` holds a soup's run (its members and plan) rather than a single run."""
    return (out / PLAN).is_file()


def holds_a_soup(out: Path) -> bool:
    """Whether ``out`` holds any part of a soup's run: a new run there would mix with it."""
    return is_soup_folder(out) or any(p.is_dir() for p in out.glob("member-*"))


def save_plan(config: TrainConfig) -> None:
    atomic_write(Path(config.out) / PLAN, json.dumps(config.to_dict(), indent=2) + "\n")


def load_plan(out: Path) -> dict[str, Any]:
    """The saved settings of the soup in ``out`` (``TrainConfig.to_dict``'s form)."""
    try:
        return json.loads((out / PLAN).read_text())
    except (OSError, ValueError) as e:
        raise PwocrError(f"{out / PLAN}: not a soup's settings ({e})") from None


def member_config(config: TrainConfig, index: int) -> TrainConfig:
    """Member ``index`` (from 0): the soup's run with seed ``seed + index``, in ``out/member-{index + 1}``.

    A member keeps its start's temperature and no format prior: both are fitted on the average.
    """
    assert config.seed is not None, "a soup's seed is drawn before its members start"
    name = f"member-{index + 1}"
    return dataclasses.replace(
        config,
        soup=1,
        soup_member=index + 1,
        seed=config.seed + index,
        out=str(Path(config.out) / name),
        logs=str(Path(config.logs) / name),
        calibrate=False,
        format_prior=False,
        resume=False,
        resume_overrides=(),
    )


def finish_soup(config: TrainConfig, seconds: float) -> dict[str, Any]:
    """Average the members' kept weights into ``out/best.safetensors``, fit its temperature and format
    prior on the validation sets, report what it changed, and write ``summary.json``; returns the summary."""
    out = Path(config.out)
    members = [member_config(config, k) for k in range(config.soup)]
    kept = [Path(member.out) / "best.safetensors" for member in members]
    for path in kept:
        if not path.is_file():
            raise PwocrError(f"{path}: this member kept no weights; --resume finishes its run")
    averaged = average_checkpoints(kept, [1 / len(kept)] * len(kept))
    save_weights(averaged, out / "best.safetensors")
    logger.info("averaged the kept weights of %d members into %s", len(kept), out / "best.safetensors")
    # The validation sets of the first member: its seed is the soup's, and the synthetic guard set
    # is drawn from the seed, so its scores of the starting model are the "before" of the average.
    with _quiet(setup.logger):  # the rows skipped and the data's mix: each member has said them
        train_items, val_items, _, _ = setup.read_items(config)
        data = setup.run_data(config, averaged.config, train_items, val_items, Ranks())
    state, _ = load_resumable(Path(members[0].out))
    position = Position(start_real=state.position.start_real, start_guard=state.position.start_guard)
    ending = finish_run(config, out, data, position)
    summary = _summary(config, members, ending, seconds)
    atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    logger.info(
        "done in %.0f s: the average of %d fine-tunes; wrote %s", seconds, len(members), out / "best.safetensors"
    )
    return summary


@contextmanager
def _quiet(chatty: logging.Logger) -> Iterator[None]:
    """``chatty`` says nothing below an error while the block runs."""
    level = chatty.level
    chatty.setLevel(logging.ERROR)
    try:
        yield
    finally:
        chatty.setLevel(level)


def _summary(config: TrainConfig, members: list[TrainConfig], ending: dict[str, Any], seconds: float) -> dict[str, Any]:
    """``summary.json`` of a soup: each member's run in brief, then what the average reads."""
    runs = []
    for member in members:
        path = Path(member.out) / "summary.json"
        run = json.loads(path.read_text()) if path.is_file() else {}
        keys = ("best_epoch", "epochs_run", "kept_by", "best", "history", "seconds")
        runs.append({"folder": member.out, **{key: run.get(key) for key in keys}})
    return {
        "soup": len(members),
        "seeds": [member.seed for member in members],
        "members": runs,
        "kept_by": f"the average of the {len(members)} members' kept weights (each member's epoch kept by its own "
        "run: members[].kept_by)",
        "epochs": config.epochs,
        **ending,
        "synth_ratio": config.effective_synth_ratio(),
        "seconds": round(seconds, 1),
        "files": sorted(str(Path(config.out) / name) for name in ("best.safetensors", "summary.json", PLAN))
        + [member.out for member in members],
    }
