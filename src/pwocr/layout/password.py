"""Which line of a photo is the password: label evidence, layout and how password-like a string is.

A photo of a Wi-Fi card, a router sticker or a login page shows the password among other lines:
a title, the network name, a URL, a restroom code. People find it by its label (``Password:``,
``WPA Key``, ``Passwort``, ``密码``...) before it on the same line or above it, by its place as the
second of a name/password pair, and by its look (a random mix of cases, digits and symbols).
``pick_password`` scores every line on that evidence and says why it chose the one it did; the
label is cut off the value (``PW : abc`` gives ``abc``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Labels that announce a password, normalised (lower case, no accents, no spaces, dashes or dots).
#: Longer first, so ``wpa2psk`` wins over ``wpa``; the value is its weight as evidence.
PASSWORD_LABELS: dict[str, float] = {
    label: weight
    for weight, labels in (
        (3.0, (
            "password", "passwort", "passwd", "passphrase", "presharedkey", "wirelesskey", "networkkey",
            "securitykey", "wpa2psk", "wpapsk", "wpa2key", "wpakey", "wpa3key", "wifikey", "wlanschlussel",
            "netzwerkschlussel", "schlussel", "motdepasse", "contrasena", "contrasenya", "senha", "parola",
            "haslo", "heslo", "wachtwoord", "salasana", "losenord", "adgangskode", "jelszo", "sifre", "пароль",
            "密码", "密碼", "パスワード", "비밀번호", "clave", "cle", "kennwort", "pass", "pwd", "psk", "pw", "key",
        )),
        (1.5, ("pincode", "pin", "code", "codigo", "accesscode")),
    )
    for label in labels
}  # fmt: skip

#: Labels of lines that are not the password: network names, user names, addresses and device data.
OTHER_LABELS = (
    "networkname", "network", "netzwerk", "netzwerkname", "reseau", "rede", "rete", "red", "ssid", "wifiname",
    "wlanname", "wifi", "wlan", "name", "username", "user", "login", "benutzer", "usuario", "utilisateur",
    "email", "mail", "host", "server", "url", "security", "securitytype", "sicherheit", "channel", "kanal",
    "model", "modell", "sn", "serial", "mac", "ip", "wpspin", "wps", "imei", "room", "zimmer", "valid",
    "gultig", "restroomcode", "restroom", "toilet", "wc", "door", "gate", "bathroom",
)  # fmt: skip

#: Words that may precede a password label in one phrase (``Wi-Fi Password``, ``Guest network key``).
_PREFACE = ("wifi", "wlan", "guest", "gast", "wireless", "network", "wpa2", "wpa3", "wpa", "your", "admin", "router", "the")  # fmt: skip
#: What separates a label from its value: one colon (also full-width) or equals sign, or a dash or
#: arrow between spaces. Only one is taken, so a password may itself start with ``:`` or ``;``.
_SEPARATOR = re.compile(r"^\s*[:：=]\s*|^\s+[-–—>|]\s+|^\s+")
_URL = re.compile(
    r"(https?:|www\.|\.(com|org|net|de|fr|es|it|io|co|uk)\b|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)", re.I
)
#: A menu or price-list line: a word and a price (``Latte 3.50``, ``Tea €2,80``).
_PRICE = re.compile(r"^[A-Za-z][A-Za-z ]*\s?[$€£]?\d{1,3}[.,]\d{2}\s?[$€£]?$")
_MAC = re.compile(r"^([0-9a-f]{2}[:\-]){5}[0-9a-f]{2}$", re.I)
_DATE_TIME = re.compile(
    r"^\d{1,2}[./:]\d{2}([./]\d{2,4})?$|\b\d{1,2}(:\d{2})?\s?(am|pm)\b|\b\d{1,2}\.\d{1,2}\.(19|20)\d{2}\b", re.I
)


@dataclass(frozen=True)
class LineFacts:
    """What the picker needs of a line: its text, its recognizer confidence and where it sits.

    ``row`` numbers rows top to bottom; ``left``/``right`` are the line's extent along the row, in
    the photo's deskewed frame, so a line can be found to the right of or below another.
    """

    text: str
    confidence: float
    row: int
    left: float
    right: float


@dataclass(frozen=True)
class PasswordPick:
    """The chosen line, where its value starts in the text (after the label), and the evidence."""

    line: int
    start: int
    value: str
    label: str | None
    why: str
    score: float


def normalise(text: str) -> tuple[str, list[int]]:
    """Lower case, accents and spacing removed; and for each kept character its index in ``text``.

    OCR of a label is compared in this form, so ``Mot de passe :`` and ``Contraseña`` match
    readings without spaces or accents (``Motdepasse:``, ``Contrasena``).
    """
    out, index = [], []
    for i, c in enumerate(text):
        if c in " \t-_./'’":
            continue
        # Latin letters lose their accents (ñ is n); kana and hangul keep theirs (パ is not ハ).
        base = unicodedata.normalize("NFKD", c)[0]
        out.append({"ł": "l", "Ł": "l"}.get(c, base if base.isascii() else unicodedata.normalize("NFKC", c)).lower())
        index.append(i)
    return "".join(out).replace("ß", "ss"), index


def _close(a: str, b: str) -> bool:
    """Equal, or one edit apart for labels of five letters or more (OCR of a label misreads a letter)."""
    if a == b:
        return True
    if len(b) < 5 or abs(len(a) - len(b)) > 1:
        return False
    # One substitution, insertion or deletion.
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i + 1 :] or a[i:] == b[i + 1 :] or a[i + 1 :] == b[i:]


def split_label(text: str) -> tuple[str | None, str, float, int]:
    """``(label, kind, weight, start)``: a known label at the start of ``text`` and where the value begins.

    ``kind`` is ``"password"``, ``"other"`` or ``""`` (no label); ``start`` is the index in ``text``
    of the value after the label and its separator (``len(text)`` for a label alone on its line).
    A label only counts when a separator or the end of the line follows it, so a password that
    happens to start with ``pw`` or ``key`` keeps its first letters.
    """
    norm, index = normalise(text)
    pos = 0
    while True:  # skip preface words: "Wi-Fi", "Guest", "Wireless" before the label itself
        for word in _PREFACE:
            if norm.startswith(word, pos) and len(norm) > pos + len(word):
                rest = norm[pos + len(word) :]
                if any(rest.startswith(label) or _close(rest[: len(label)], label) for label in PASSWORD_LABELS):
                    pos += len(word)
                    break
        else:
            break
    for kind, labels in (("password", tuple(PASSWORD_LABELS)), ("other", OTHER_LABELS)):
        for label in sorted(labels, key=len, reverse=True):
            for size in (len(label), len(label) + 1, len(label) - 1):  # the exact length first
                candidate = norm[pos : pos + size]
                if (
                    size < 1
                    or len(candidate) != size
                    or not _close(candidate, label)
                    or (size != len(label) and len(label) < 5)
                ):
                    continue
                end = pos + size  # in norm; map back to text
                text_end = index[end - 1] + 1
                rest = text[text_end:]
                if re.fullmatch(r"\s*[:;：.,=]?\s*", rest):
                    # A label alone on its line; its colon may be misread (``PW;``).
                    weight = PASSWORD_LABELS.get(label, 0.0) if kind == "password" else 0.0
                    return text[:text_end].strip(), kind, weight, len(text)
                separator = _SEPARATOR.match(rest)
                if rest and separator is None:
                    continue  # no separator: "pwX7q..." is a password, not a label
                weight = PASSWORD_LABELS.get(label, 0.0) if kind == "password" else 0.0
                start = text_end + (separator.end() if separator else 0)
                return text[:text_end].strip(), kind, weight, start
    return None, "", 0.0, 0


def password_likeness(text: str) -> float:
    """How much ``text`` looks like a password rather than a name, word, number or address (-3 to 2)."""
    t = text.strip()
    if len(t) < 4:
        return -2.0
    if _URL.search(t) or _MAC.match(t) or _DATE_TIME.search(t) or _PRICE.match(t):
        return -3.0
    classes = sum(
        bool(re.search(p, t)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9\s]")
    )  # lower, upper, digit, symbol
    score = 0.5 * (classes - 1)
    if " " in t:
        score -= 0.5 * t.count(" ")  # phrases and sentences; passwords rarely hold spaces
    if t.isdigit():
        score -= 0.5 if len(t) >= 8 else 1.5  # room numbers, restroom and door codes
    if re.fullmatch(r"[A-Z]?[a-z]+[!?.]?", t):
        score -= 1.0  # one plain word: a title or a button
    if t.endswith("?"):
        score -= 1.0
    if 8 <= len(t) <= 64:
        score += 0.5
    return max(-3.0, min(2.0, score))


def pick_password(lines: Sequence[LineFacts]) -> PasswordPick | None:
    """The line most likely to hold the password, with the label stripped and the reason, or ``None``.

    Evidence, strongest first: a password label on the same line (``Key: value``), to its left in
    the same row, or alone on the line above; being the second of two unlabelled lines (a network
    name, then its password); how password-like the string is; the recognizer's confidence. A
    line labelled as something else (SSID, user, URL, PIN of WPS) loses.
    """
    parsed = [split_label(line.text) for line in lines]
    ranked: list[PasswordPick] = []
    for i, line in enumerate(lines):
        label, kind, weight, start = parsed[i]
        value = line.text[start:].strip()
        if not value:
            continue  # a label alone: its value is elsewhere
        score, reasons = 0.0, []
        if kind == "password":
            score += weight
            reasons.append(f"labelled {label!r} on the same line")
        elif kind == "other":
            score -= 3.0
            reasons.append(f"labelled {label!r}, not a password label")
        else:
            source = _label_for(i, lines, parsed)
            if source is not None:
                j, where = source
                label_j, kind_j, weight_j, _ = parsed[j]
                if kind_j == "password":
                    score += weight_j
                    reasons.append(f"{where} the label {label_j!r}")
                else:
                    score -= 3.0
                    reasons.append(f"{where} the label {label_j!r}, not a password label")
            elif _second_of_pair(i, lines, parsed) and password_likeness(lines[i - 1].text) > -2:
                score += 1.5
                reasons.append("second of a name/password pair")
        likeness = password_likeness(value)
        score += likeness + 0.5 * line.confidence
        if not reasons:
            reasons.append("the most password-like line, without a label")
        reasons.append(f"password-likeness {likeness:+.1f}")
        ranked.append(PasswordPick(i, start, value, label if kind == "password" else None, "; ".join(reasons), score))
    if not ranked:
        return None
    return max(ranked, key=lambda p: p.score)


def rank_passwords(lines: Sequence[LineFacts]) -> list[PasswordPick]:
    """Every candidate line as ``pick_password`` scores it, best first (for top-k evaluation)."""
    out: list[PasswordPick] = []
    remaining = list(lines)
    taken: set[int] = set()
    while True:
        masked = [
            LineFacts(line.text if k not in taken else "", line.confidence, line.row, line.left, line.right)
            for k, line in enumerate(remaining)
        ]
        pick = pick_password(masked)
        if pick is None:
            return out
        out.append(pick)
        taken.add(pick.line)


def _label_for(i: int, lines: Sequence[LineFacts], parsed: Sequence[tuple]) -> tuple[int, str] | None:
    """A label alone on its line, left of line ``i`` in its row or in the row just above it."""
    line = lines[i]
    # Boxes of one row may overlap a little (a widened box, a colon): left means centred left of this one's start.
    left = [j for j, other in enumerate(lines) if other.row == line.row and (other.left + other.right) / 2 < line.left]
    if left:
        j = max(left, key=lambda k: lines[k].right)
        if parsed[j][1] and not lines[j].text[parsed[j][3] :].strip():
            return j, "right of"
        return None
    above = [j for j, other in enumerate(lines) if other.row == line.row - 1]
    if not above:
        return None
    # The nearest line above that overlaps this one horizontally (a label over its field).
    width = max(line.right - line.left, 1.0)
    overlapping = [j for j in above if min(lines[j].right, line.right) - max(lines[j].left, line.left) > -0.5 * width]
    for j in sorted(overlapping, key=lambda k: abs(lines[k].left - line.left)):
        if parsed[j][1] and not lines[j].text[parsed[j][3] :].strip():
            return j, "below"
    return None


def _second_of_pair(i: int, lines: Sequence[LineFacts], parsed: Sequence[tuple]) -> bool:
    """Line ``i`` follows exactly one other unlabelled line, as a network name followed by its password."""
    if i == 0:
        return False
    prev = lines[i - 1]
    if parsed[i - 1][1] or prev.row != lines[i].row - 1:
        return False
    return i == 1 or parsed[i - 2][1] != "" or lines[i - 2].row != prev.row - 1
