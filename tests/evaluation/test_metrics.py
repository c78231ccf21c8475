import pytest

from pwocr.evaluation.metrics import GAP, align, compute_metrics


def test_alignment_marks_substitutions_insertions_and_deletions():
    assert align("abc", "abc") == [("a", "a"), ("b", "b"), ("c", "c")]
    assert align("abc", "ac") == [("a", "a"), ("b", GAP), ("c", "c")]
    assert align("ac", "abc") == [("a", "a"), (GAP, "b"), ("c", "c")]
    assert sum(t != p for t, p in align("kitten", "sitting")) == 3  # the edit distance


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


def test_confusion_matrix_labels_characters_in_a_font_that_tells_them_apart(tmp_path):
    import matplotlib.pyplot as plt

    from pwocr.evaluation.evaluate import EvalReport, confusion_figure, write_confusion_png, write_wrong_html
    from pwocr.inference.recognizer import Reading

    truths = ("Il0", "O1l")
    readings = tuple(Reading(f"{i}.png", t, t, 0.5, (), ()) for i, t in enumerate(("lI0", "01I")))
    report = EvalReport(compute_metrics(truths, [r.text for r in readings]), {1: 0.0}, 1.0, readings, truths)
    fig = confusion_figure(report)
    ticks = fig.axes[0].get_xticklabels()
    assert {t.get_text() for t in ticks} == {"I", "l", "0", "O", "∅"}
    assert all(t.get_fontproperties().get_file().endswith("DejaVuSansMono.ttf") for t in ticks)
    plt.close(fig)
    write_confusion_png(report, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert write_wrong_html(report, tmp_path / "w.html") == 2
    assert "@font-face{font-family:pwocr-mono" in (tmp_path / "w.html").read_text()


def test_wrong_readings_page_shows_the_photo_in_its_colours(tmp_path):
    import base64
    import re

    import cv2
    import numpy as np
    from PIL import Image

    from pwocr.evaluation.evaluate import EvalReport, write_wrong_html
    from pwocr.inference.recognizer import Reading

    rgb = np.zeros((12, 30, 3), np.uint8)
    rgb[..., 0] = 200  # red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    readings = (Reading(str(tmp_path / "red.png"), "ab", "ab", 0.5, (), ()),)
    report = EvalReport(compute_metrics(("ac",), ["ab"]), {1: 0.0}, 1.0, readings, ("ac",))
    assert write_wrong_html(report, tmp_path / "w.html") == 1
    (data,) = re.findall(r'src="data:image/png;base64,([^"]+)"', (tmp_path / "w.html").read_text())
    shown = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
    assert shown[0, 0].tolist() == [0, 0, 200]  # BGR: the red photo, not a gray one
