"""The password pick on hand-made line facts: labels, layout and looks, without any model."""

import pytest

from pwocr.layout.password import LineFacts, pick_password, rank_passwords, split_label


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
    label, kind, _, start = split_label(text)
    assert kind == "password" and label
    assert text[start:] == value


@pytest.mark.parametrize("text", ["pwX7q9", "Key-abc", "Forgot password?", "keyboard"])
def test_no_label_without_a_separator_or_at_the_start(text):
    assert split_label(text)[1] == ""


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
