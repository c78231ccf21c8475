import dataclasses

import pytest
import torch
from conftest import draw_line

from pwocr.checkpoints import average_checkpoints, load_model, save_weights
from pwocr.cli.main import main
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Recognizer


@pytest.fixture()
def two_models(tiny_checkpoint, tmp_path):
    """The tiny model and a copy whose weights all moved by +1."""
    moved = load_model(tiny_checkpoint)
    with torch.no_grad():
        for p in moved.parameters():
            p.add_(1.0)
    save_weights(moved, tmp_path / "moved.safetensors")
    return tiny_checkpoint, tmp_path / "moved.safetensors"


def test_the_average_lies_between_the_checkpoints_by_their_shares(two_models):
    start, moved = two_models
    averaged = average_checkpoints([start, moved], [0.75, 0.25])
    base = load_model(start)
    for (name, a), b in zip(averaged.named_parameters(), base.parameters()):
        torch.testing.assert_close(a, b + 0.25, msg=name)


def test_averaging_a_model_with_itself_reads_as_it_did(tiny_checkpoint, tmp_path):
    out = tmp_path / "same.safetensors"
    assert main(["average", str(tiny_checkpoint), str(tiny_checkpoint), "--out", str(out)]) == 0
    line = draw_line("Zz9")
    assert Recognizer(out).read(line).text == Recognizer(tiny_checkpoint).read(line).text == "Zz9"


def test_checkpoints_of_different_models_are_refused_by_name(two_models, tmp_path):
    start, _ = two_models
    other = load_model(start)
    other.config = dataclasses.replace(other.config, pad_width=64)
    save_weights(other, tmp_path / "other.safetensors")
    with pytest.raises(PwocrError, match=r"other\.safetensors: another model"):
        average_checkpoints([start, tmp_path / "other.safetensors"], [0.5, 0.5])


@pytest.mark.parametrize("shares", [("0.5", "0.6"), ("nan", "nan"), ("1.5", "-0.5"), ("inf", "0")])
def test_shares_must_sum_to_one_in_one_line(two_models, tmp_path, capsys, shares):
    out = tmp_path / "x.safetensors"
    assert main(["average", *map(str, two_models), "--shares", *shares, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "sum to 1" in error and not out.exists()


def test_a_fine_tune_with_a_format_prior_averages_with_its_start_and_keeps_the_prior(two_models, tmp_path):
    start, moved = two_models
    fine_tuned = load_model(moved)
    fine_tuned.config = dataclasses.replace(
        fine_tuned.config, formats=(("AA000AA", 0.9),), format_floor=0.01, format_weight=1.0
    )
    save_weights(fine_tuned, tmp_path / "fine_tuned.safetensors")
    averaged = average_checkpoints([start, tmp_path / "fine_tuned.safetensors"], [0.5, 0.5])
    assert averaged.config.formats == (("AA000AA", 0.9),) and averaged.config.format_weight == 1.0
    assert averaged.config.temperature == load_model(start).config.temperature
