import numpy as np
import pytest

from pwocr.evaluation.calibration import calibration, expected_calibration_error


def test_perfectly_calibrated_confidences_have_near_zero_ece():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0, 1, 20000)
    correct = rng.uniform(0, 1, 20000) < conf
    assert expected_calibration_error(conf, correct) < 0.02


def test_overconfidence_shows_in_ece():
    assert expected_calibration_error([0.99] * 10, [True] * 5 + [False] * 5) == pytest.approx(0.49)


def test_threshold_flags_at_most_the_budget_of_right_readings():
    rng = np.random.default_rng(1)
    right_conf = rng.uniform(0.5, 1.0, 900)
    wrong_conf = rng.uniform(0.0, 0.6, 100)
    conf = np.concatenate([right_conf, wrong_conf])
    correct = np.array([True] * 900 + [False] * 100)
    c = calibration(conf, correct, right_budget=0.10)
    assert c.right_flagged <= 0.10
    assert c.wrong_flagged > 0.8
    assert c.n == 1000
