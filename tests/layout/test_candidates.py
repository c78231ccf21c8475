"""A photo's password candidates: distinct plausible strings, never a beam's deletions at 0.0%."""

import numpy as np

from pwocr.decoding.beam import Candidate
from pwocr.inference.recognizer import Reading
from pwocr.layout.detector import TextBox, crop_line
from pwocr.layout.photo import PLAUSIBLE, plausible_candidates


def reading(*candidates: tuple[str, float]) -> Reading:
    found = tuple(Candidate(text, p) for text, p in candidates)
    return Reading("card.jpg", found[0].text, found[0].text, found[0].confidence, found, ())


def test_deletions_at_nothing_are_dropped_swaps_and_likely_strings_kept():
    r = plausible_candidates(reading(("k3lQz8", 0.6), ("k3IQz8", 1e-5), ("k3Qz8", 1e-7), ("k3lQz", 0.01)))
    assert [c.text for c in r.candidates] == ["k3lQz8", "k3IQz8", "k3lQz"]
    assert r.text == "k3lQz8" and r.confidence == 0.6


def test_a_lone_reading_is_left_alone():
    assert plausible_candidates(reading(("abc", 0.2))).candidates[0].text == "abc"
    assert PLAUSIBLE < 0.001  # anything that prints as 0.1% or more is offered


def test_a_small_line_is_straightened_at_the_reading_height():
    photo = np.zeros((100, 200), np.uint8)
    photo[40:52, 20:120] = 255
    box = TextBox(np.float32([[20, 40], [120, 40], [120, 52], [20, 52]]), 1.0)
    assert crop_line(photo, box).shape == (12, 100)
    assert crop_line(photo, box, min_height=48).shape == (48, 400)


def test_a_number_with_a_look_alike_letter_is_nearly_a_number():
    from pwocr.layout.photo import nearly_a_number

    assert nearly_a_number("40187O5629") and nearly_a_number("4018l05629")
    assert not nearly_a_number("4018705629")  # already a number
    assert not nearly_a_number("40187X5629")  # X looks like no digit
    assert not nearly_a_number("nep07092") and not nearly_a_number("O1l")


def test_a_label_after_the_value_in_a_script_pwocr_cannot_spell():
    """``12345678 → 密码``: PP-OCRv6 reads the label, pwocr's characters before the arrow are the value."""
    from pwocr.layout.ink import spaced_text
    from pwocr.layout.labels import LabelReading
    from pwocr.layout.photo import _label_text, _SecondReadings

    frames, text = 60, "40187256~?"
    onsets = {3 + 4 * k: 1 for k in range(8)} | {42: 2, 50: 3}  # eight digits, then two unsure symbols
    probs = np.full((frames, 4), 0.01, np.float32)
    probs[:, 0] = 0.97
    for t, label in onsets.items():
        probs[t, 0], probs[t, label] = 0.01, 0.97
    crop = np.full((40, 240), 255, np.uint8)
    crop[10:30, 5:130] = 0
    other = "40187256 → 密码"
    starts = tuple(k / len(other) * 0.9 for k in range(len(other)))

    def label_reader(_: np.ndarray) -> LabelReading:
        return LabelReading(other, starts)

    found = Reading("sign.jpg", text, text, 0.3, (Candidate(text, 0.3),), ())
    second = _SecondReadings(label_reader, [crop])
    seen, to_reading = _label_text(0, probs, found, spaced_text(crop, probs, text, frames), second, frames)
    assert seen.endswith("→ 密码") and seen.startswith("40187256")
    assert to_reading(len(seen)) <= 8 and to_reading(0) == 0
    from pwocr.layout.password import LineFacts, pick_password

    brand = LineFacts("FRITZ!Box 7590 AB", 0.9, 0, 0.0, 200.0)
    pick = pick_password([brand, LineFacts(seen, 0.3, 1, 0.0, 200.0)])
    assert pick.value == "40187256" and to_reading(pick.end) == 8  # the digits beat the brand name


def test_a_misread_label_after_the_value_leaves_the_value_alone():
    """PP-OCRv6 read ``wa%82969 : パスワード`` as ``wa%82969:バ1スワード``: the label found is ``スワード``, and
    ``バ1`` before it is no part of the value (pwocr cannot spell ``バ``), nor the ``:`` pwocr read as ``;``."""
    from pwocr.layout.ink import spaced_text
    from pwocr.layout.labels import LabelReading
    from pwocr.layout.photo import _label_text, _SecondReadings

    frames, text = 60, "wa%82969;!\\"
    onsets = [3 + 4 * k for k in range(len(text))]  # one character every 4 frames, from frame 3
    classes = sorted(set(text))
    probs = np.full((frames, len(classes) + 1), 0.001, np.float32)
    probs[:, 0] = 0.99
    for t, c in zip(onsets, text):
        probs[t, 0], probs[t, classes.index(c) + 1] = 0.001, 0.99
    crop = np.full((40, 240), 255, np.uint8)
    crop[10:30, 5:200] = 0
    other = "wa%82969:バ1スワード"
    starts = tuple((3 + 4 * k) / frames for k in range(len(other)))  # aligned with pwocr's characters

    def label_reader(_: np.ndarray) -> LabelReading:
        return LabelReading(other, starts)

    found = Reading("sign.jpg", text, text, 0.02, (Candidate(text, 0.02),), ())
    second = _SecondReadings(label_reader, [crop])
    seen, to_reading = _label_text(0, probs, found, spaced_text(crop, probs, text, frames), second, frames)
    assert seen.startswith("wa%82969 →") and seen.endswith("スワード"), seen
    assert to_reading(len(seen)) == 8
