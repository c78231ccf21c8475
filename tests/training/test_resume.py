"""Runs that are killed or stopped lose no work: a resumed run ends exactly where an uninterrupted one does."""

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import tiny_config
from safetensors.torch import load_file

from pwocr.checkpoints import load_training_state
from pwocr.training.trainer import train

#: Runs a training from a JSON config in a process of its own; with a kill count, SIGKILLs itself in the
#: middle of that resumable save (after the temporary file is written, before the rename).
RUNNER = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    from pwocr.io import atomic_path
    from pwocr.training import run_folder
    from pwocr.training.trainer import TrainConfig, train

    config, kill_at = json.loads(sys.argv[1]), int(sys.argv[2])
    saves = []
    real_save = run_folder.save_training_state

    def save_then_die(state, path):
        saves.append(path)
        if len(saves) == kill_at:
            with atomic_path(path) as tmp:
                torch.save(state, tmp)
                os.kill(os.getpid(), signal.SIGKILL)
        real_save(state, path)

    run_folder.save_training_state = save_then_die
    train(TrainConfig(**config), progress=False)
    """
)


def _run(config: dict, kill_at: int = 0) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(config), str(kill_at)], env=env, capture_output=True, timeout=120
    ).returncode


def test_run_killed_inside_an_epoch_resumes_to_the_same_weights(tiny_set, tmp_path):
    base = dict(
        imgs_folder=str(tiny_set.parent),
        train_file=str(tiny_set),
        model_size="crnn-tiny",
        alphabet="printable",
        epochs=2,
        steps_per_epoch=5,
        batch_size=2,
        lr=1e-2,
        n_workers=0,
        seed=5,
        checkpoint_every=2,
        keep_last=2,
        calibrate=False,
    )
    whole = {**base, "out": str(tmp_path / "whole"), "logs": str(tmp_path / "l1")}
    assert _run(whole) == 0
    killed = {**base, "out": str(tmp_path / "killed"), "logs": str(tmp_path / "l2")}
    # Saves: step 2, 4, 5 (epoch end), 6, 8...: killed in the middle of writing step 8's.
    assert _run(killed, kill_at=5) == -signal.SIGKILL
    out = tmp_path / "killed"
    assert [p for p in out.iterdir() if p.name.endswith(".tmp")], "the kill should leave a temporary behind"
    state = load_training_state(out / "last.pt")
    assert (state["epoch"], state["batch"], state["step"]) == (1, 1, 6)
    assert _run({"out": str(out), "resume": True}) == 0
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(list(out.glob("step-*.pt"))) == 2
    a, b = load_file(tmp_path / "whole" / "last.safetensors"), load_file(out / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sigint_inside_an_epoch_saves_where_it_stopped(tiny_set, tmp_path, monkeypatch, caplog):
    from pwocr.training import loop

    calls = []
    real_loss = loop.ctc_loss

    def loss_then_signal(*args):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-step: the step finishes, then the run saves
        return real_loss(*args)

    monkeypatch.setattr(loop, "ctc_loss", loss_then_signal)
    caplog.set_level(logging.INFO, logger="pwocr")
    handler = signal.getsignal(signal.SIGINT)
    config = tiny_config(
        tmp_path, tiny_set, alphabet="printable", epochs=1, steps_per_epoch=6, batch_size=2, seed=1, checkpoint_every=0
    )
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    state = load_training_state(tmp_path / "c" / "last.pt")
    assert (state["epoch"], state["batch"], state["step"]) == (0, 3, 3)
    assert "stopped by SIGINT at epoch 1, batch 3 of 6" in caplog.messages[-1] and "--resume" in caplog.messages[-1]
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_data_process_killed_from_outside_saves_and_says_how_to_resume(tiny_set, tmp_path, monkeypatch):
    from pwocr.errors import PwocrError
    from pwocr.training.datasets import LabelledImages

    real_item, fetched = LabelledImages.__getitem__, []

    def item_then_die(self, index):
        fetched.append(index)
        if len(fetched) == 7 and os.getpid() != parent:  # in the data process, as the OOM killer would
            os.kill(os.getpid(), signal.SIGKILL)
        return real_item(self, index)

    parent = os.getpid()
    monkeypatch.setattr(LabelledImages, "__getitem__", item_then_die)
    config = tiny_config(
        tmp_path, tiny_set, alphabet="printable", epochs=1, steps_per_epoch=6, batch_size=2, seed=1, n_workers=1
    )
    with pytest.raises(PwocrError, match=r"a data process .* died.*saved .*last.pt.*--resume") as stopped:
        train(config, progress=False)
    assert "\n" not in str(stopped.value)
    state = load_training_state(tmp_path / "c" / "last.pt")
    assert state["epoch"] == 0 and 0 <= state["batch"] < 6 and state["step"] == state["batch"]
    monkeypatch.setattr(LabelledImages, "__getitem__", real_item)
    train(tiny_config(tmp_path, resume=True, n_workers=1), progress=False)
    assert load_training_state(tmp_path / "c" / "last.pt")["epoch"] == 1
