"""The temperature re-fit at the end of a run: on exact labels only, and never ending worse."""

import logging
import shutil

from conftest import TINY_LABELS, make_labelled_folder

from pwocr.checkpoints import load_model, read_config
from pwocr.data.labels import read_labels
from pwocr.training.config import TrainConfig
from pwocr.training.datasets import LabelledImages
from pwocr.training.validation import read_with_best, refit_best_temperature


def _refit(config, out, **sets):
    model, readings = read_with_best(
        out, {name: LabelledImages(items, read_config(out / "best.safetensors")) for name, items in sets.items()}
    )
    return refit_best_temperature(config, out, model, readings)


def _run_folder(tmp_path, tiny_checkpoint):
    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(tiny_checkpoint, out / "best.safetensors")
    # Half the labels are someone else's: the readings are right on half the lines, wrong on the rest.
    drawn = TINY_LABELS * 4
    labels = [t if i % 2 else drawn[(i + 1) % len(drawn)] for i, t in enumerate(drawn)]
    csv = make_labelled_folder(tmp_path / "val", drawn)
    csv.write_text("filename,label\n" + "".join(f"img{i:02d}.png,{label}\n" for i, label in enumerate(labels)))
    return out, read_labels(csv)


def test_refit_on_exact_labels_writes_a_temperature_that_is_no_worse(tmp_path, tiny_checkpoint):
    out, items = _run_folder(tmp_path, tiny_checkpoint)
    temperature, fit = _refit(TrainConfig(), out, real=items)
    assert fit is not None and temperature == fit.after
    assert load_model(out / "best.safetensors").config.temperature == temperature
    before, after = fit.ece["real"]
    assert after <= before


def test_refit_on_two_sets_makes_neither_worse(tmp_path, tiny_checkpoint):
    """A fine-tune's small validation set and the synthetic guard are fitted together: no set pays for the other."""
    out, items = _run_folder(tmp_path, tiny_checkpoint)
    mostly_right = [i for k, i in enumerate(items) if k % 2 or k % 6 == 0]
    temperature, fit = _refit(TrainConfig(), out, real=items, synthetic=mostly_right)
    assert fit is not None and set(fit.ece) == {"real", "synthetic"}
    assert all(after <= before + 1e-9 for before, after in fit.ece.values())
    assert load_model(out / "best.safetensors").config.temperature == temperature


def test_refit_is_skipped_when_validation_ignores_case_or_symbols(tmp_path, tiny_checkpoint, caplog):
    out, items = _run_folder(tmp_path, tiny_checkpoint)
    caplog.set_level(logging.INFO, logger="pwocr")
    original = load_model(out / "best.safetensors").config.temperature
    assert _refit(TrainConfig(ignore_case=True), out, real=items) == (None, None)
    assert "temperature kept" in caplog.messages[-1]
    assert load_model(out / "best.safetensors").config.temperature == original
