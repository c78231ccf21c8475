"""Training and fine-tuning: real labelled data, a fresh synthetic stream, or a mix of both, on one process or many.

One call, ``train(TrainConfig(...))``, checks every setting and label first, then builds the model
(fresh, or from a pretrained checkpoint whose alphabet it keeps), trains with a one-cycle schedule,
validates every ``val_each`` epochs, keeps the best and the last weights, logs to TensorBoard, and
finally re-fits the confidence temperature and writes a summary of the run. A resumable checkpoint
is written every ``checkpoint_every`` steps, at every epoch end and on SIGINT/SIGTERM; ``resume``
continues from it exactly where it stopped, inside an epoch too: same weights, optimiser,
schedule, random states and data position. Under torchrun each rank trains on its shard of the
data with gradients all-reduced by DistributedDataParallel; rank 0 alone writes.

This module decides where the run goes (this process, or ``nproc`` launched ones); what each
process does is ``run.run_rank``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from pwocr.errors import PwocrError
from pwocr.messages import print_messages
from pwocr.training import distributed, soup
from pwocr.training.config import RESUME_OVERRIDABLE, TrainConfig, flag, has_checkpoint
from pwocr.training.loop import EpochReport
from pwocr.training.run import run_rank
from pwocr.training.run_folder import load_resumable, locked_run_folder
from pwocr.training.setup import read_items
from pwocr.training.state import TrainingState

__all__ = ["EpochReport", "TrainConfig", "train"]

logger = logging.getLogger(__name__)


def train(config: TrainConfig, progress: bool = True) -> list[EpochReport]:
    """Run (or resume) a training run; returns one report per epoch run in this call.

    Every setting and label is checked before any work starts; a problem is a one-line
    ``PwocrError``. With ``config.nproc > 1`` outside torchrun, the run is launched in that many
    processes on this machine and rank 0's reports are returned. What the run does (each epoch's
    scores, files written, rows skipped) is logged under ``pwocr``; ``pwocr train`` prints it.
    A run holds its ``out`` folder's lock throughout (``locked_run_folder``): a second one into the
    same folder is refused with a one-line ``PwocrError``.
    """
    config.check()
    # One lock for the whole run: this process's, or rank 0's under torchrun; ``--nproc`` ranks are
    # started below this one and never take it. Taking it makes the folder, or says in one line why not.
    with locked_run_folder(Path(config.out), hold=distributed.is_main_process()):
        return _train_locked(config, progress)


def _train_locked(config: TrainConfig, progress: bool) -> list[EpochReport]:
    """``train`` in the folder it has locked."""
    if config.resume and soup.is_soup_folder(Path(config.out)):
        plan = _resumed_config(config, soup.load_plan(Path(config.out))).resolved()
        _warn_if_validating_on_training_labels(plan)
        return _train_soup(plan, config, progress)
    given = config
    config, state, state_path = _checked(config)
    _warn_if_validating_on_training_labels(config)
    if distributed.is_main_process():  # one process tries the folders: ranks making and removing them would race
        # A new run's folders named as given; a resumed run's as saved (absolute) where not given.
        (config if config.resume else given).check_folders()
    if not config.resume and soup.holds_a_soup(Path(config.out)):
        raise PwocrError(
            f"--out {config.out}: holds a soup's run (soup.json, member-K folders); --resume continues it, "
            "or give another --out"
        )
    if config.soup > 1:
        return _train_soup(config, None, progress)
    if config.nproc > 1 and not distributed.under_torchrun():
        return _launch_ranks(config, given, state, progress)
    return _train_rank(config, state, state_path, progress)


def _warn_if_validating_on_training_labels(config: TrainConfig) -> None:
    """Say so when ``--val_file`` is ``--train_file`` (the file, however named): the run then scores
    lines it learnt, so its validation flatters the model and the kept epoch and early stop mean nothing."""
    if config.soup_member or not distributed.is_main_process() or not (config.train_file and config.val_file):
        return  # a soup's members train on its files, said once for the soup; rank 0 speaks for the ranks
    with contextlib.suppress(OSError):  # a file that is gone is refused where it is read
        if os.path.samefile(config.train_file, config.val_file):
            logger.warning(
                "--val_file %s is the --train_file: validation scores lines the model trains on, so they "
                "flatter it and choose the kept epoch and early stop for nothing; give a separate validation set",
                config.val_file,
            )


def _checked(config: TrainConfig) -> tuple[TrainConfig, TrainingState | None, Path]:
    """The run's checked settings (a resumed run's own, with what ``config`` may change), and its state."""
    config.check()
    if not config.resume:
        return config.with_absolute_paths().resolved(), None, Path(config.out) / "last.pt"
    state, state_path = load_resumable(Path(config.out))
    return _resumed_config(config, state.train_config).resolved(), state, state_path


def _train_rank(
    config: TrainConfig, state: TrainingState | None, state_path: Path, progress: bool
) -> list[EpochReport]:
    """Train in this process: the whole run, or one rank of it when torchrun started the process."""
    ranks = distributed.init_ranks(config.use_cuda)
    if not ranks.is_main:
        logging.getLogger("pwocr").setLevel(logging.ERROR)  # rank 0 speaks for the run; the others would repeat it
    try:
        return run_rank(config, state, state_path, ranks, progress)
    finally:
        distributed.close(ranks)


def _launch_ranks(
    config: TrainConfig, given: TrainConfig, state: TrainingState | None, progress: bool
) -> list[EpochReport]:
    """Start ``config.nproc`` processes that each train one rank of ``given`` (``_rank_entry``); rank 0's reports."""
    # Everything a rank would reject is rejected here, once, before processes start.
    if state is None:
        read_items(config)
    # Each rank of a resumed run resumes it from the settings given; a new run's ranks get the checked ones.
    launched = given if given.resume else config
    if launched.seed is None and not launched.resume:
        launched = dataclasses.replace(launched, seed=int(time.time()) % 2**31)  # every rank draws the same
    logger.info("starting %d training processes (torchrun; gloo on CPU, NCCL on GPU)", config.nproc)
    return distributed.launch(launched.to_dict(), config.nproc, progress, entry=_rank_entry)


def _rank_entry(config_dict: dict[str, Any], progress: bool) -> Any:
    """What each process that ``--nproc`` starts runs: its rank of the run, messages and errors as ``pwocr train``'s."""
    main_rank = distributed.is_main_process()
    print_messages(level=logging.INFO if main_rank else logging.ERROR)
    try:
        config, state, state_path = _checked(TrainConfig.from_dict(config_dict))
        return _train_rank(config, state, state_path, progress)
    except PwocrError as e:
        if main_rank:
            print(f"pwocr: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def _train_soup(config: TrainConfig, resumed_by: TrainConfig | None, progress: bool) -> list[EpochReport]:
    """Train (or resume, as ``resumed_by`` asks) each member of a soup in turn, then average them
    (``pwocr.training.soup``); the members' epoch reports, in order."""
    started = time.time()
    main_rank = distributed.is_main_process()
    if resumed_by is None:
        read_items(config)  # a bad label stops the run here, before any folder is made
        if config.seed is None:
            if distributed.under_torchrun():
                raise PwocrError(
                    "--fixed_seed: give one to a soup that torchrun starts, so every process trains the same members"
                )
            config = dataclasses.replace(config, seed=int(time.time()) % 2**31)  # the members' seeds follow it
    if main_rank:
        # Written again on --resume: a member started later trains with the flags that resume gave.
        Path(config.out).mkdir(parents=True, exist_ok=True)
        soup.save_plan(config)
    reports: list[EpochReport] = []
    for index in range(config.soup):
        member = soup.member_config(config, index)
        logger.info("member %d of %d (seed %d), in %s", index + 1, config.soup, member.seed, member.out)
        if resumed_by is not None and has_checkpoint(Path(member.out)):
            overrides = tuple(n for n in resumed_by.resume_overrides if n in RESUME_OVERRIDABLE)
            member = dataclasses.replace(member, resume=True, resume_overrides=overrides)
        reports.extend(train(member, progress))
    if main_rank:
        soup.finish_soup(config, time.time() - started)
    return reports


def _resumed_config(config: TrainConfig, saved_settings: dict[str, Any]) -> TrainConfig:
    """The saved run's settings, with the few that ``config`` changes explicitly; other changes are errors."""
    saved = TrainConfig.from_dict(saved_settings)
    # The saved paths are absolute (``with_absolute_paths``): the given ones are compared as absolute too.
    absolute = config.with_absolute_paths()
    for name in config.resume_overrides:
        if name in ("resume", "resume_overrides", "out"):
            continue
        given, kept = getattr(absolute, name), getattr(saved, name)
        if name in RESUME_OVERRIDABLE:
            if name == "epochs" and given != kept:
                logger.info(
                    "the run was planned for %d epochs; its learning-rate schedule is re-planned for %d", kept, given
                )
            setattr(saved, name, given)
        elif given != kept:
            raise PwocrError(
                f"{flag(name)} {getattr(config, name)}: --resume continues the run in {config.out}, which was started with "
                f"{flag(name)} {kept}; only {', '.join(sorted(flag(n) for n in RESUME_OVERRIDABLE))} may change "
                "(start a new run in another --out to change the rest)"
            )
    saved.resume, saved.out, saved.resume_overrides = True, config.out, ()
    return saved
