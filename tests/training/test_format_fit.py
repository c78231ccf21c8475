"""The end of a fine-tune keeps its labels' formats as a decoding prior only where the validation set reads better."""

import logging
import shutil

import numpy as np
import pytest

from pwocr.alphabet import PRINTABLE_94, Alphabet
from pwocr.checkpoints import load_model
from pwocr.inference.recognizer import Recognizer
from pwocr.training.config import TrainConfig
from pwocr.training.formats import fit_format_prior
from pwocr.training.validation import BestReadings

ALPHABET = Alphabet(PRINTABLE_94)
TRAIN = ["AB123CD", "ZX981QW", "KL555MN", "AAA1234", "BCD9876", "QQQ0000"] * 3
#: Validation plates, each with a look-alike the model leans the wrong way on, and plates it reads right.
LEANING = ["AB302OZ", "RK011OM", "QWO1000", "OXY1234"]
CLEAR = ["KK123LL", "MNB4567", "PP999QQ", "ZZZ1111", "AC345DE", "TTT2222", "LL000KK"]
#: Guard passwords (no format): each read right.
GUARD = ["k3!Qz8aa", "Hx7#pp2!", "zz9+Zz9q", "m@P4ss_w", "]t4e^WQ4>g"]


def log_table(text: str, lean: dict[str, float] | None = None) -> np.ndarray:
    """A log-probability table reading ``text``, where an ``O`` is 40% O and 60% ``0`` when ``lean`` says so."""
    rows = []
    for char in text:
        for spec in (lean if (lean and char == "O") else {char: 1.0}, {"-": 1.0}):
            row = np.full(ALPHABET.num_classes, 1e-5)
            for c, p in spec.items():
                row[0 if c == "-" else ALPHABET.index(c)] = p
            rows.append(row / row.sum())
    return np.log(np.asarray(rows, dtype=np.float32))


def readings(leaning: list[str], clear: list[str]) -> BestReadings:
    lean = {"0": 0.6, "O": 0.4}
    tables = [log_table(t, lean) for t in leaning] + [log_table(t) for t in clear]
    return BestReadings(
        truths={"real": [*leaning, *clear], "synthetic": GUARD},
        predictions={},
        tables={"real": tables, "synthetic": [log_table(t) for t in GUARD]},
    )


@pytest.fixture
def run(tmp_path, tiny_checkpoint):
    shutil.copy(tiny_checkpoint, tmp_path / "best.safetensors")
    return tmp_path


def test_a_prior_that_reads_more_plates_right_is_kept_in_the_model(run, caplog):
    caplog.set_level(logging.INFO, logger="pwocr")
    model = load_model(run / "best.safetensors")
    summary = fit_format_prior(TrainConfig(), run, model, readings(LEANING, CLEAR), TRAIN)
    assert summary is not None and summary["weight"] > 0 and summary["shapes"] == 2
    assert summary["exact_readings"]["real"] == {"without": len(CLEAR), "with": 11, "of": 11}
    assert summary["exact_readings"]["synthetic"]["with"] == len(GUARD)
    # The saved model reads through it (its shapes only: no label is logged).
    prior = Recognizer(run / "best.safetensors").prior
    assert prior.active and dict(prior.shapes) == {"AA000AA": 0.5, "AAA0000": 0.5}
    assert not any(label in message for message in caplog.messages for label in TRAIN + LEANING)


def test_a_prior_that_helps_nothing_is_not_kept(run):
    model = load_model(run / "best.safetensors")
    summary = fit_format_prior(TrainConfig(), run, model, readings([], CLEAR + LEANING[:3]), TRAIN)
    assert summary is not None and summary["weight"] == 0
    assert not Recognizer(run / "best.safetensors").prior.active


def test_no_prior_is_tried_when_asked_not_to_or_when_validation_is_not_exact(run):
    model = load_model(run / "best.safetensors")
    for config in (TrainConfig(format_prior=False), TrainConfig(ignore_case=True)):
        assert fit_format_prior(config, run, model, readings(LEANING, CLEAR), TRAIN) is None
    assert not Recognizer(run / "best.safetensors").prior.active
