import numpy as np

from pwocr.alphabet import Alphabet
from pwocr.decoding.confidence import string_probability
from pwocr.decoding.ctc import collapse, greedy_decode, raw_string


def test_collapse_merges_repeats_and_drops_blanks():
    assert collapse([0, 1, 1, 0, 1, 2, 2, 0]) == [1, 1, 2]
    assert collapse([0, 0, 0]) == []
    assert collapse([3, 3, 3]) == [3]


def test_raw_string_shows_blanks_as_dashes():
    assert raw_string([0, 1, 1, 0, 2], Alphabet("ab")) == "-aa-b"


def test_greedy_decode_of_a_table():
    a = Alphabet("ab")
    path = [0, 1, 1, 0, 1, 2]
    table = np.full((len(path), 3), 0.05)
    table[np.arange(len(path)), path] = 0.9
    result = greedy_decode(np.log(table), a)
    assert result.text == "aab"
    assert result.raw == "-aa-ab"
    assert result.labels == (1, 1, 2)
    assert greedy_decode(table, a) == result  # probabilities or their logs alike
    # The string's probability sums all its paths: at least the best path's 0.9 ** 6.
    assert string_probability(table, result.labels) >= 0.9 ** len(path)
