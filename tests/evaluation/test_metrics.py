import pytest

from pwocr.evaluation.metrics import GAP, align, compute_metrics, edit_distance


def test_alignment_marks_substitutions_insertions_and_deletions():
    assert align("abc", "abc") == [("a", "a"), ("b", "b"), ("c", "c")]
    assert align("abc", "ac") == [("a", "a"), ("b", GAP), ("c", "c")]
    assert align("ac", "abc") == [("a", "a"), (GAP, "b"), ("c", "c")]
    assert edit_distance("kitten", "sitting") == 3


def test_metrics_on_known_readings():
    m = compute_metrics(["abcd", "xyz"], ["abcd", "xz"])
    assert m.word_accuracy == 0.5
    assert m.char_accuracy == pytest.approx(6 / 7)
    assert m.cer == pytest.approx(1 / 7)
    assert m.recall == pytest.approx(6 / 7)
    assert m.precision == pytest.approx(6 / 7)
    assert m.n == 2


def test_perfect_readings_score_one():
    m = compute_metrics(["a!b"], ["a!b"])
    assert (m.word_accuracy, m.char_accuracy, m.precision, m.recall, m.f1, m.cer) == (1, 1, 1, 1, 1, 0)
