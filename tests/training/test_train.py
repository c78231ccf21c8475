import json
import logging

import pytest
import torch
from conftest import TINY_LABELS, make_labelled_folder, tiny_config
from safetensors import safe_open

from pwocr.alphabet import PRINTABLE_94
from pwocr.checkpoints import load_state, load_training_state
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Recognizer
from pwocr.model.config import ModelConfig
from pwocr.training.datasets import ctc_steps_needed, min_width_for
from pwocr.training.trainer import TrainConfig, train


def test_committed_fixture_model_reads_its_set(tiny_set, tiny_checkpoint):
    recognizer = Recognizer(tiny_checkpoint, backend="torch")
    readings = recognizer.read_folder(tiny_set.parent)
    assert {r.text for r in readings} == set(TINY_LABELS)


def test_training_lowers_the_loss(tiny_set, tmp_path):
    reports = train(
        tiny_config(
            tmp_path,
            tiny_set,
            alphabet="printable",
            epochs=3,
            steps_per_epoch=10,
            batch_size=6,
            lr=1e-2,
            seed=0,
            augment=False,
        ),
        progress=False,
    )
    assert reports[-1].train_loss < 0.7 * reports[0].train_loss


def test_run_writes_checkpoints_with_config_and_tensorboard_logs(tiny_run):
    checkpoints = tiny_run / "checkpoints"
    assert {p.name for p in checkpoints.iterdir()} == {
        "best.safetensors",
        "last.safetensors",
        "last.pt",
        "step-00000005.pt",
        "step-00000010.pt",
        "summary.json",
    }
    # last.pt is the newest step checkpoint under a second name, not a second copy.
    assert (checkpoints / "last.pt").samefile(checkpoints / "step-00000010.pt")
    summary = json.loads((checkpoints / "summary.json").read_text())
    assert summary["best_epoch"] in (1, 2) and summary["epochs_run"] == [1, 2]
    with safe_open(str(checkpoints / "best.safetensors"), "pt") as f:
        config = json.loads(f.metadata()["pwocr_model_config"])
    assert config["arch"] == "crnn-tiny" and len(config["alphabet"]) == 94
    state = load_training_state(checkpoints / "last.pt")
    assert state["epoch"] == 2 and state["train_config"]["model_size"] == "crnn-tiny"
    assert list((tiny_run / "logs").glob("events.out.tfevents.*"))


def test_interrupted_run_resumes_from_its_last_checkpoint(tiny_set, tmp_path, caplog):
    base = dict(
        imgs_folder=str(tiny_set.parent),
        train_file=str(tiny_set),
        out=str(tmp_path / "c"),
        logs=str(tmp_path / "l"),
        model_size="crnn-tiny",
        alphabet="printable",
        steps_per_epoch=2,
        batch_size=6,
        n_workers=0,
        seed=3,
        epochs=3,
    )

    class InterruptAfterFirstEpoch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("epoch 1/3"):
                raise KeyboardInterrupt

    caplog.set_level(logging.INFO, logger="pwocr")
    interrupt = InterruptAfterFirstEpoch()
    logging.getLogger("pwocr").addHandler(interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            train(TrainConfig(**base), progress=False)
    finally:
        logging.getLogger("pwocr").removeHandler(interrupt)
    assert load_training_state(tmp_path / "c" / "last.pt")["epoch"] == 1
    caplog.clear()
    # No --epochs_num given: the saved plan (3 epochs) is kept, not the default 10.
    resumed = train(TrainConfig(resume=True, out=base["out"]), progress=False)
    assert [r.epoch for r in resumed] == [2, 3]
    assert "resuming from" in caplog.messages[0]
    state = load_training_state(tmp_path / "c" / "last.pt")
    assert state["step"] == 6 and state["train_config"]["model_size"] == "crnn-tiny"
    assert train(TrainConfig(resume=True, out=base["out"]), progress=False) == []
    assert "has finished its 3 epochs" in caplog.messages[-1]
    longer = train(TrainConfig(resume=True, out=base["out"], epochs=4, resume_overrides=("epochs",)), progress=False)
    assert [r.epoch for r in longer] == [4]
    assert any("re-planned for 4" in m for m in caplog.messages)
    with pytest.raises(PwocrError, match=r"--lr 0.5: --resume continues the run .* started with --lr 0.001"):
        train(TrainConfig(resume=True, out=base["out"], lr=0.5, resume_overrides=("lr",)), progress=False)


def test_fine_tuning_keeps_the_pretrained_alphabet_and_extends_it_only_when_asked(tiny_checkpoint, tmp_path, caplog):
    csv = make_labelled_folder(tmp_path / "d", ["é1", "1é"])
    base = dict(
        imgs_folder=str(csv.parent),
        train_file=str(csv),
        weights_file=str(tiny_checkpoint),
        soup=1,
        out=str(tmp_path / "c"),
        logs=str(tmp_path / "l"),
        epochs=1,
        steps_per_epoch=1,
        synth_ratio=0.0,
        n_workers=0,
    )
    # Never a silently shrunk alphabet: the label is an error naming its file and line.
    with pytest.raises(
        PwocrError, match=r"labels.csv:2: label has character 'é' \(character 1 of 2\) .*--extend_alphabet"
    ):
        train(TrainConfig(**base), progress=False)
    caplog.set_level(logging.INFO, logger="pwocr")
    train(TrainConfig(**base, extend_alphabet=True, lr=1e-9, seed=0), progress=False)
    assert any("94 characters kept" in m and "1 new" in m for m in caplog.messages)
    _, before = load_state(tiny_checkpoint)
    config, after = load_state(tmp_path / "c" / "last.safetensors")
    assert config.alphabet == PRINTABLE_94 + "é"
    assert after["head.weight"].shape[0] == 96
    # The rows of the characters it knew are kept, not re-initialised.
    assert torch.allclose(before["head.weight"], after["head.weight"][:95], atol=1e-5)
    assert torch.allclose(before["cnn.0.weight"], after["cnn.0.weight"], atol=1e-5)


def test_bad_training_images_are_reported_and_skipped(tmp_path, caplog):
    csv = make_labelled_folder(tmp_path / "d", ["abc", "abd"])
    (tmp_path / "d" / "broken.png").write_bytes(b"junk")
    (tmp_path / "d" / "long.png").write_bytes((tmp_path / "d" / "img00.png").read_bytes())
    with csv.open("a") as f:
        f.write("broken.png,xyz\nmissing.png,xyz\nlong.png," + "a" * 60 + "\n")
    train(
        tiny_config(
            tmp_path, imgs_folder=str(csv.parent), train_file=str(csv), epochs=1, steps_per_epoch=1, max_width=64
        ),
        progress=False,
    )
    joined = "\n".join(caplog.messages)
    assert "broken.png: not an image pwocr reads" in joined
    assert "missing.png: file not found" in joined
    assert "long.png: its 60-character label is too long for CTC" in joined
    assert "a" * 60 not in joined  # a label is a password: never in a message


def test_ctc_width_arithmetic():
    assert ctc_steps_needed("abc") == 3
    assert ctc_steps_needed("aab") == 4
    small = ModelConfig(PRINTABLE_94, "crnn-small")
    lcnet = ModelConfig(PRINTABLE_94, "crnn-lcnet")
    for label in ("aab", "x" * 64, "ab" * 40):
        for config in (small, lcnet):
            width = min_width_for(label, config)
            assert width % config.width_step == 0
            assert (
                config.output_length(width) >= ctc_steps_needed(label) > config.output_length(width - config.width_step)
            )


def test_synthetic_stream_training_runs(tmp_path):
    reports = train(
        tiny_config(
            tmp_path,
            synth_ratio=1.0,
            alphabet="digits",
            epochs=1,
            steps_per_epoch=2,
            batch_size=4,
            synth_val_count=4,
            seed=0,
        ),
        progress=False,
    )
    assert reports[0].val_loss is not None and reports[0].images_per_second > 0


def test_val_each_zero_validates_after_the_last_epoch_only(tiny_set, tmp_path):
    reports = train(
        tiny_config(
            tmp_path,
            tiny_set,
            val_file=str(tiny_set),
            alphabet="printable",
            epochs=2,
            steps_per_epoch=1,
            batch_size=3,
            seed=0,
            val_each=0,
        ),
        progress=False,
    )
    assert [r.val_loss is None for r in reports] == [True, False]


def test_training_and_validation_loss_are_one_reduction(tiny_set, tiny_checkpoint):
    from torch.utils.data import DataLoader

    from pwocr.alphabet import Alphabet
    from pwocr.checkpoints import load_model
    from pwocr.data.labels import read_labels
    from pwocr.training.datasets import Collate, LabelledImages
    from pwocr.training.loss import ctc_loss
    from pwocr.training.validation import validate

    model = load_model(tiny_checkpoint)
    data = LabelledImages(read_labels(tiny_set), model.config)
    loader = DataLoader(data, batch_size=6, collate_fn=Collate(Alphabet(model.config.alphabet), model.config))
    batch = next(iter(loader))
    assert len(set(batch.widths.tolist())) == 1  # one width: training's padded batch is validation's batch
    with torch.no_grad():
        training = ctc_loss(model.eval(), batch, torch.device("cpu")).item()
    validation, _, _ = validate(model, loader, torch.device("cpu"))
    assert validation == pytest.approx(training, rel=1e-5)


def _drift_from(teacher: Recognizer, student_file, images) -> float:
    """Mean per-frame KL divergence of a student's readings of ``images`` from the teacher's."""
    import numpy as np

    student = Recognizer(student_file, backend="torch")
    drift = [
        float((p * (np.log(p + 1e-12) - np.log(q + 1e-12))).sum(-1).mean())
        for p, q in zip(teacher.probabilities(images), student.probabilities(images))
    ]
    return sum(drift) / len(drift)


def test_distillation_keeps_a_fine_tune_close_to_the_model_it_started_from(tiny_checkpoint, tmp_path):
    """Learning without forgetting: the same fine-tune drifts far less from its teacher with --distill."""
    from pwocr.data.images import load

    csv = make_labelled_folder(tmp_path / "d", ["zz9Q", "Q9zz", "9zQz"])
    base = dict(
        imgs_folder=str(csv.parent),
        train_file=str(csv),
        weights_file=str(tiny_checkpoint),
        soup=1,
        logs=str(tmp_path / "l"),
        epochs=1,
        steps_per_epoch=8,
        batch_size=3,
        lr=3e-2,
        synth_ratio=0.0,
        n_workers=0,
        seed=0,
        augment=False,
        calibrate=False,
    )
    train(TrainConfig(**base, out=str(tmp_path / "plain")), progress=False)
    train(TrainConfig(**base, out=str(tmp_path / "kept"), distill=50.0), progress=False)
    teacher = Recognizer(tiny_checkpoint, backend="torch")
    images = [load(p) for p in sorted(tmp_path.glob("d/*.png"))]
    plain = _drift_from(teacher, tmp_path / "plain" / "last.safetensors", images)
    kept = _drift_from(teacher, tmp_path / "kept" / "last.safetensors", images)
    assert kept < 0.5 * plain


def test_distillation_needs_a_teacher():
    with pytest.raises(PwocrError, match=r"--distill 1\.0: the teacher is the --weights_file model"):
        TrainConfig(synth_ratio=1.0, steps_per_epoch=1, distill=1.0).check()


def test_word_lines_join_the_synthetic_training_lines_and_validation_stays_passwords(tmp_path, monkeypatch, caplog):
    from pwocr.synth import render
    from pwocr.training import setup

    words = tmp_path / "words.txt"
    words.write_text("coffee\ngarden\nstreet\n")
    drawn: list[str] = []
    validation: list[str] = []
    word_string, render_set = render.word_string, setup.render_set

    def recording_words(*args, **kwargs):
        drawn.append(word_string(*args, **kwargs))
        return drawn[-1]

    def recording_validation(*args, **kwargs):
        lines = render_set(*args, **kwargs)
        validation.extend(label for _, label in lines)
        return lines

    monkeypatch.setattr(render, "word_string", recording_words)
    monkeypatch.setattr(setup, "render_set", recording_validation)
    caplog.set_level("INFO", logger="pwocr")
    train(
        tiny_config(
            tmp_path,
            synth_ratio=1.0,
            synth_words=str(words),
            synth_word_share=0.5,
            alphabet="printable",
            epochs=1,
            steps_per_epoch=2,
            batch_size=8,
            synth_val_count=32,
            seed=0,
        ),
        progress=False,
    )
    assert len(validation) == 32 and drawn
    assert not any(w in v.lower() for v in validation for w in ("coffee", "garden", "street"))
    assert any(f"50% of the synthetic lines are words of {words}" in m for m in caplog.messages)


def test_word_lines_need_a_word_list_and_a_share_below_one(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("coffee\n")
    base = dict(synth_ratio=1.0, steps_per_epoch=1)
    with pytest.raises(PwocrError, match=r"--synth_word_share 0\.3: give the word list with --synth_words FILE"):
        TrainConfig(**base, synth_word_share=0.3).check()
    with pytest.raises(PwocrError, match=r"--synth_word_share 1\.0: the share of word lines"):
        TrainConfig(**base, synth_words=str(words), synth_word_share=1.0).check()
    with pytest.raises(PwocrError, match=r"--synth_words .*missing: no such word list"):
        TrainConfig(**base, synth_words=str(tmp_path / "missing"), synth_word_share=0.3).check()


def test_a_word_list_needs_a_share_and_synthetic_lines_to_join(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("coffee\n")
    with pytest.raises(PwocrError, match=r"--synth_words .*: give the share of word lines with --synth_word_share"):
        TrainConfig(synth_ratio=1.0, steps_per_epoch=1, synth_words=str(words)).check()
    with pytest.raises(PwocrError, match=r"--synth_word_share 0\.3: the run has no synthetic lines"):
        TrainConfig(train_file="t.csv", synth_ratio=0.0, synth_words=str(words), synth_word_share=0.3).check()
