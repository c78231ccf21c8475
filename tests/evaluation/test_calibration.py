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


def test_fit_temperature_recovers_a_sharpened_model():
    from pwocr.evaluation.calibration import fit_temperature, string_confidences

    rng = np.random.default_rng(3)
    # Tables whose confidence is right at temperature 1, then sharpened by 2.
    tables, labels, correct = [], [], []
    for _ in range(300):
        logits = rng.normal(0, 1.5, (6, 5))
        logits[:, 0] += 2.0
        log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
        path = log_probs.argmax(-1).tolist()
        y = [c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])]
        correct.append(rng.uniform() < string_confidences([log_probs], [y], 1.0)[0])
        tables.append(log_probs * 2.0)
        labels.append(y)
    assert 1.5 <= fit_temperature(tables, labels, correct) <= 2.6


def test_calibrate_command_writes_a_tempered_copy(capsys, tiny_checkpoint, tmp_path):
    from test_calibrate_inputs import calibration_set

    from pwocr.checkpoints import load_state
    from pwocr.cli.main import main

    # Twenty lines or more, read right and wrong: what a temperature is fitted on (``fit_refusal``).
    labels = calibration_set(tmp_path / "set")
    out = tmp_path / "calibrated.safetensors"
    code = main(
        [
            "calibrate",
            "--checkpoint_path",
            str(tiny_checkpoint),
            "--imgs_folder",
            str(labels.parent),
            "--val_file",
            str(labels),
            "--out",
            str(out),
        ]
    )
    assert code == 0 and "temperature" in capsys.readouterr().out
    config, weights = load_state(out)
    assert config.temperature > 0 and weights["head.weight"].dtype.is_floating_point
