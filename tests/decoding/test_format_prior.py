"""The format prior: a fine-tune's label shapes tell look-alikes apart by where they stand, and only there."""

import numpy as np
import pytest
from conftest import spelt_table

from pwocr.alphabet import PRINTABLE_94, Alphabet
from pwocr.decoding.beam import Candidate
from pwocr.decoding.confidence import string_probability
from pwocr.decoding.formats import FormatPrior, shape_of
from pwocr.decoding.policy import decode_table

ALPHABET = Alphabet(PRINTABLE_94)
PLATES = ["AB123CD", "ZX981QW", "KL555MN", "AAA1234", "BCD9876", "QQQ0000", "ODD1"]


def table(*columns: dict[str, float]) -> np.ndarray:
    return spelt_table(ALPHABET, *columns, floor=1e-5, dtype=np.float64)


def plate(text: str, unsure: dict[int, dict[str, float]]) -> np.ndarray:
    return table(*(unsure.get(i, {c: 1.0}) for i, c in enumerate(text)))


#: ``AB302OZ`` on a plate whose font draws O and 0 alike: the model leans to 0 at the sixth character.
LEANING = plate("AB302OZ", {5: {"0": 0.6, "O": 0.4}})


def test_shapes_class_letters_and_digits_and_keep_the_rest():
    assert shape_of("AB-302oz é9") == "AA-000aa a0"
    # By Unicode category, as the page's \\p{Lu}, \\p{Ll} and \\p{Nd} class them (not str.isdigit's ²).
    assert shape_of("Nº m² Ⅰ١") == "Aº a² Ⅰ0"


def test_learn_keeps_shapes_two_labels_share_and_gives_the_rest_half_a_label():
    prior = FormatPrior.learn(PLATES)
    assert dict(prior.shapes) == {"AA000AA": 3 / 7, "AAA0000": 3 / 7}
    assert prior.floor == pytest.approx(0.5 / 7)
    assert prior.log_prior("ODD1") == pytest.approx(np.log(0.5 / 7))  # one label is not a format
    assert not FormatPrior.learn([]).active


def test_without_a_prior_the_reading_is_what_the_glyphs_say():
    assert decode_table(LEANING, ALPHABET).best.text == "AB3020Z"


def test_a_prior_reads_the_look_alike_the_format_expects_and_is_as_sure_as_both_make_it():
    decoded = decode_table(LEANING, ALPHABET, candidates=3, prior=FormatPrior.learn(PLATES))
    assert decoded.best.text == "AB302OZ"
    # As sure as the model and the prior together make it: more than the glyphs alone (40%).
    assert string_probability(LEANING, decoded.best.labels) < 0.45 < 0.75 < decoded.best.confidence <= 1
    assert [c.text for c in decoded.candidates][:2] == ["AB302OZ", "AB3020Z"]
    assert "".join(c.char for c in decoded.chars) == "AB302OZ"
    assert decoded.chars[5].confusable  # still flagged: the glyph itself is unsure


def test_a_reading_the_model_is_sure_of_keeps_a_format_never_seen():
    sure = plate("A1BC2", {1: {"1": 0.995, "I": 0.005}})
    assert decode_table(sure, ALPHABET, prior=FormatPrior.learn(PLATES)).best.text == "A1BC2"


def test_a_zero_weight_changes_nothing():
    prior = FormatPrior.learn(PLATES).with_weight(0.0)
    assert not prior.active
    assert decode_table(LEANING, ALPHABET, candidates=3, prior=prior) == decode_table(LEANING, ALPHABET, candidates=3)


def test_rank_keeps_each_text_once_at_its_higher_probability():
    prior = FormatPrior.learn(PLATES)
    ranked = prior.rank([Candidate("AB3020Z", 0.6), Candidate("AB302OZ", 0.1), Candidate("AB302OZ", 0.3)])
    assert [(c.text, c.confidence) for c in ranked] == [("AB302OZ", 0.3), ("AB3020Z", 0.6)]


def test_the_posterior_is_normalised_over_the_candidates_and_the_mass_outside_them():
    prior = FormatPrior.learn(PLATES)
    ranked = prior.posterior(prior.rank([Candidate("AB302OZ", 0.3), Candidate("AB3020Z", 0.6)]))
    inside = [0.3 * 3 / 7, 0.6 * 0.5 / 7]
    outside = 0.1 * 0.5 / 7
    assert [c.confidence for c in ranked] == pytest.approx([w / (sum(inside) + outside) for w in inside])
