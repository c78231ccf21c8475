import itertools

import numpy as np
import pytest

from pwocr.alphabet import Alphabet, resolve_charset
from pwocr.decoding.beam import prefix_beam_search
from pwocr.decoding.confidence import char_confidences, string_probability
from pwocr.decoding.constraints import Constraints, constrain_probs
from pwocr.decoding.ctc import collapse


def exact_string_probs(probs: np.ndarray, alphabet: Alphabet) -> dict[str, float]:
    out: dict[str, float] = {}
    steps, classes = probs.shape
    for path in itertools.product(range(classes), repeat=steps):
        text = alphabet.decode(collapse(path))
        out[text] = out.get(text, 0.0) + float(np.prod(probs[np.arange(steps), path]))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_beam_search_agrees_with_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    alphabet = Alphabet("ab1")
    probs = rng.dirichlet(np.full(4, 0.6), size=int(rng.integers(1, 6)))
    exact = sorted(exact_string_probs(probs, alphabet).items(), key=lambda kv: -kv[1])[:4]
    found = prefix_beam_search(probs, alphabet, top_k=4, beam_width=500, prune=0)
    assert [c.text for c in found] == [t for t, _ in exact] or np.allclose(
        [c.confidence for c in found], [p for _, p in exact]
    )
    assert np.allclose([c.confidence for c in found], [p for _, p in exact])


@pytest.mark.parametrize("seed", range(30))
def test_constraints_never_emit_a_forbidden_string(seed):
    rng = np.random.default_rng(seed)
    alphabet = Alphabet("ab01O")
    probs = rng.dirichlet(np.full(6, 0.4), size=int(rng.integers(3, 9)))
    constraints = Constraints(allowed="01", min_length=2, max_length=3)
    for candidate in prefix_beam_search(probs, alphabet, top_k=5, beam_width=8, constraints=constraints):
        assert constraints.admits(candidate.text), candidate
        assert 0.0 <= candidate.confidence <= 1.0


def test_forbidden_character_is_replaced_not_dropped():
    alphabet = Alphabet("0O1")
    # "1O1": the middle step is sure of the letter O; with digits only it must become 0, not vanish.
    probs = np.array(
        [
            [0.02, 0.01, 0.01, 0.96],
            [0.9, 0.02, 0.06, 0.02],
            [0.02, 0.2, 0.76, 0.02],
            [0.9, 0.03, 0.04, 0.03],
            [0.02, 0.01, 0.01, 0.96],
        ]
    )
    free = prefix_beam_search(probs, alphabet, top_k=1)
    digits = prefix_beam_search(probs, alphabet, top_k=1, constraints=Constraints(resolve_charset("digits")))
    assert free[0].text == "1O1"
    assert digits[0].text == "101"


def test_exact_length_is_enforced_inside_the_search():
    alphabet = Alphabet("ab")
    probs = np.array([[0.1, 0.85, 0.05], [0.6, 0.3, 0.1], [0.1, 0.85, 0.05]])
    best = prefix_beam_search(probs, alphabet, top_k=3)
    assert best[0].text == "aa"
    for length in (1, 3):
        found = prefix_beam_search(probs, alphabet, top_k=3, constraints=Constraints.exact_length(length))
        assert found and all(len(c.text) == length for c in found)


def test_candidates_are_distinct_sorted_probabilities():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(5), size=12)
    found = prefix_beam_search(probs, Alphabet("abcd"), top_k=5)
    texts = [c.text for c in found]
    assert len(set(texts)) == len(texts)
    confidences = [c.confidence for c in found]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) <= 1.0 + 1e-9


def test_constrain_probs_keeps_rows_normalised():
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(6), size=7)
    out = constrain_probs(probs, Alphabet("ab01O"), "01")
    assert np.allclose(out.sum(-1), 1.0)
    assert np.all(out[:, [1, 2, 5]] == 0)


def test_char_confidences_flag_close_rivals():
    alphabet = Alphabet("Ix")  # not look-alikes: only the closeness of the rival counts
    # "I" then "x": the second step is a near tie between x and I.
    probs = np.array([[0.05, 0.9, 0.05], [0.9, 0.05, 0.05], [0.05, 0.4, 0.55]])
    chars = char_confidences(probs, alphabet, [1, 2])
    assert [c.char for c in chars] == ["I", "x"]
    assert not chars[0].confusable and chars[1].confusable
    assert chars[1].alternatives[0] == ("I", pytest.approx(0.4))
    assert all(0 <= c.confidence <= 1 for c in chars)


@pytest.mark.parametrize("seed", range(10))
def test_string_probability_is_the_sum_over_paths(seed):
    from pwocr.decoding.confidence import string_probability

    rng = np.random.default_rng(seed)
    alphabet = Alphabet("ab1")
    probs = rng.dirichlet(np.full(4, 0.6), size=int(rng.integers(1, 6)))
    for text, p in exact_string_probs(probs, alphabet).items():
        assert string_probability(probs, alphabet.encode(text)) == pytest.approx(p, rel=1e-9, abs=1e-15)
    best = prefix_beam_search(probs, alphabet, top_k=1, beam_width=500, prune=0)[0]
    assert string_probability(probs, best.labels) == pytest.approx(best.confidence)


def test_readings_of_64_and_more_characters_decode():
    # A 64-hex WPA key and longer: the Viterbi back-pointers must not overflow.
    alphabet = Alphabet("0123456789abcdef")
    rng = np.random.default_rng(3)
    text = "".join(rng.choice(list(alphabet.chars), 150))
    labels = alphabet.encode(text)
    probs = np.full((2 * len(labels) + 1, alphabet.num_classes), 1e-4)
    probs[0::2, 0] = 1.0
    probs[1::2][np.arange(len(labels)), labels] = 1.0
    probs /= probs.sum(-1, keepdims=True)
    chars = char_confidences(probs, alphabet, labels)
    assert "".join(c.char for c in chars) == text
    (best,) = prefix_beam_search(probs, alphabet, top_k=1)
    assert best.text == text


def test_beam_confidence_is_the_forward_probability():
    rng = np.random.default_rng(4)
    alphabet = Alphabet("ab")
    probs = rng.dirichlet(np.ones(3), size=6)
    for candidate in prefix_beam_search(probs, alphabet, top_k=4, constraints=Constraints(allowed="a")):
        assert candidate.confidence == pytest.approx(string_probability(probs, list(candidate.labels)), rel=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_the_greedy_alignment_shortcut_is_the_viterbi_alignment(seed):
    """For the greedy reading, its own path is its best path: the shortcut must agree with Viterbi."""
    from pwocr.decoding.confidence import _viterbi_alignment, align_labels
    from pwocr.decoding.ctc import greedy_decode

    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.5, (30, 6))
    logits[:, 0] += rng.uniform(0, 3)  # blanks as common as a real model makes them
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = greedy_decode(probs, Alphabet("abcde")).labels
    if labels:
        assert align_labels(probs, labels) == _viterbi_alignment(probs, labels)


def test_string_probability_of_a_long_line_does_not_underflow():
    """2,000 frames of near-certain blanks around one sure letter: the rescaled forward pass keeps it."""
    confident = np.zeros((2000, 4))
    confident[:, 0] = 1.0 - 1e-4
    confident[:, 1:] = 1e-4 / 3
    confident[10] = [1e-3, 0.999 - 2e-4 / 3, 1e-4 / 3, 1e-4 / 3]
    assert string_probability(confident, [1]) == pytest.approx(0.999 * 0.9999**1999, rel=0.01)
