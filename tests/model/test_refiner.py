"""The look-alike refiner: silent when fresh, moves probability only within a look-alike group, and
trains alone on top of a fixed model."""

import dataclasses

import numpy as np
import pytest
import torch

from pwocr.alphabet import PRINTABLE_94
from pwocr.errors import PwocrError
from pwocr.lookalikes import LOOKALIKE_GROUPS, disjoint_groups
from pwocr.model.crnn import CRNN, ModelConfig
from pwocr.model.refiner import LookalikeRefiner

SVTR = ModelConfig(PRINTABLE_94, "crnn-svtr", in_channels=3, ppocr_features=False)


def _group_masses(log_probs: torch.Tensor, alphabet: str) -> list[torch.Tensor]:
    return [log_probs[..., [alphabet.index(c) + 1 for c in group]].exp().sum(-1) for group in disjoint_groups(alphabet)]


def test_each_character_is_in_one_group_and_the_pairs_that_fool_readers_share_one():
    groups = disjoint_groups(PRINTABLE_94)
    chars = "".join(groups)
    assert len(chars) == len(set(chars)) and all(len(g) > 1 for g in groups)
    same = {c: next(g for g in groups if c in g) for c in chars}
    for pair in ("O0", "lI", "I1", "1|", "5S", "8B", "wW"):
        assert same[pair[0]] == same[pair[1]], pair
    # A character whose first group has no other member in the alphabet joins a later group.
    assert disjoint_groups("0123456789") == ["71"]
    assert "1" in LOOKALIKE_GROUPS["vertical bars"]


def test_a_fresh_refiner_reads_exactly_as_the_model_without_it():
    torch.manual_seed(0)
    plain = CRNN(SVTR).eval()
    refined = CRNN(dataclasses.replace(SVTR, lookalike_refiner=True)).eval()
    missing, unexpected = refined.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("refiner.") for k in missing)
    images = torch.rand(2, 3, 48, 160) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(refined(images), plain(images))


def test_a_refiner_moves_probability_only_within_each_look_alike_group():
    torch.manual_seed(0)
    plain = CRNN(SVTR).eval()
    refined = CRNN(dataclasses.replace(SVTR, lookalike_refiner=True)).eval()
    refined.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        refined.refiner.share.fill_(3.0)
    images = torch.rand(2, 3, 48, 192) * 2 - 1
    with torch.inference_mode():
        before, after = plain(images), refined(images)
    grouped = [PRINTABLE_94.index(c) + 1 for c in "".join(disjoint_groups(PRINTABLE_94))]
    others = [i for i in range(SVTR.num_classes) if i not in grouped]  # the blank and ungrouped characters
    assert torch.allclose(after[..., others], before[..., others], atol=1e-6)
    for mass_before, mass_after in zip(_group_masses(before, PRINTABLE_94), _group_masses(after, PRINTABLE_94)):
        assert torch.allclose(mass_after, mass_before, atol=1e-5)
    assert not torch.allclose(after[..., grouped], before[..., grouped], atol=1e-3)
    assert torch.allclose(after.exp().sum(-1), torch.ones(()), atol=1e-5)


def test_what_the_glyph_shows_can_turn_an_l_into_an_I_but_not_into_anything_else():
    alphabet = "lI|ab"
    refiner = LookalikeRefiner(alphabet, channels=8, rows=6)
    with torch.no_grad():  # a refiner sure of 'I' wherever it looks, and heeded
        refiner.glyph.weight.zero_()
        refiner.glyph.bias.zero_()
        refiner.glyph.bias[disjoint_groups(alphabet)[0].index("I")] = 5.0
        refiner.share.fill_(1.0)
    frame = torch.tensor([0.10, 0.50, 0.30, 0.04, 0.05, 0.01])  # blank, l, I, |, a, b
    log_probs = frame.log().expand(16, 1, 6)
    out = refiner(torch.zeros(1, 8, 6, 32), log_probs)[0, 0].exp()
    assert out.argmax() == 2  # 'I'
    assert torch.isclose(out[1:4].sum(), torch.tensor(0.84)) and torch.allclose(out[[0, 4, 5]], frame[[0, 4, 5]])


def test_only_a_stack_of_one_frame_per_8_px_and_an_alphabet_with_look_alikes_take_a_refiner():
    assert ModelConfig.from_dict(dataclasses.replace(SVTR, lookalike_refiner=True).to_dict()).lookalike_refiner
    assert not ModelConfig.from_dict({"alphabet": "ab", "arch": "crnn-svtr"}).lookalike_refiner  # saved before it
    with pytest.raises(PwocrError, match="one frame per 8 px"):
        ModelConfig(PRINTABLE_94, "crnn", lookalike_refiner=True)
    with pytest.raises(PwocrError, match="no two characters that look alike"):
        ModelConfig("ab", "crnn-lcnet", lookalike_refiner=True)


def test_a_new_alphabet_keeps_the_refiners_rows_of_the_characters_both_refine():
    from pwocr.model.surgery import with_head_fitted

    torch.manual_seed(0)
    old = CRNN(dataclasses.replace(SVTR, lookalike_refiner=True))
    weights = old.state_dict()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    new, kept = with_head_fitted(dataclasses.replace(old.config, alphabet=alphabet), weights, PRINTABLE_94, "old")
    assert kept == len(alphabet)
    old_rows = "".join(disjoint_groups(PRINTABLE_94))
    for row, char in enumerate("".join(disjoint_groups(alphabet))):
        assert torch.equal(new.refiner.glyph.weight[row], weights["refiner.glyph.weight"][old_rows.index(char)])
    assert torch.equal(new.refiner.convs[0].weight, weights["refiner.convs.0.weight"])


def test_exported_refiner_reads_as_torch(tmp_path):
    from pwocr.inference.engine import OnnxEngine
    from pwocr.inference.onnx import export_onnx

    torch.manual_seed(0)
    model = CRNN(dataclasses.replace(SVTR, lookalike_refiner=True)).eval()
    with torch.no_grad():
        model.refiner.share.fill_(3.0)
    export_onnx(model, tmp_path / "refined.onnx")
    engine = OnnxEngine(tmp_path / "refined.onnx")
    assert engine.config.lookalike_refiner
    for width in (128, 224):
        images = torch.rand(2, 3, 48, width) * 2 - 1
        with torch.inference_mode():
            expected = model(images).numpy()
        assert np.allclose(engine(images.numpy()), expected, atol=1e-4)


def test_refine_lookalikes_trains_the_refiner_alone_on_top_of_the_model_it_was_given(tmp_path, capsys):
    from conftest import tiny_fine_tune_config
    from safetensors.torch import load_file

    from pwocr.checkpoints import load_model, save_weights
    from pwocr.cli.main import main
    from pwocr.training.trainer import train

    torch.manual_seed(0)
    start = tmp_path / "start.safetensors"
    save_weights(CRNN(ModelConfig(PRINTABLE_94, "crnn-lcnet")), start)
    config = tiny_fine_tune_config(
        start,
        tmp_path,
        refine_lookalikes=True,
        distill=0.0,
        soup=1,
        epochs=1,
        lr=1e-2,
        seed=0,
        augment=False,
        calibrate=False,
        format_prior=False,
        synth_val_count=8,
    )
    train(config, progress=False)
    before, after = load_file(str(start)), load_file(str(tmp_path / "run" / "last.safetensors"))
    assert set(after) - set(before) == {k for k in after if k.startswith("refiner.")}
    assert all(torch.equal(after[k], before[k]) for k in before)  # the CRNN itself is as it was
    assert after["refiner.share"] != 0  # the refiner learnt to speak (it started silent)
    assert load_model(tmp_path / "run" / "last.safetensors").config.lookalike_refiner
    # The refiner is trained on top of a given model, never alone.
    assert main(["train", "--synth", "1.0", "--steps_per_epoch", "1", "--refine_lookalikes"]) == 2
    assert "--refine_lookalikes" in capsys.readouterr().err


def test_the_glyph_loss_weighs_each_frame_by_where_the_label_aligns():
    """Each frame of a line that its label fits gives the label's characters all its weight; frames past
    the line and a line its label cannot fit give none."""
    from pwocr.training.loss import ctc_occupancy

    torch.manual_seed(0)
    log_probs = torch.randn(12, 3, 6).log_softmax(-1)
    targets = torch.tensor([1, 2, 3, 4, 4] + [5] * 9)  # the third label needs more frames than its line has
    occupancy = ctc_occupancy(log_probs, targets, torch.tensor([12, 8, 6]), torch.tensor([3, 2, 9]))
    sums = occupancy.sum(-1)
    assert torch.allclose(sums[:, 0], torch.ones(12), atol=1e-4)
    assert torch.allclose(sums[:8, 1], torch.ones(8), atol=1e-4) and sums[8:, 1].abs().max() == 0
    assert sums[:, 2].abs().max() == 0
    # Only the label's characters and the blank are ever aligned.
    assert occupancy[:, 0, 4:].abs().max() < 1e-6 and occupancy[:, 1, [1, 2, 3, 5]].abs().max() < 1e-6


def test_the_glyph_loss_falls_as_the_glyph_classifier_names_the_labels_character():
    from pwocr.training.datasets import Batch
    from pwocr.training.loss import GlyphWatch

    config = ModelConfig("lI|ab", "crnn-lcnet", in_channels=1)
    model = CRNN(dataclasses.replace(config, lookalike_refiner=True)).eval()
    watch = GlyphWatch(model)
    batch = Batch(
        images=torch.zeros(1, 1, 48, 64),
        widths=torch.tensor([64]),
        targets=torch.tensor([2]),  # 'I'
        target_lengths=torch.tensor([1]),
        labels=["I"],
        sources=["test"],
        config=model.config,
    )

    def loss_when_sure_of(char: str) -> float:
        with torch.no_grad():
            model.refiner.glyph.weight.zero_()
            model.refiner.glyph.bias.zero_()
            model.refiner.glyph.bias[disjoint_groups("lI|ab")[0].index(char)] = 4.0
            return watch.loss(model(batch.images), batch, torch.device("cpu")).item()

    assert loss_when_sure_of("I") < 0.1 < loss_when_sure_of("l")
