"""Word gaps from pixels: the model has no space, so a label and its value are told apart by ink."""

import numpy as np

from pwocr.layout.ink import spaced_text


def table(frames: int, onsets: dict[int, int], classes: int = 6) -> np.ndarray:
    """A CTC probability table that is blank everywhere but at ``onsets`` (frame: label)."""
    probs = np.full((frames, classes), 0.01, np.float32)
    probs[:, 0] = 0.95
    for t, label in onsets.items():
        probs[t, 0], probs[t, label] = 0.01, 0.95
    return probs


def line(width: int, blank: list[tuple[int, int]]) -> np.ndarray:
    """Dark ink on white everywhere (a text line squeezed), but white in the ``blank`` column ranges."""
    crop = np.full((40, width), 255, np.uint8)
    crop[10:30, :] = 0
    for x0, x1 in blank:
        crop[:, x0:x1] = 255
    return crop


def test_a_wide_ink_gap_is_a_space_and_narrow_ones_are_not():
    probs = table(50, {5: 1, 10: 2, 30: 3, 35: 4})  # x = 4 * frame across a 200-pixel line
    crop = line(200, [(24, 27), (64, 116), (140, 143)])
    assert spaced_text(crop, probs, "abcd") == "ab cd"


def test_in_a_monospaced_line_a_word_gap_is_wider_than_its_letters_wide_blanks():
    """``Studio WiFi``: a monospaced font leaves each narrow letter (``i``, ``l``, ``:``) blanks wider
    than a proportional font's word gap; the word gap is wider still."""
    onsets = {2 + 4 * k: 1 + k % 5 for k in range(6)} | {34 + 4 * k: 1 + k % 5 for k in range(5)}
    probs = table(60, onsets)  # two words: 6 letters from frame 2, 5 from frame 34 (x = 4 * frame)
    starts = [4 * t for t in sorted(onsets)]
    crop = line(240, [(x + 9, x + 16) for x in starts[:-1]])  # 7-px blanks between letters (0.18 heights)
    crop[:, starts[5] + 9 : starts[6]] = 255  # the word gap: 35 px
    assert spaced_text(crop, probs, "StudioWiFi-") == "Studio WiFi-"


def test_letter_spaced_field_is_not_split_into_words():
    probs = table(50, {5: 1, 15: 2, 25: 3, 35: 4})
    crop = line(200, [(28, 56), (68, 96), (108, 136)])
    assert spaced_text(crop, probs, "abcd") == "abcd"


def test_text_that_does_not_match_the_table_is_returned_as_is():
    assert spaced_text(line(200, []), table(50, {5: 1}), "abc") == "abc"


def test_a_last_character_read_over_the_padding_is_no_word_gap():
    """With a model that pads lines, the table runs on past the crop (here 50 frames over 200 px,
    10 more over the padding); a last letter read there must not turn the crop's right margin into
    a space, nor be taken for a phantom after a label."""
    from pwocr.layout.ink import phantoms_at

    probs = table(60, {5: 1, 10: 2, 30: 3, 52: 4})
    crop = line(200, [(24, 27), (64, 116), (160, 200)])  # a word gap, then the crop's blank margin
    assert spaced_text(crop, probs, "abcd", frames=50) == "ab cd"
    # Read from the 4th character on: it lies over the padding, so it is real, not a phantom.
    assert phantoms_at(crop, probs, 3, frames=50) == 0


def test_an_inkless_character_after_the_value_is_a_phantom_one_over_ink_is_not():
    from pwocr.layout.ink import trailing_phantoms

    probs = table(50, {5: 1, 10: 2, 15: 3, 40: 4})  # the 4th character read at x = 160, where there is no ink
    crop = line(200, [(70, 200)])
    assert trailing_phantoms(crop, probs, 4, frames=50) == 1
    assert trailing_phantoms(line(200, []), probs, 4, frames=50) == 0


def test_a_thin_mark_read_a_frame_after_its_ink_is_no_phantom():
    from pwocr.layout.ink import trailing_phantoms

    crop = line(200, [(0, 10), (70, 150), (154, 200)])  # ink under the first three, and a thin mark at 150-153
    late = table(50, {5: 1, 10: 2, 15: 3, 39: 4})  # the mark read at x = 156, one frame after its ink
    assert trailing_phantoms(crop, late, 4, frames=50) == 0  # a password's last ' kept (scene157 of photos.py)
    far = table(50, {5: 1, 10: 2, 15: 3, 41: 4})  # read at x = 164: two frames away, over a blank margin
    assert trailing_phantoms(crop, far, 4, frames=50) == 1


def test_value_table_keeps_the_value_frames_only():
    from pwocr.layout.ink import value_table

    probs = table(50, {5: 1, 10: 2, 30: 3, 35: 4})
    assert value_table(probs, 2, 3).argmax(-1).tolist().count(3) == 1
    assert 4 not in value_table(probs, 2, 3).argmax(-1).tolist()
    assert value_table(probs, 0).shape == probs.shape


def test_a_character_read_over_a_word_gap_is_shown_as_the_gap_and_one_over_ink_is_kept():
    from pwocr.layout.ink import spelt_words

    probs = table(50, {5: 1, 10: 2, 22: 5, 30: 3, 35: 4})  # "ab_cd": the "_" at x = 88
    gap = line(200, [(24, 27), (64, 116), (140, 143)])  # no ink from x = 64 to 116
    assert spelt_words(gap, probs, "ab_cd") == "ab cd"
    # An underscore drawn there is ink: it stays, and there is no word gap around it.
    assert spelt_words(line(200, [(24, 27), (140, 143)]), probs, "ab_cd") == "ab_cd"


def test_where_most_characters_seem_inkless_the_reading_stays():
    from pwocr.layout.ink import spelt_words

    probs = table(50, {5: 1, 10: 2, 22: 5, 30: 3, 35: 4})
    assert spelt_words(line(200, [(0, 200)]), probs, "ab_cd") == "ab_cd"


def test_a_reading_with_spaces_keeps_its_characters():
    """A model whose alphabet has a space spells its own gaps: no character is taken for one."""
    from pwocr.layout.ink import spelt_words

    probs = table(50, {5: 1, 10: 2, 22: 5, 30: 3, 35: 4, 40: 1})  # "ab cda", the space read at x = 88
    gap = line(200, [(24, 27), (64, 116), (140, 143)])
    assert spelt_words(gap, probs, "ab cda").replace(" ", "") == "abcda"
