"""Fine-tuning a shipped model on a user's few labelled images: its defaults, its guard against
forgetting, the teacher's part, the early stop and the report it ends with."""

import json

import pytest
import torch
from conftest import tiny_fine_tune_config

from pwocr.model.config import ModelConfig
from pwocr.training.config import FINE_TUNE_DEFAULTS, RUN_DEFAULTS, TrainConfig
from pwocr.training.datasets import SYNTHETIC_SOURCE, Batch
from pwocr.training.loss import ctc_loss
from pwocr.training.teacher import Teacher
from pwocr.training.trainer import train


def test_a_fine_tune_takes_the_fine_tuning_defaults_and_any_other_run_the_others():
    fine = TrainConfig(train_file="t.csv", weights_file="default").resolved()
    scratch = TrainConfig(train_file="t.csv").resolved()
    for name, value in FINE_TUNE_DEFAULTS.items():
        assert getattr(fine, name) == value
    for name, value in RUN_DEFAULTS.items():
        assert getattr(scratch, name) == value
    assert TrainConfig(train_file="t.csv", weights_file="default", lr=0.01, epochs=2).resolved().lr == 0.01
    # The starting model cannot read characters it never had: it cannot teach them.
    assert TrainConfig(train_file="t.csv", weights_file="default", extend_alphabet=True).resolved().distill == 0.0
    assert TrainConfig(train_file="t.csv", weights_file="default").effective_synth_val_count() == 256


class _Recording(torch.nn.Module):
    """A teacher that notes how many lines it reads and returns the student's own distribution."""

    def __init__(self, student: torch.nn.Module) -> None:
        super().__init__()
        self.student, self.lines = student, []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.lines.append(images.shape[0])
        return self.student(images)


def _batch(sources: list[str]) -> Batch:
    config = ModelConfig(alphabet="ab", height=32, arch="crnn-tiny")
    n = len(sources)
    return Batch(
        images=torch.rand(n, 1, 32, 64),
        widths=torch.full((n,), 64),
        targets=torch.ones(2 * n, dtype=torch.long),
        target_lengths=torch.full((n,), 2),
        labels=["aa"] * n,
        sources=sources,
        config=config,
    )


def test_the_teacher_reads_the_synthetic_lines_only_unless_the_run_has_none():
    from pwocr.model.crnn import CRNN

    model = CRNN(ModelConfig(alphabet="ab", height=32, arch="crnn-tiny")).eval()
    recording = _Recording(model)
    teacher = Teacher(recording)
    cpu = torch.device("cpu")
    mixed = _batch([SYNTHETIC_SOURCE, "plate.jpg", SYNTHETIC_SOURCE, "plate2.jpg"])
    plain = ctc_loss(model, mixed, cpu)
    # The teacher reads as the student does: the KL term is zero, and only the synthetic lines were read.
    assert torch.allclose(ctc_loss(model, mixed, cpu, teacher, 1.0), plain, atol=1e-5)
    assert recording.lines == [2]
    # A batch of the user's images alone: no teacher, unless the run has no synthetic lines at all.
    mine = _batch(["a.png", "b.png", "c.png"])
    ctc_loss(model, mine, cpu, teacher, 1.0)
    assert recording.lines == [2]
    ctc_loss(model, mine, cpu, teacher, 1.0, distill_every_line=True)
    assert recording.lines == [2, 3]


class _WholeLines(torch.nn.Module):
    """The teacher as a plain model: every line read from the pixels, whatever the student computed."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


@pytest.mark.parametrize("arch", ["crnn-lcnet", "crnn-svtr"])
def test_a_teacher_sharing_the_students_frozen_layers_teaches_what_it_would_reading_whole_lines(arch):
    from pwocr.model.crnn import CRNN
    from pwocr.model.surgery import freeze_conv_stack
    from pwocr.training.teacher import Teacher

    torch.manual_seed(0)
    config = ModelConfig(alphabet="ab", arch=arch)
    start = CRNN(config).state_dict()
    student, teacher_model = CRNN(config), CRNN(config)
    student.load_state_dict(start)
    teacher_model.load_state_dict(start)
    freeze_conv_stack(student, 4)
    with torch.no_grad():  # the student has learnt past its frozen layers: the teacher must not read on from there
        next(student.rnn.parameters()).add_(0.5)
    shared, whole = Teacher(teacher_model, student, frozen_blocks=4), Teacher(_WholeLines(teacher_model))
    assert shared.shared_blocks == 4 and whole.shared_blocks == -1
    images = torch.rand(3, config.in_channels, 48, 96) * 2 - 1
    lines = torch.tensor([True, False, True])
    with shared.watching():
        student(images)
    assert torch.allclose(shared.read(images, lines), whole.read(images, lines), atol=1e-5)
    # A student whose frozen layers are not the teacher's: the teacher reads the lines itself.
    with torch.no_grad():
        next(lcnet_parameters(student)).add_(1.0)
    assert Teacher(teacher_model, student, frozen_blocks=4).shared_blocks == -1


def lcnet_parameters(model):
    from pwocr.model.surgery import lcnet_of

    return iter(lcnet_of(model).prefix_parameters(0))


@pytest.fixture
def fine_tune_run(tiny_checkpoint, tmp_path):
    """A fine-tune of the tiny model on new labels, with a validation set and the synthetic guard."""

    def run(**overrides):
        # One run: what each member of a soup does (tests/training/test_soup.py).
        config = dict(soup=1, epochs=3, seed=0, augment=False)
        reports = train(tiny_fine_tune_config(tiny_checkpoint, tmp_path, **{**config, **overrides}), progress=False)
        return reports, json.loads((tmp_path / "run" / "summary.json").read_text())

    return run


def test_a_fine_tune_reports_what_it_changed_and_how_to_read_with_it(fine_tune_run, caplog):
    caplog.set_level("INFO", logger="pwocr")
    _, summary = fine_tune_run()
    report = summary["report"]
    assert set(report["word_accuracy"]) == {"real", "synthetic"}
    for change in report["word_accuracy"].values():
        assert 0 <= change["before"] <= 1 and 0 <= change["after"] <= 1
    assert (
        report["read_with"].startswith("pwocr recognize --checkpoint_path ")
        and "best.safetensors" in report["read_with"]
    )
    assert all(c["count"] >= 1 and c["truth"] != c["read"] for c in report["worst_confusions"])
    assert report["character_errors"] >= sum(c["count"] for c in report["worst_confusions"])
    assert "guard" in summary["kept_by"]
    assert [h["epoch"] for h in summary["history"]] == summary["epochs_run"]
    assert {"real_word_accuracy", "synthetic_word_accuracy"} <= set(summary["history"][0])
    if summary["calibration"] is not None:
        assert all(
            after <= before + 1e-9
            for before, after in ((v["before"], v["after"]) for v in summary["calibration"]["ece"].values())
        )
    assert any("before fine-tuning" in m for m in caplog.messages)
    assert any(m.startswith("read with the new model: pwocr recognize") for m in caplog.messages)
    # Which characters were confused stays out of the log: labels may be passwords.
    assert not any("read as" in m for m in caplog.messages)


def test_no_epoch_that_forgot_the_guard_is_kept_while_one_that_did_not_exists(fine_tune_run):
    """A rate that wrecks the model: an epoch that kept the guard wins; if none did, the one that forgot least."""
    _, summary = fine_tune_run(lr=5.0, distill=0.0, guard_drop=0.0)
    start = summary["report"]["word_accuracy"]["synthetic"]["before"]
    guard = {h["epoch"]: h["synthetic_word_accuracy"] for h in summary["history"]}
    kept = guard[summary["best_epoch"]]
    if any(g >= start for g in guard.values()):
        assert kept >= start
    else:
        assert kept == max(guard.values())


def test_patience_stops_a_run_that_no_longer_improves_and_resume_leaves_it_stopped(fine_tune_run, tmp_path, caplog):
    caplog.set_level("INFO", logger="pwocr")
    reports, summary = fine_tune_run(lr=1e-9, epochs=6, patience=1)
    assert len(reports) < 6 and summary["epochs_run"] == [r.epoch for r in reports]
    assert any("stopping early" in m for m in caplog.messages)
    assert train(TrainConfig(out=str(tmp_path / "run"), resume=True), progress=False) == []
    assert "stopped early" in caplog.messages[-1]


def test_a_run_saved_before_the_fine_tuning_defaults_resumes_as_it_was_planned():
    saved = TrainConfig(train_file="t.csv", weights_file="default", epochs=3, lr=1e-3, distill=0.0).to_dict()
    del saved["patience"], saved["guard_drop"]
    saved["synth_val_count"] = None
    old = TrainConfig.from_dict(saved).resolved()
    assert (old.patience, old.effective_synth_val_count(), old.epochs, old.distill) == (0, 128, 3, 0.0)


def test_a_run_saved_before_distillation_existed_resumes_without_a_teacher():
    saved = TrainConfig(train_file="t.csv", weights_file="default", epochs=3, lr=1e-3).to_dict()
    del saved["distill"], saved["patience"]
    assert TrainConfig.from_dict(saved).resolved().distill == 0.0


def _conv_weights(path):
    from safetensors.numpy import load_file

    # The weights, not batch norm's running statistics (the tiny model's VGG has them; PP-LCNetV4 has none).
    return {k: v for k, v in load_file(str(path)).items() if k.startswith("cnn.") and k.endswith(("weight", "bias"))}


def test_the_anchor_holds_the_learning_conv_stack_to_its_start_and_without_it_the_stack_moves(
    fine_tune_run, tiny_checkpoint, tmp_path, caplog
):
    import numpy as np

    caplog.set_level("INFO", logger="pwocr")
    start = _conv_weights(tiny_checkpoint)
    # A pull of the whole distance after every step: the conv stack learns, and is put back each time.
    fine_tune_run(freeze_blocks=-1, distill=0.0, lr=1e-2, anchor=1e9)
    anchored = _conv_weights(tmp_path / "run" / "last.safetensors")
    assert all(np.array_equal(anchored[k], start[k]) for k in start)
    assert any("anchored conv weights 0 (RMS) from their start" in m for m in caplog.messages)
    # The same run without the anchor moves it.
    fine_tune_run(freeze_blocks=-1, distill=0.0, lr=1e-2, out=str(tmp_path / "free"))
    free = _conv_weights(tmp_path / "free" / "last.safetensors")
    assert any(not np.array_equal(free[k], start[k]) for k in start)


def test_the_anchor_needs_a_starting_model_and_a_pull_of_zero_or_more():
    from pwocr.errors import PwocrError

    with pytest.raises(PwocrError, match=r"--anchor 1\.0: the conv stack is pulled toward the --weights_file"):
        TrainConfig(synth_ratio=1.0, steps_per_epoch=1, anchor=1.0).check()
    with pytest.raises(PwocrError, match=r"--anchor -1\.0: must be 0 or more"):
        TrainConfig(synth_ratio=1.0, steps_per_epoch=1, weights_file="default", anchor=-1.0).check()


def test_an_anchor_with_no_learning_conv_weight_is_refused(tiny_checkpoint):
    """A fine-tune of a PP-LCNetV4 model keeps its whole conv stack frozen by default: nothing to anchor."""
    from pwocr.checkpoints import build_model, load_state
    from pwocr.errors import PwocrError
    from pwocr.training import setup

    model = build_model(*load_state(str(tiny_checkpoint)))
    model.cnn.requires_grad_(False)
    config = TrainConfig(weights_file=str(tiny_checkpoint), synth_ratio=1.0, steps_per_epoch=1, anchor=1.0)
    with pytest.raises(PwocrError, match=r"--anchor 1\.0: no conv weight learns in this run"):
        setup.anchor(config.resolved(), model, None, torch.device("cpu"))
