"""Photos whose text stands sideways or upside down are read as they would be upright."""

import numpy as np
import pytest

from pwocr.inference.recognizer import Recognizer
from pwocr.layout import read_photo
from pwocr.layout.detector import TextBox, default_detector
from pwocr.layout.orientation import AngleClassifier, default_angle_classifier, unturn_box, upright_turns
from pwocr.layout.photo import load_photo, luminance
from pwocr.synth.fonts import fonts_for
from pwocr.synth.scenes import compose_scene


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer("default", threads=1)


@pytest.fixture(scope="module")
def upright():
    s = compose_scene(np.random.default_rng(6), fonts_for("eval"), kind="router_sticker", size=(1024, 768))
    return s, read_photo(Recognizer("default", threads=1), s.image, candidates=3)


def test_the_upright_scene_is_read_as_it_stands(upright):
    s, reading = upright
    assert reading.turned == 0 and reading.as_dict()["turned"] == 0
    assert reading.password is not None and reading.password.reading.text == s.password


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_sideways_or_upside_down_photo_reads_as_it_would_upright(recognizer, upright, turns):
    s, straight = upright
    photo = np.ascontiguousarray(np.rot90(s.image, turns))  # the photo as a turned phone took it
    reading = read_photo(recognizer, photo, candidates=3)
    assert reading.turned == (360 - 90 * turns) % 360
    assert reading.size == (photo.shape[1], photo.shape[0])
    assert reading.password is not None and reading.password.reading.text == s.password
    assert [line.words for line in reading.lines] == [line.words for line in straight.lines]
    # Boxes are in the pixels of the photo as given: each is the upright box, turned with the photo.
    for line, upright_line in zip(reading.lines, straight.lines):
        h, w = s.image.shape[:2]
        corner = upright_line.box.points[0]
        for _ in range(turns):  # np.rot90 moves a pixel (x, y) of a w-wide image to (y, w - 1 - x)
            corner = np.array([corner[1], w - 1 - corner[0]])
            w, h = h, w
        np.testing.assert_allclose(line.box.points[0], corner, atol=1e-3)


def test_without_the_classifier_a_photo_is_read_as_it_stands(recognizer, upright):
    s, _ = upright
    reading = read_photo(recognizer, np.rot90(s.image, 2).copy(), angles=None)
    assert reading.turned == 0
    assert reading.password is None or reading.password.reading.text != s.password


def test_the_vote_of_the_lines_finds_each_quarter_turn(upright):
    s, _ = upright
    classifier = default_angle_classifier()
    assert isinstance(classifier, AngleClassifier)
    for turns in range(4):
        gray = luminance(load_photo(np.rot90(s.image, turns).copy()))
        assert upright_turns(gray, default_detector()(gray), classifier) == (4 - turns) % 4
    assert upright_turns(luminance(s.image), [], classifier) == 0


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_a_box_turned_back_lands_where_it_was(turns):
    shape = (60, 100)  # h, w of the photo as given
    points = np.float32([[10, 5], [40, 5], [40, 15], [10, 15]])
    turned = points.copy()
    h, w = shape
    for _ in range(turns):
        turned = np.stack([turned[:, 1], (w - 1) - turned[:, 0]], axis=1)
        w, h = h, w
    back = unturn_box(TextBox(turned.astype(np.float32), 0.9), turns, shape)
    np.testing.assert_allclose(back.points, points, atol=1e-4)


class AlwaysUpsideDown:
    """A classifier that takes every line for upside down, as PP-OCR's may a random password (``}<6S>z9X=j|``)."""

    def upside_down(self, lines):
        return np.ones(len(lines))


class Counting(AlwaysUpsideDown):
    def __init__(self) -> None:
        self.calls = 0

    def upside_down(self, lines):
        self.calls += 1
        return super().upside_down(lines)


def test_a_photo_taken_for_upside_down_stays_upright_when_it_reads_better_so(recognizer, upright, monkeypatch):
    from pwocr.layout import photo

    s, straight = upright
    monkeypatch.setattr(photo, "SURELY_UPRIGHT", 1.01)  # every photo put to the vote, however surely it reads
    classifier = Counting()
    reading = read_photo(recognizer, s.image, candidates=3, angles=classifier)
    assert classifier.calls == 1 and reading.turned == 0
    assert reading.as_dict() == {**straight.as_dict(), "image": reading.image}


def test_a_photo_whose_lines_read_surely_as_it_stands_is_not_put_to_the_vote(recognizer, upright):
    from pwocr.layout.photo import SURELY_UPRIGHT, legibility

    s, straight = upright
    assert legibility(straight) >= SURELY_UPRIGHT
    classifier = Counting()
    reading = read_photo(recognizer, s.image, candidates=3, angles=classifier)
    assert classifier.calls == 0 and reading.as_dict() == {**straight.as_dict(), "image": reading.image}
    # Upside down, the lines read badly: put to the vote (every line upside down), turned and read upright.
    turned = read_photo(recognizer, np.rot90(s.image, 2).copy(), angles=classifier)
    assert classifier.calls == 1 and turned.turned == 180 and turned.password.reading.text == s.password


def test_the_photo_models_threads_sleep_after_each_run_and_the_line_readers_spin(recognizer):
    """Sessions that take turns on a whole photo must not spin into each other's runs; a recognizer
    reading line after line keeps onnxruntime's default (spinning: faster one line at a time)."""
    from pwocr.layout.labels import default_label_reader

    def spins(session) -> bool:
        try:
            return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") != "0"
        except Exception:  # not set (onnxruntime raises its own error type): its default, spinning
            return True

    labels = default_label_reader()
    sessions = (default_detector().session, labels.session, labels.head, default_angle_classifier().session)
    assert not any(spins(session) for session in sessions)
    assert spins(recognizer.engine.session)
