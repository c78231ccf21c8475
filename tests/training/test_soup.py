"""A fine-tune as a model soup (``--soup N``): members that differ in their seed, averaged, resumable."""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import make_labelled_folder, tiny_fine_tune_config
from safetensors.torch import load_file

from pwocr.cli.main import main
from pwocr.errors import PwocrError
from pwocr.training.config import TrainConfig
from pwocr.training.run_folder import load_resumable
from pwocr.training.trainer import train


@pytest.fixture
def soup_config(tiny_checkpoint, tmp_path):
    """A two-member fine-tune of the tiny model on new labels, short enough for a test."""
    return tiny_fine_tune_config(tiny_checkpoint, tmp_path, soup=2, epochs=1, lr=3e-2, seed=5)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_soup_keeps_the_average_of_its_members_kept_weights(soup_config, caplog):
    caplog.set_level("INFO", logger="pwocr")
    reports = train(soup_config, progress=False)
    out = Path(soup_config.out)
    assert len(reports) == 2  # one epoch each
    members = [load_file(out / f"member-{k}" / "best.safetensors") for k in (1, 2)]
    soup = load_file(out / "best.safetensors")
    learnt = [
        name for name, v in soup.items() if v.is_floating_point() and not members[0][name].equal(members[1][name])
    ]
    assert learnt, "the members, trained on other seeds, should differ"
    for name in learnt:
        mean = (members[0][name].float() + members[1][name].float()) / 2
        assert soup[name].float().allclose(mean, atol=1e-6), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["soup"] == 2 and summary["seeds"] == [5, 6]
    assert [m["folder"] for m in summary["members"]] == [str(out / "member-1"), str(out / "member-2")]
    assert all(m["best_epoch"] == 1 for m in summary["members"])
    # The average is what the run reports on and reads with.
    assert summary["report"]["read_with"] == f"pwocr recognize --checkpoint_path {out / 'best.safetensors'} PHOTO"
    assert set(summary["report"]["word_accuracy"]) == {"real", "synthetic"}
    # Each member says what it trains on; the average's finish does not say it again.
    assert sum("fresh synthetic passwords" in m for m in caplog.messages) == 2
    # Only the average is offered as the new model.
    offered = [m for m in caplog.messages if m.startswith("read with the new model")]
    assert offered == [f"read with the new model: pwocr recognize --checkpoint_path {out / 'best.safetensors'} PHOTO"]
    # The temperature and the format prior are fitted on the average, never on a member.
    assert "calibration" in summary and "formats" in summary
    for k in (1, 2):
        member = json.loads((out / f"member-{k}" / "summary.json").read_text())
        assert member["calibration"] is None and member["formats"] is None
    names = ("best.safetensors", "soup.json", "summary.json", "member-1", "member-2")
    assert summary["files"] == [str(out / name) for name in names]
    # Each member is a run of its own, on the next seed.
    seeds = [load_resumable(out / f"member-{k}")[0].train_config["seed"] for k in (1, 2)]
    assert seeds == [5, 6]


def test_an_interrupted_soup_resumes_the_members_it_had_not_finished(soup_config):
    train(soup_config, progress=False)
    out = Path(soup_config.out)
    first = _sha(out / "member-1" / "best.safetensors")
    second = _sha(out / "member-2" / "best.safetensors")
    # As if the run had stopped before its second member began.
    shutil.rmtree(out / "member-2")
    for name in ("best.safetensors", "summary.json"):
        (out / name).unlink()
    reports = train(TrainConfig(out=soup_config.out, resume=True), progress=False)
    assert len(reports) == 1  # the second member's epoch; the first had finished
    assert _sha(out / "member-1" / "best.safetensors") == first
    # The second member ran again from its start, with its own seed: the same kept weights.
    assert _sha(out / "member-2" / "best.safetensors") == second
    assert (out / "best.safetensors").is_file() and json.loads((out / "summary.json").read_text())["soup"] == 2


def test_flags_given_on_resume_hold_for_the_members_still_to_come(soup_config):
    train(soup_config, progress=False)
    out = Path(soup_config.out)
    shutil.rmtree(out / "member-2")
    train(TrainConfig(out=soup_config.out, resume=True, epochs=2, resume_overrides=("epochs",)), progress=False)
    assert json.loads((out / "soup.json").read_text())["epochs"] == 2
    assert json.loads((out / "member-2" / "summary.json").read_text())["epochs_run"] == [1, 2]


def test_a_new_run_never_mixes_with_a_soup_already_in_its_out(soup_config):
    train(soup_config, progress=False)
    for again in (soup_config, dataclasses.replace(soup_config, soup=1)):
        with pytest.raises(PwocrError, match=r"--out .*: holds a soup's run .* --resume continues it, or give another"):
            train(again, progress=False)


def test_a_soup_refuses_what_cannot_average(tmp_path, capsys):
    with pytest.raises(PwocrError, match=r"--soup 0: must be at least 1"):
        TrainConfig(train_file="t.csv", weights_file="default", soup=0).check()
    with pytest.raises(PwocrError, match=r"--soup 3: only fine-tunes of one starting model average"):
        TrainConfig(synth_ratio=1.0, steps_per_epoch=1, soup=3).check()
    csv = make_labelled_folder(tmp_path / "d", ["ab", "ba"])
    assert main(["train", "--train_file", str(csv), "--soup", "2", "--out", str(tmp_path / "c")]) == 2
    assert "--soup 2: only fine-tunes of one starting model average" in capsys.readouterr().err
    # A fine-tune is a soup of three unless told otherwise; other runs are one run.
    assert TrainConfig(train_file="t.csv", weights_file="default").resolved().soup == 3
    assert TrainConfig(train_file="t.csv").resolved().soup == 1
    # A run saved before soups resumes as the one run it was.
    assert TrainConfig.from_dict({"train_file": "t.csv", "weights_file": "default"}).resolved().soup == 1
