"""The Recognizer's decoder policy with look-alikes: flags, names, swap candidates, in JSON and text."""

import numpy as np

from pwocr.cli.output import format_text
from pwocr.inference.recognizer import Recognizer


def _table(recognizer: Recognizer, steps: list[dict[str, float]]) -> np.ndarray:
    index = {"": 0, **{c: i + 1 for i, c in enumerate(recognizer.alphabet.chars)}}
    probs = np.full((len(steps), recognizer.alphabet.num_classes), 1e-9)
    for t, row in enumerate(steps):
        for c, p in row.items():
            probs[t, index[c]] = p
    return probs / probs.sum(1, keepdims=True)


def test_a_lookalike_the_beam_prunes_is_among_the_candidates_and_named(tiny_checkpoint):
    recognizer = Recognizer(tiny_checkpoint, backend="torch")
    probs = _table(recognizer, [{"7": 0.99}, {"": 0.99}, {"l": 0.6, "I": 0.4}, {"": 0.99}, {"Q": 0.9999, "0": 5e-5}])
    reading = recognizer.decode(probs, "line.png", candidates=5)
    assert reading.text == "7lQ"
    texts = [c.text for c in reading.candidates]
    assert texts[0] == "7lQ" and "7IQ" in texts and "7l0" in texts  # "7l0" is far below the beam's pruning
    as_json = reading.as_dict()
    assert as_json["chars"][1]["confusable"] and [a["char"] for a in as_json["chars"][1]["lookalikes"]] == ["I"]
    assert "unsure: 'l' or 'I'" in format_text(reading)
    assert [c.text for c in recognizer.decode(probs, "line.png", candidates=1).candidates] == ["7lQ"]
