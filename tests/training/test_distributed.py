"""Two processes on one machine (gloo): each trains on its shard, rank 0 alone writes."""

import json
import signal

from pwocr.checkpoints import load_training_state
from pwocr.training.trainer import TrainConfig, train


def test_two_process_gloo_run_finishes_and_writes_one_checkpoint(tiny_set, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one thread per rank: the test machine may have two cores
    out = tmp_path / "c"
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    reports = train(
        TrainConfig(
            imgs_folder=str(tiny_set.parent),
            train_file=str(tiny_set),
            val_file=str(tiny_set),
            model_size="crnn-tiny",
            alphabet="printable",
            epochs=1,
            steps_per_epoch=2,
            batch_size=3,
            n_workers=0,
            seed=0,
            nproc=2,
            out=str(out),
            logs=str(tmp_path / "l"),
        ),
        progress=False,
    )
    assert [r.epoch for r in reports] == [1]
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers  # launching leaks no handler
    # Validation readings were gathered from both ranks: all six lines were scored.
    assert reports[0].word_accuracy is not None
    assert sorted(p.name for p in out.iterdir()) == [
        "best.safetensors",
        "last.pt",
        "last.safetensors",
        "step-00000002.pt",
        "summary.json",
    ]
    state = load_training_state(out / "last.pt")
    assert state["world"] == 2 and state["step"] == 2
    assert json.loads((out / "summary.json").read_text())["processes"] == 2
