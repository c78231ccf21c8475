import pytest

from pwocr.alphabet import PRINTABLE_94, Alphabet, resolve_charset
from pwocr.errors import PwocrError


def test_default_alphabet_is_the_seeds_94_characters_in_order():
    assert len(PRINTABLE_94) == 94
    assert PRINTABLE_94[0] == "!" and PRINTABLE_94[-1] == "~"
    assert PRINTABLE_94 == "".join(sorted(PRINTABLE_94))
    assert Alphabet.default().num_classes == 95


def test_named_and_literal_charsets():
    assert resolve_charset("digits") == "0123456789"
    assert set(resolve_charset("hex")) == set("0123456789abcdefABCDEF")
    assert resolve_charset("digits+upper") == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert resolve_charset("aab!") == "ab!"
    assert resolve_charset("literal:abcab") == "abc"
    assert resolve_charset("0123456789abcdef") == "0123456789abcdef"  # the seed's literal alphabets
    with pytest.raises(PwocrError):
        resolve_charset("")


@pytest.mark.parametrize("typo", ["digit", "Digits", "digitz", "digits+uper"])
def test_mistyped_charset_names_are_errors_that_list_the_names(typo):
    with pytest.raises(PwocrError, match=r"unknown charset name .*digits, hex.*literal:"):
        resolve_charset(typo)


def test_alphabet_from_labels_is_sorted_and_unique():
    assert Alphabet.from_labels(["ba", "ca"]).chars == "abc"


def test_encode_decode_round_trip_and_blank_skipped():
    a = Alphabet("abc")
    assert a.encode("cab") == [3, 1, 2]
    assert a.decode([0, 3, 0, 1, 2, 0]) == "cab"


def test_unknown_character_names_source_character_and_place_never_the_label():
    with pytest.raises(PwocrError) as e:
        Alphabet("qwz").encode("qwzé", source="photos/x.png")
    message = str(e.value)
    assert "photos/x.png" in message and "'é' (character 4 of 4)" in message
    assert "qwz" not in message  # a label is a password


def test_repeated_characters_rejected_naming_the_character_not_the_whole_alphabet():
    with pytest.raises(PwocrError, match=r"^the alphabet repeats 'b'$"):
        Alphabet("abcdbe")
