"""Text clues of one line, on strings: labels after values, pair separators, column headers."""

import pytest

from pwocr.layout.clues import find_label, header_kinds, pair_segments, spellable_value_end, split_suffix_label


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("12345678 → password", "12345678", "password"),
        ("12345678 -> PW", "12345678", "PW"),
        ("x7#Lq9!p ->PW", "x7#Lq9!p", "PW"),
        ("ovYu0o.,=> Key", "ovYu0o.,", "Key"),
        ("abc12 (PW)", "abc12", "PW"),
        ("abc12 ~ PW", "abc12", "PW"),  # an arrow as pwocr misreads it
        ("abc~ PW", "abc~", "PW"),  # no space before it: the value's own last character
        ("40187256 パスワード", "40187256", "パスワード"),
        ("40187256 Wi-Fi Password", "40187256", "Wi-Fi Password"),
        # PP-OCRv6 drops the space between scripts, and a Unicode arrow is never a password's.
        ("k3!Qz8パスワード", "k3!Qz8", "パスワード"),
        ("Gufujez8#→パスワード", "Gufujez8#", "パスワード"),
        ("Yivokir4732@ 暗号化キー", "Yivokir4732@", "暗号化キー"),
        ("Yivokir4732@ 暗号化キ一", "Yivokir4732@", "暗号化キ一"),  # its long vowel read as the kanji for one
        # PP-OCRv6 reads a ? before another script in its full-width form, and drops the space.
        ("Cocumej5？暗号化キ一", "Cocumej5？", "暗号化キ一"),
        # The long vowel mark read as a dash: the label is still パスワード.
        ("Digocusuz6 → パスワ-ド", "Digocusuz6", "パスワ-ド"),
    ],
)
def test_a_label_after_its_value(text, value, label):
    found = split_suffix_label(text)
    assert found.kind == "password" and found.after
    assert (text[found.start : found.end], found.label) == (value, label)


@pytest.mark.parametrize("text", ["Enter password", "Forgot password?", "keyboard", "abcPW", "abc->PW"])
def test_no_label_after_a_phrase_or_inside_a_word(text):
    assert split_suffix_label(text).kind == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("wa%82969:バ1スワード", "wa%82969"),  # パスワード misread: its first characters are no value
        ("k3!Qz8パスワード", "k3!Qz8"),
        ("12345678 : パスワード", "12345678"),
        ("ab？cd1234 → 密码", "ab？cd1234"),  # a full-width ? is spellable (NFKC), so the value keeps it
        ("バ1スワード", None),  # nothing spellable before the label: the cut stands
        ("/小\\a@Zov →暗号化キー", "/小\\a@Zov"),  # another script inside the value: no cut
        ("Digocusuz6→11スワ-ド", "Digocusuz6"),  # パ read as two strokes after the arrow, ー as a dash
        ("ab→cdef1234 → パスワード", "ab→cdef1234"),  # an arrow inside the value (-> read as one) cuts nothing
    ],
)
def test_a_value_labelled_after_it_ends_before_what_pwocr_cannot_spell(text, value):
    found = find_label(text)
    assert found.after
    end = spellable_value_end(text, found.end)
    assert text[:end].strip() == (value if value is not None else text[: found.end].strip())


def test_a_label_before_the_value_is_found_first():
    found = find_label("PW: abc → key")
    assert (found.kind, found.after, found.label) == ("password", False, "PW")
    assert find_label("CafeLuna → SSID").kind == "other"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("1F: Luna / k3!Qz8", ["1F: Luna", "k3!Qz8"]),
        ("Luna | k3!Qz8", ["Luna", "k3!Qz8"]),
        ("Luna|k3!Qz8", ["Luna|k3!Qz8"]),  # a bar without a space is a password's character
        ("Luna, k3!Qz8", ["Luna", "k3!Qz8"]),
        ("Luna,k3", ["Luna,k3"]),
        ("Luna: k3!Qz8", ["Luna", "k3!Qz8"]),
        ("Luna    k3!Qz8", ["Luna", "k3!Qz8"]),  # a wide gap
    ],
)
def test_pair_segments(text, parts):
    assert [text[a:b] for a, b in pair_segments(text)] == parts


def test_a_colon_splits_only_where_asked():
    assert pair_segments("WPS PIN: 1234", colon=False) == [(0, 13)]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [("ID / PW", ("other", "password")), ("SSID  Password", ("other", "password")), ("ID | PW", ("other", "password"))],
)
def test_column_headers(text, kinds):
    assert header_kinds(text) == kinds


@pytest.mark.parametrize("text", ["Password", "Luna / k3!Qz8", "FREE WIFI here"])
def test_no_header(text):
    assert header_kinds(text) is None
