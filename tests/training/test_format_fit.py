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
    read = readings(LEANING, CLEAR)
    summary = fit_format_prior(TrainConfig(), run, model, read, TRAIN)
    assert summary is not None and summary["weight"] > 0 and summary["shapes"] == 2
    assert read.predictions["real"] == [*LEANING, *CLEAR]  # the run's report reads through the prior too
    assert summary["ece"]["real"]["with"] < summary["ece"]["real"]["without"]  # surer where it is right
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


def test_a_prior_kept_by_an_earlier_fit_is_removed_when_no_prior_helps_now(run):
    model = load_model(run / "best.safetensors")
    fit_format_prior(TrainConfig(), run, model, readings(LEANING, CLEAR), TRAIN)
    assert Recognizer(run / "best.safetensors").prior.active
    model = load_model(run / "best.safetensors")
    assert fit_format_prior(TrainConfig(format_prior=False), run, model, readings(LEANING, CLEAR), TRAIN) is None
    assert not Recognizer(run / "best.safetensors").prior.active


def test_a_fine_tune_starts_without_its_starting_model_s_prior(run, tmp_path):
    from pwocr.alphabet import Alphabet as Chars
    from pwocr.training.setup import initial_model

    model = load_model(run / "best.safetensors")
    fit_format_prior(TrainConfig(), run, model, readings(LEANING, CLEAR), TRAIN)
    config = TrainConfig(weights_file=str(run / "best.safetensors"), out=str(tmp_path / "next"))
    assert initial_model(config, Chars(PRINTABLE_94)).config.formats == ()


def test_guard_lines_a_prior_would_cost_keep_it_out(run):
    """Guard passwords shaped like the plates, read right only without the prior: the prior is refused."""
    lean = {"0": 0.6, "O": 0.4}
    plates_as_passwords = ["AB3020Z", "RK0110M", "QW01000", "0XY1234"]  # digits where the format wants an O
    guard = {"truths": plates_as_passwords, "tables": [log_table(t, lean) for t in LEANING]}
    both = readings(LEANING, CLEAR)
    both.truths["synthetic"] = guard["truths"] * 10
    both.tables["synthetic"] = guard["tables"] * 10
    model = load_model(run / "best.safetensors")
    assert fit_format_prior(TrainConfig(), run, model, both, TRAIN)["weight"] == 0
