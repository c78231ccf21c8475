"""The password pick on hand-made line facts: labels, layout and looks, without any model."""

import pytest

from pwocr.layout.clues import split_label
from pwocr.layout.password import LineFacts, PickerWeights, pick_pairs, pick_password, rank_passwords


def lines(*rows: str | tuple[str, ...]) -> list[LineFacts]:
    """Facts for rows of text; a tuple is several boxes left to right in one row."""
    out = []
    for r, row in enumerate(rows):
        for k, text in enumerate((row,) if isinstance(row, str) else row):
            out.append(LineFacts(text, 0.9, r, 100.0 + 300 * k, 300.0 + 300 * k))
    return out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("PW : abc", "abc"),
        ("PW:abc", "abc"),
        ("Password: x7#Lq", "x7#Lq"),
        ("Wireless Key:;}&;EVG", ";}&;EVG"),  # one separator only: the password's own ';' stays
        ("Mot de passe : Zq!9", "Zq!9"),
        ("Contraseña: ab12", "ab12"),
        ("Contrasena:ab12", "ab12"),  # read without the tilde
        ("Hasło: qq77", "qq77"),
        ("密码：abc12", "abc12"),
        ("パスワード: k9", "k9"),
        ("비밀번호 : k9", "k9"),
        ("WPA2-PSK:Wok3", "Wok3"),
        ("Wi-Fi Password: Kx", "Kx"),
        ("pass=p@v\\=s", "p@v\\=s"),
        ("Pasword:abc", "abc"),  # a label misread by one letter still counts
    ],
)
def test_label_is_stripped(text, value):
    found = split_label(text)
    assert found.kind == "password" and found.label
    assert text[found.start : found.end] == value


@pytest.mark.parametrize("text", ["pwX7q9", "Key-abc", "Forgot password?", "keyboard"])
def test_no_label_without_a_separator_or_at_the_start(text):
    assert split_label(text).kind == ""


def test_label_on_the_same_line_beats_a_password_like_decoy():
    pick = pick_password(lines("Guest WiFi", "SSID: Zx9#kQ2!vB", "Password: hello2024", "Restroom code: 4821"))
    assert pick.value == "hello2024" and "same line" in pick.why


def test_value_below_its_label_and_right_of_it():
    below = pick_password(lines("Network name", "CafeLuna", "Passwort", "k3!Qz8Lp", "Forgot password?"))
    assert below.value == "k3!Qz8Lp" and "below the label 'Passwort'" in below.why
    right = pick_password(lines(("SSID:", "Casa-Gast"), ("PW:", "hQ{h1>g<yQ4j"), "www.cafe-luna.com"))
    assert right.value == "hQ{h1>g<yQ4j" and "right of" in right.why


def test_second_of_a_name_password_pair():
    pick = pick_password(lines("FRITZ!Box 7590 AB", "4815162342108265"))
    assert pick.line == 1 and "pair" in pick.why


def test_decoys_lose_without_labels():
    pick = pick_password(lines("https://portal.example.net/login", "Open 7am - 9pm", "Xq7!mZ2#pL", "Thank you!"))
    assert pick.value == "Xq7!mZ2#pL"


def test_key_beats_wps_pin_and_ranking_lists_every_value():
    facts = lines("SSID: NETGEAR45", "WPS PIN: 12345670", "Wireless Key: purplecat512")
    ranked = rank_passwords(facts)
    assert ranked[0].value == "purplecat512"
    assert {p.value for p in ranked} == {"NETGEAR45", "12345670", "purplecat512"}


def test_nothing_to_pick():
    assert pick_password([]) is None
    assert pick_password(lines("Password:")) is None


def test_a_lone_label_with_a_misread_colon_still_labels_the_line_below():
    pick = pick_password(lines("Internet voucher", "Username:", "j.smith68", "PW;", "gobalam9", "Latte 3.00"))
    assert pick.value == "gobalam9" and "'PW'" in pick.why


def test_prices_lose():
    assert all(p.score < 0 for p in rank_passwords(lines("Latte 3.50", "Tea €2,80")))


# ---------------------------------------------------------------- pairs on one line


@pytest.mark.parametrize(
    ("row", "network", "value"),
    [
        ("1F: CafeLuna / k3!Qz8Lp", "1F: CafeLuna", "k3!Qz8Lp"),
        ("CafeLuna | 88884444", "CafeLuna", "88884444"),
        ("CafeLuna, Zq9#pL2m", "CafeLuna", "Zq9#pL2m"),
        ("CafeLuna: Zq9#pL2m", "CafeLuna", "Zq9#pL2m"),
        ("SSID: Casa-Gast / PW: hQ{h1>g", "Casa-Gast", "hQ{h1>g"),
    ],
)
def test_name_and_password_on_one_line_split_at_the_separator(row, network, value):
    pick = pick_password(lines("FREE WIFI", row, "Thank you!"))
    assert (pick.value, pick.network) == (value, network), pick.why


def test_a_password_label_keeps_its_whole_value_however_it_is_spaced():
    assert pick_password(lines("Password: ab/ cd")).value == "ab/ cd"


def test_a_labelled_value_read_with_many_gaps_still_beats_a_title():
    """Gaps read around a password's symbols make it look like a phrase; its label outweighs that."""
    pick = pick_password(lines("Wireless Settings", "Security: WPA2/WPA3", "Key: r . /sje%l> ; , , ?", "Channel: 12"))
    assert pick.value == "r . /sje%l> ; , , ?" and pick.label == "Key", pick.why


def test_an_address_under_a_password_label_still_loses():
    pick = pick_password(lines("Password", "https://portal.example.org/login", "Zq9#pL2m!x"))
    assert pick.value == "Zq9#pL2m!x", pick.why


def test_a_phrase_after_a_comma_is_no_password():
    pick = pick_password(lines("Thank you, come again", "Xq7!mZ2#pL"))
    assert pick.value == "Xq7!mZ2#pL"


def test_wide_gap_in_a_row_makes_a_pair():
    pick = pick_password(lines("Guest", ("CafeLuna", "m7Hq2xLw")))
    assert pick.value == "m7Hq2xLw" and pick.network == "CafeLuna" and "right of" in pick.why


@pytest.mark.parametrize(
    "row", ["1F: Biblioteca-Gast: POJA=Kuhod", "[ 1F: Biblioteca-Gast: POJA=Kuhod", "» Luna / k3!Qz8aa"]
)
def test_a_name_password_line_after_an_icon_read_as_a_mark(row):
    """A Wi-Fi or lock icon before the line reads as a lone mark (``[``, ``»``): still a name and its password."""
    pick = pick_password(lines("FREE WIFI", row, "Valid until 21.11.2026"))
    assert pick.value == row.rpartition(" ")[2] and "name/password" in pick.why


# ---------------------------------------------------------------- labels after values


@pytest.mark.parametrize(
    "row",
    ["40187256 → password", "40187256 -> PW", "40187256 (pw)", "40187256 ← Passwort", "40187256 パスワード"],
)
def test_label_after_the_value(row):
    pick = pick_password(lines("CafeLuna-Free → SSID", row, "FRITZ!Box 7590 AB"))
    assert pick.value == "40187256" and "after it" in pick.why


def test_a_name_labelled_after_it_is_not_the_password():
    ranked = rank_passwords(lines("NETGEAR45 → ID", "x7#Lq9!p → PW"))
    assert ranked[0].value == "x7#Lq9!p" and ranked[-1].value == "NETGEAR45" and ranked[-1].score < 0


def test_a_plain_phrase_ending_in_a_label_word_is_no_labelled_value():
    pick = pick_password(lines("Enter password", "Xq7!mZ2#pL"))
    assert pick.value == "Xq7!mZ2#pL"


# ---------------------------------------------------------------- headers, several networks


@pytest.mark.parametrize("header", ["ID / PW", "ID_| PW", "ID _ PW"])
def test_id_pw_header_over_a_table_of_networks(header):
    """The header as printed, or with the gap before its bar read as ``_``: labels only, not ``ID_|`` labelled ``PW``."""
    facts = lines("Wi-Fi", header, "Cafe-1F / k3!Qz8Lp", "Cafe-2F / 9Xw#e2Rt")
    pairs = pick_pairs(facts)
    assert [(p.network, p.value) for p in pairs] == [("Cafe-1F", "k3!Qz8Lp"), ("Cafe-2F", "9Xw#e2Rt")]


def test_header_boxes_over_columns():
    facts = lines(("SSID", "Password"), ("CafeLuna", "40187256"), ("CafeLuna-5G", "77310925"))
    assert [p.value for p in pick_pairs(facts)] == ["40187256", "77310925"]


def test_several_networks_each_with_its_pair_the_pick_first():
    facts = lines("FREE WIFI", "1F: Luna-1F / k3!Qz8Lp", "2F: Luna-2F / 9Xw#e2Rt", "Open 7am - 9pm")
    pairs = pick_pairs(facts)
    assert {p.value for p in pairs} == {"k3!Qz8Lp", "9Xw#e2Rt"}
    assert pairs[0] == pick_password(facts)
    labelled = lines("SSID: Luna", "Password: k3!Qz8Lp", "SSID: Sol", "Password: 9Xw#e2Rt")
    assert [p.value for p in pick_pairs(labelled)][1:] == ["9Xw#e2Rt"] or len(pick_pairs(labelled)) == 2


def test_a_pick_on_looks_alone_stands_by_itself():
    assert len(pick_pairs(lines("Xq7!mZ2#pL", "Thank you!", "Zq9#pL2m!x"))) == 1


# ---------------------------------------------------------------- looks against labels


def test_number_only_password_under_a_label_beats_a_brand_name():
    pick = pick_password(lines("FRITZ!Box 7590 AB", "Passwort", "4815162342"))
    assert pick.value == "4815162342"
    pick = pick_password(lines("Vodafone-5G_A7F3", "NETGEAR-Guest!2", "Password", "0123456789"))
    assert pick.value == "0123456789"


def test_weights_are_named_and_change_the_pick():
    facts = lines("SSID: Xq7!mZ2#pL", "hello2024")
    assert pick_password(facts).value == "hello2024"
    assert pick_password(facts, PickerWeights(other_label=0.0)).value == "Xq7!mZ2#pL"


def test_a_labelled_password_belongs_to_the_network_named_before_it():
    assert pick_password(lines("SSID: CafeLuna", "Password: k3!Qz8Lp")).network == "CafeLuna"
    assert pick_password(lines("CafeLuna → ID", "k3!Qz8Lp → PW")).network == "CafeLuna"
    assert pick_password(lines("Network name", "CafeLuna", "Passwort", "k3!Qz8Lp")).network == "CafeLuna"
    assert pick_password(lines("Welcome", "Password: k3!Qz8Lp")).network is None


@pytest.mark.parametrize(
    ("row", "network", "value"),
    [
        ("1F : HotelAzur_5G - 1F / dizofuj5693", "1F : HotelAzur_5G - 1F", "dizofuj5693"),  # dashes are the name's
        ("1F : ASUS_C7 : * : 0{6 | Kjv;CA2NN", "1F : ASUS_C7", "* : 0{6 | Kjv;CA2NN"),  # separators in the password
        ("Wi-Fi : Guest : n]82ChHghxAD$kG", "Guest", "n]82ChHghxAD$kG"),
        ("Wi-Fi: Livebox-4E | Bef&5621", "Livebox-4E", "Bef&5621"),
    ],
)
def test_the_name_ends_at_the_last_separator_with_only_a_name_before_it(row, network, value):
    pick = pick_password(lines("FREE WIFI", row, "Latte 3.90"))
    assert (pick.value, pick.network) == (value, network), pick.why


def test_a_label_and_its_value_are_no_pair():
    ranked = rank_passwords(lines("WPS PIN: 12345670", "SSID: Casa-Gast", "Xq7!mZ2#pL"))
    assert ranked[0].value == "Xq7!mZ2#pL" and all(p.score < 0 for p in ranked[1:])


def test_a_value_under_its_label_is_whole_even_with_separators_in_it():
    assert pick_password(lines("Rede: FRITZ!Box", "Parola:", "%LqW50g@ | ~#~nA)")).value == "%LqW50g@ | ~#~nA)"
    assert pick_password(lines("SSID: FRITZ!Box", "Passwort:", "#=e\\e, 9T$o_>]")).value == "#=e\\e, 9T$o_>]"
