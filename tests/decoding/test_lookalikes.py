"""Look-alike flags, names and swap candidates: a wrong look-alike should never go unflagged or unlisted."""

import numpy as np
import pytest

from pwocr.alphabet import Alphabet
from pwocr.decoding.beam import prefix_beam_search
from pwocr.decoding.confidence import FlagPolicy, char_confidences, string_probabilities, string_probability
from pwocr.decoding.swaps import lookalike_swaps
from pwocr.lookalikes import LOOKALIKE_GROUPS, lookalikes_of

ALPHABET = Alphabet("Ilx01O")


def table(rows: list[dict[str, float]], alphabet: Alphabet = ALPHABET) -> np.ndarray:
    """A probability table from per-step ``{char: p}`` (``""`` is the blank); the rest spread thinly."""
    probs = np.full((len(rows), alphabet.num_classes), 1e-9)
    index = {"": 0, **{c: i + 1 for i, c in enumerate(alphabet.chars)}}
    for t, row in enumerate(rows):
        for c, p in row.items():
            probs[t, index[c]] = p
    return probs / probs.sum(1, keepdims=True)


def test_lookalike_groups_are_printable_ascii_and_symmetric():
    for group in LOOKALIKE_GROUPS.values():
        assert all(33 <= ord(c) <= 126 for c in group) and len(set(group)) == len(group)
    for a in "Il|10O":
        assert all(a in lookalikes_of(b) for b in lookalikes_of(a))


def test_a_few_percent_on_a_lookalike_flags_where_the_same_on_another_character_does_not():
    policy = FlagPolicy(close_ratio=0.2, lookalike_ratio=0.05, blank_ratio=0.5)
    lookalike = table([{"": 0.99}, {"l": 0.9, "I": 0.08}, {"": 0.99}])
    other = table([{"": 0.99}, {"l": 0.9, "x": 0.08}, {"": 0.99}])
    (flagged,) = char_confidences(lookalike, ALPHABET, ALPHABET.encode("l"), policy=policy)
    (plain,) = char_confidences(other, ALPHABET, ALPHABET.encode("l"), policy=policy)
    assert flagged.confusable and not plain.confusable


def test_mass_split_over_several_lookalikes_flags_even_when_each_is_small():
    policy = FlagPolicy(close_ratio=0.2, lookalike_ratio=0.05, blank_ratio=0.5)
    probs = table([{"": 0.99}, {"l": 0.9, "I": 0.03, "1": 0.03, "x": 0.001}, {"": 0.99}])
    (char,) = char_confidences(probs, ALPHABET, ALPHABET.encode("l"), policy=policy)
    assert char.confusable


def test_a_strong_blank_flags_a_character_that_may_not_be_there():
    policy = FlagPolicy(close_ratio=0.2, lookalike_ratio=0.05, blank_ratio=0.5)
    probs = table([{"": 0.99}, {"x": 0.55, "": 0.44}, {"": 0.99}])
    (char,) = char_confidences(probs, ALPHABET, ALPHABET.encode("x"), policy=policy)
    assert char.confusable


def test_a_character_the_reading_dropped_flags_its_neighbours():
    # "0" and "1" read; between them a frame gives "l" 10% that no character of the reading explains.
    policy = FlagPolicy(missing_mass=0.05)
    probs = table([{"0": 0.99}, {"": 0.9, "l": 0.1}, {"1": 0.99}, {"": 0.99}, {"x": 0.99}])
    chars = char_confidences(probs, ALPHABET, ALPHABET.encode("01x"), policy=policy)
    assert [c.confusable for c in chars] == [True, True, False]


def test_a_sure_character_is_not_flagged():
    probs = table([{"": 0.99}, {"x": 0.999}, {"": 0.99}])
    (char,) = char_confidences(probs, ALPHABET, ALPHABET.encode("x"))
    assert not char.confusable and char.lookalikes == ()


def test_nearly_as_likely_lookalikes_are_named_best_first():
    policy = FlagPolicy(name_ratio=0.2)
    probs = table([{"": 0.99}, {"l": 0.5, "I": 0.3, "1": 0.15, "O": 0.04}, {"": 0.99}])
    (char,) = char_confidences(probs, ALPHABET, ALPHABET.encode("l"), policy=policy)
    assert [c for c, _ in char.lookalikes] == ["I", "1"]
    assert char.lookalikes[0][1] == pytest.approx(0.3, rel=0.02)


def test_lookalikes_outside_the_allowed_characters_are_not_named():
    probs = table([{"": 0.99}, {"0": 0.5, "O": 0.45}, {"": 0.99}])
    (char,) = char_confidences(probs, ALPHABET, ALPHABET.encode("0"), allowed="01")
    assert char.lookalikes == ()


def test_batched_string_probabilities_equal_one_at_a_time():
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.full(ALPHABET.num_classes, 0.5), size=12)
    rows = rng.integers(1, ALPHABET.num_classes, size=(7, 4))
    rows[0, 1] = rows[0, 2]  # a repeated label must pass through a blank
    batched = string_probabilities(probs, rows)
    assert batched == pytest.approx([string_probability(probs, row.tolist()) for row in rows], rel=1e-9)


def test_swaps_list_a_lookalike_the_beam_prunes_and_score_it_by_the_model():
    # "0l" read surely; "0I" has 1e-4 at its step, below the beam's pruning threshold.
    probs = table([{"0": 0.99}, {"": 0.99}, {"l": 0.9998, "I": 1e-4}, {"": 0.99}])
    labels = ALPHABET.encode("0l")
    beam = [c.text for c in prefix_beam_search(probs, ALPHABET, top_k=5)]
    assert "0I" not in beam
    swaps = lookalike_swaps(probs, ALPHABET, labels, top_k=5)
    texts = [c.text for c in swaps]
    assert "0I" in texts and "0l" not in texts
    for candidate in swaps:
        assert candidate.confidence == pytest.approx(string_probability(probs, ALPHABET.encode(candidate.text)))
    assert [c.confidence for c in swaps] == sorted((c.confidence for c in swaps), reverse=True)


def test_swaps_respect_the_allowed_characters():
    probs = table([{"0": 0.9, "O": 0.09}, {"": 0.99}, {"1": 0.9, "l": 0.09}])
    texts = [c.text for c in lookalike_swaps(probs, ALPHABET, ALPHABET.encode("01"), top_k=5, allowed={"0", "1"})]
    assert texts == []
    texts = [c.text for c in lookalike_swaps(probs, ALPHABET, ALPHABET.encode("01"), top_k=5)]
    assert texts[:3] == ["O1", "0l", "Ol"] or set(texts[:3]) >= {"O1", "0l"}


def test_a_character_dropped_between_two_equal_characters_flags_them():
    alphabet = Alphabet("x|")
    probs = table([{"x": 0.99}, {"": 0.85, "|": 0.15}, {"x": 0.99}], alphabet)
    chars = char_confidences(probs, alphabet, alphabet.encode("xx"), policy=FlagPolicy(missing_mass=0.05))
    assert [c.confusable for c in chars] == [True, True]


def test_a_trace_of_a_character_the_charset_forbids_flags_nothing():
    probs = table([{"0": 0.99}, {"": 0.85, "O": 0.15}, {"1": 0.99}])
    chars = char_confidences(probs, ALPHABET, ALPHABET.encode("01"), allowed="01", policy=FlagPolicy(missing_mass=0.05))
    assert not any(c.confusable for c in chars)


def test_swaps_that_cannot_be_read_are_not_offered():
    # "lI" with no blank between: "ll" would need one, so its probability is 0 and it is not a candidate.
    probs = table([{"l": 0.9, "I": 0.1}, {"I": 0.9, "l": 0.1}])
    texts = [c.text for c in lookalike_swaps(probs, ALPHABET, ALPHABET.encode("lI"), top_k=10)]
    assert "ll" not in texts and "II" not in texts and "Il" in texts
