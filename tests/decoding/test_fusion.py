"""Fusing frames of one password: candidates scored under every frame, characters seen by all of them."""

import numpy as np
import pytest
from conftest import spelt_table

from pwocr.alphabet import Alphabet
from pwocr.decoding.beam import prefix_beam_search
from pwocr.decoding.confidence import string_probability
from pwocr.decoding.fusion import fuse_candidates, fuse_characters

ALPHABET = Alphabet("abcXY")


def table(*columns: dict[str, float]) -> np.ndarray:
    return spelt_table(ALPHABET, *columns)


def proposals(*tables: np.ndarray):
    return [c for t in tables for c in prefix_beam_search(t, ALPHABET, top_k=4)]


def test_one_frame_gives_its_own_reading_and_probability_back():
    only = table({"a": 0.9}, {"b": 0.8, "X": 0.2}, {"c": 0.95})
    best = fuse_candidates([only], proposals(only), top_k=1)[0]
    assert best.text == "abc"
    assert best.confidence == pytest.approx(string_probability(only, best.labels), rel=1e-9)


def test_frames_that_err_in_different_places_are_right_together():
    glare_on_c = table({"a": 0.9}, {"b": 0.9}, {"X": 0.55, "c": 0.45})
    blur_on_b = table({"a": 0.9}, {"Y": 0.55, "b": 0.45}, {"c": 0.9})
    assert [prefix_beam_search(t, ALPHABET, top_k=1)[0].text for t in (glare_on_c, blur_on_b)] == ["abX", "aYc"]
    found = fuse_candidates([glare_on_c, blur_on_b], proposals(glare_on_c, blur_on_b), top_k=3)
    assert found[0].text == "abc"
    assert [c.confidence for c in found] == sorted((c.confidence for c in found), reverse=True)


def test_a_string_one_frame_rules_out_scores_zero():
    sure = table({"a": 0.99}, {"b": 0.99})
    other = table({"Y": 0.99}, {"Y": 0.99})
    other[:, ALPHABET.index("a")] = 0.0
    found = {c.text: c.confidence for c in fuse_candidates([sure, other], proposals(sure, other), top_k=10)}
    assert found["ab"] == 0.0


def test_fused_characters_average_the_frames_and_flag_by_majority():
    frames = [table({"a": 0.9}, {"b": p}) for p in (0.9, 0.5, 0.8)]
    chars = fuse_characters(frames, ALPHABET, [ALPHABET.index("a"), ALPHABET.index("b")])
    assert [c.char for c in chars] == ["a", "b"]
    assert chars[1].confidence == pytest.approx(np.mean([f[2, ALPHABET.index("b")] for f in frames]), rel=1e-6)
