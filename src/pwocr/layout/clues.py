"""What a line's text says about the password: labels (before or after a value), pair separators, looks.

Pure functions of one line's text, each tested on strings: ``find_label`` finds a known label
before the value (``Password: abc``) or after it (``12345678 → password``, ``abc (PW)``),
``pair_segments`` splits ``NAME / password`` at its separator, ``password_likeness`` scores how
much a string looks like a password rather than a name, word, number or address. The picker
(``pwocr.layout.password``) weighs these clues with the lines' positions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Labels that announce a password, normalised (lower case, no accents, no spaces, dashes or dots),
#: with their weight as evidence. Abbreviations count (``PW``, ``PWD``, ``MDP``, ``Pass``).
PASSWORD_LABELS: dict[str, float] = {
    label: weight
    for weight, labels in (
        (3.0, (
            "password", "passwort", "passwd", "passphrase", "presharedkey", "wirelesskey", "networkkey",
            "securitykey", "wpa2psk", "wpapsk", "wpa2key", "wpakey", "wpa3key", "wifikey", "wlanschlussel",
            "netzwerkschlussel", "schlussel", "motdepasse", "contrasena", "contrasenya", "senha", "parola",
            "haslo", "heslo", "wachtwoord", "salasana", "losenord", "adgangskode", "jelszo", "sifre", "пароль",
            "密码", "密碼", "パスワード", "暗号化キー", "暗号キー", "비밀번호", "clave", "cle", "kennwort", "pass", "pwd", "psk", "pw", "key",
            "mdp", "pword", "passw", "matkhau", "katasandi",
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
    "gultig", "restroomcode", "restroom", "toilet", "wc", "door", "gate", "bathroom", "id", "userid",
    "loginid", "wifiid", "nombre", "nom", "nome", "名称", "网络", "ネットワーク", "ネットワーク名", "账号", "帐号",
)  # fmt: skip

#: The labels among ``OTHER_LABELS`` that name a network: its value is the network a password belongs to.
NETWORK_LABELS = frozenset(
    ("networkname", "network", "netzwerk", "netzwerkname", "reseau", "rede", "rete", "red", "ssid", "wifiname",
     "wlanname", "wifi", "wlan", "name", "id", "wifiid", "nombre", "nom", "nome", "名称", "网络", "ネットワーク",
     "ネットワーク名")
)  # fmt: skip

#: Words that may precede a password label in one phrase (``Wi-Fi Password``, ``Guest network key``).
_PREFACE = ("wifi", "wlan", "guest", "gast", "wireless", "network", "wpa2", "wpa3", "wpa", "your", "admin", "router", "the")  # fmt: skip
#: What separates a label from its value: one colon (also full-width) or equals sign, or a dash or
#: arrow between spaces. Only one is taken, so a password may itself start with ``:`` or ``;``.
_SEPARATOR = re.compile(r"^\s*[:：=]\s*|^\s+[-–—>|→⇒]\s+|^\s+")
#: What may stand between a value and a label after it: a space and maybe an arrow (also as pwocr
#: misreads ``→``: ``~``, ``-``), or an opening bracket. An arrow counts after a space, so a value's
#: own last character (``abc~``) is never taken for one; a two-character ASCII arrow also counts
#: unspaced before when a space follows it (``abc=> Key``: the reading lost the gap before it).
_SUFFIX_GAP = re.compile(
    r"(\s+(->|=>|<-|<=|[→⇒➔➜⟶←⇐⟵~>=:：–—-]{1,2})?\s*|(->|=>|<-|<=)\s+|\s*[→⇒➔➜⟶←⇐⟵]\s*|\s*[(\[（【]\s*|[:：]\s*)$"
)
#: A Unicode arrow is no password character (passwords are printable ASCII): it separates even unspaced.
_UNICODE_ARROWS = "→⇒➔➜⟶←⇐⟵"
_URL = re.compile(
    r"(https?:|www\.|\.(com|org|net|de|fr|es|it|io|co|uk)\b|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)", re.I
)
#: A menu or price-list line: a word and a price (``Latte 3.50``, ``Tea €2,80``).
_PRICE = re.compile(r"^[A-Za-z][A-Za-z ]*\s?[$€£]?\d{1,3}[.,]\d{2}\s?[$€£]?$")
_MAC = re.compile(r"^([0-9a-f]{2}[:\-]){5}[0-9a-f]{2}$", re.I)
_DATE_TIME = re.compile(
    r"^\d{1,2}[./:]\d{2}([./]\d{2,4})?$|\b\d{1,2}(:\d{2})?\s?(am|pm)\b|\b\d{1,2}\.\d{1,2}\.(19|20)\d{2}\b", re.I
)
#: Name/password pairs on one line: a slash or bar with a space on a side, a comma before a space,
#: a wide gap (no dash: network names are full of them, ``Cafe-Gast-1F``).
_PAIR_SEPARATOR = re.compile(r"\s+[/|｜]\s*|\s*[/|｜]\s+|[,、]\s+|\s{2,}")
#: A weaker separator, tried when there is no other: a colon after a name that is no known label.
_PAIR_COLON = re.compile(r"[:：]\s+")
#: Any of them, for ``pair_split``.
_ANY_PAIR_SEPARATOR = re.compile(_PAIR_SEPARATOR.pattern + r"|[:：]\s+")
#: What a network name looks like (letters, digits, spaces, ``_-.!&'+#``), maybe after a short
#: ``1F:`` or ``Wi-Fi:`` prefix, maybe after a lone mark and a space (an icon before the line, a
#: Wi-Fi or lock sign, read as ``[`` or ``»``). A password's symbols (``*{%@/``) are not in it.
_NETWORK_NAME = re.compile(r"([^\w\s]\s+)?([\w .\-]{1,8}[:：]\s*)?[\w .\-!&'+#]+")


@dataclass(frozen=True)
class LabelSplit:
    """A known label found in a line and where the value is: ``text[start:end]``.

    ``kind`` is ``"password"``, ``"other"`` or ``""`` (no label, the whole text is the value);
    ``after`` says the label follows its value (``12345678 → password``).
    """

    label: str | None
    kind: str
    weight: float
    start: int
    end: int
    after: bool = False

    @property
    def alone(self) -> bool:
        """The label stands alone: its value is elsewhere (below it, right of it)."""
        return bool(self.kind) and self.start >= self.end


#: What OCR reads a katakana long vowel mark (``ー``) as: a hyphen or dash, or the kanji for one.
_LONG_VOWEL_MISREADS = "-－‐–—一"


def _katakana(c: str) -> bool:
    return "\u30a0" <= c <= "\u30ff"


def normalise(text: str) -> tuple[str, list[int]]:
    """Lower case, accents and spacing removed; and for each kept character its index in ``text``.

    OCR of a label is compared in this form, so ``Mot de passe :`` and ``Contraseña`` match
    readings without spaces or accents (``Motdepasse:``, ``Contrasena``), and a long vowel mark
    read as a dash or as ``一`` after katakana is one again (``パスワ-ド``, ``暗号化キ一``).
    """
    out, index = [], []
    for i, c in enumerate(text):
        if c in _LONG_VOWEL_MISREADS and out and _katakana(out[-1][-1]):
            out.append("ー")
            index.append(i)
            continue
        if c in " \t-_./'’":
            continue
        # Latin letters lose their accents (ñ is n); kana and hangul keep theirs (パ is not ハ).
        base = unicodedata.normalize("NFKD", c)[0]
        out.append({"ł": "l", "Ł": "l"}.get(c, base if base.isascii() else unicodedata.normalize("NFKC", c)).lower())
        index.append(i)
    return "".join(out).replace("ß", "ss"), index


def close(a: str, b: str) -> bool:
    """Equal, or one edit apart for labels of five letters or more (OCR of a label misreads a letter)."""
    if a == b:
        return True
    if len(b) < 5 or abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i + 1 :] or a[i:] == b[i + 1 :] or a[i + 1 :] == b[i:]


def _skip_preface(norm: str) -> int:
    """Where a password label starts in ``norm`` after preface words (``Wi-Fi``, ``Guest``, ``Wireless``)."""
    pos = 0
    while True:
        for word in _PREFACE:
            if norm.startswith(word, pos) and len(norm) > pos + len(word):
                rest = norm[pos + len(word) :]
                if any(rest.startswith(label) or close(rest[: len(label)], label) for label in PASSWORD_LABELS):
                    pos += len(word)
                    break
        else:
            return pos


def _labels_by_length() -> list[tuple[str, str]]:
    both = [("password", label) for label in PASSWORD_LABELS] + [("other", label) for label in OTHER_LABELS]
    return sorted(both, key=lambda kl: (kl[0] != "password", -len(kl[1])))


_LABELS = _labels_by_length()


def _weight(kind: str, label: str) -> float:
    return PASSWORD_LABELS.get(label, 0.0) if kind == "password" else 0.0


def split_label(text: str) -> LabelSplit:
    """A known label at the start of ``text`` and where the value after it begins.

    A label only counts when a separator or the end of the line follows it, so a password that
    happens to start with ``pw`` or ``key`` keeps its first letters.
    """
    norm, index = normalise(text)
    pos = _skip_preface(norm)
    for kind in ("password", "other"):
        for k, label in _LABELS:
            if k != kind:
                continue
            for size in (len(label), len(label) + 1, len(label) - 1):  # the exact length first
                candidate = norm[pos : pos + size]
                if size < 1 or len(candidate) != size or (size != len(label) and len(label) < 5):
                    continue
                if not close(candidate, label):
                    continue
                text_end = index[pos + size - 1] + 1
                rest = text[text_end:]
                if re.fullmatch(r"\s*[:;：.,=]?\s*", rest):  # alone on its line; its colon may be misread (``PW;``)
                    return LabelSplit(text[:text_end].strip(), kind, _weight(kind, label), len(text), len(text))
                separator = _SEPARATOR.match(rest)
                if separator is None:
                    continue  # no separator: "pwX7q..." is a password, not a label
                start = text_end + separator.end()
                return LabelSplit(text[:text_end].strip(), kind, _weight(kind, label), start, len(text))
    return LabelSplit(None, "", 0.0, 0, len(text))


def whole_label(text: str) -> tuple[str, str] | None:
    """``(kind, label)`` when all of ``text`` (brackets and colons aside) is one known label."""
    norm, _ = normalise(text.strip(" \t:：)]）】([（【"))
    norm = norm[_skip_preface(norm) :]
    for kind, label in _LABELS:
        if norm and close(norm, label) and (len(norm) == len(label) or len(label) >= 5):
            return kind, label
    return None


def names_network(label: str | None) -> bool:
    """Whether a found label (``SSID:``, ``Network name``, ``ID``) names a network."""
    found = whole_label(label) if label else None
    return found is not None and found[1] in NETWORK_LABELS


def _plain_word(value: str) -> bool:
    return bool(re.fullmatch(r"[^\W\d_]+", value.strip()))


def split_suffix_label(text: str) -> LabelSplit:
    """A known label after the value (``12345678 → password``, ``abc (PW)``), or no label.

    The label must be the line's last word(s), after a separator; when that is only a space the
    value must not be a plain word (``Enter password`` is a phrase, ``k3!Qz8 password`` a pair).
    """
    for p in range(1, len(text)):  # the longest tail first: "Wi-Fi Password", not "Password"
        # A label in another script may follow an ASCII value unspaced (``k3!Qz8パスワード``), whose
        # last character may be read in its full-width form (``Cocumej5？暗号化キー``).
        script_change = not text[p].isascii() and _spellable(text[p - 1]) and not text[p - 1].isspace()
        if not text[p].isalnum() or not (
            text[p - 1].isspace() or text[p - 1] in "([（【:：>" + _UNICODE_ARROWS or script_change
        ):
            continue
        found = whole_label(text[p:])
        gap = _SUFFIX_GAP.search(text[:p]) if found else None
        if found is None or (gap is None and not script_change):
            continue
        cut = gap.start() if gap is not None else p
        value = text[:cut]
        arrow = gap is not None and bool(gap.group().strip())
        if not value.strip() or (not arrow and _plain_word(value)):
            continue
        kind, label = found
        return LabelSplit(text[p:].strip(" \t:：)]）】"), kind, _weight(kind, label), 0, cut, after=True)
    return LabelSplit(None, "", 0.0, 0, len(text))


def _spellable(c: str) -> bool:
    """A character pwocr's alphabet has, once compatibility forms are folded (a full-width ``？`` is ``?``)."""
    return unicodedata.normalize("NFKC", c).isascii()


def spellable_value_end(text: str, end: int) -> int:
    """Where the value before a label after it ends in another model's reading ``text``, given
    ``split_suffix_label``'s cut ``end``: before a misread head of the label (a run that starts with
    a character pwocr cannot spell and holds at most one it can, or at a Unicode arrow and holds at
    most two: a kana read as two strokes), less a separator before it, where that leaves a value.
    ``wa%82969:バ1スワード`` is a misread ``パスワード`` whose first characters the label did not
    take; the value is ``wa%82969``; in ``Digocusuz6→11スワード`` it is ``Digocusuz6``. A character
    read in another script inside the value (``/小\\a@Zov``) cuts nothing: too much pwocr can spell
    follows it."""

    def spelt(i: int) -> int:
        return sum(_spellable(c) and not c.isspace() for c in text[i:end])

    head = next(
        (
            i
            for i in range(end)
            if (not _spellable(text[i]) and spelt(i) <= 1) or (text[i] in _UNICODE_ARROWS and spelt(i) <= 2)
        ),
        end,
    )
    gap = _SUFFIX_GAP.search(text[:head]) if head < end else None
    cut = gap.start() if gap is not None else head
    return cut if text[:cut].strip() else end


def find_label(text: str) -> LabelSplit:
    """``split_label``'s label before the value if there is one, else ``split_suffix_label``'s after it."""
    before = split_label(text)
    return before if before.kind else split_suffix_label(text)


def pair_segments(text: str, colon: bool = True) -> list[tuple[int, int]]:
    """The spans of a ``NAME / password`` line split at its separators (one span when there is none).

    Slashes and bars count with a space on one side at least, commas and dashes before a space,
    and runs of spaces (a wide gap); a colon only when nothing else splits the line (``1F: NAME /
    password`` splits at the slash, ``NAME: password`` at the colon).
    """
    for pattern in (_PAIR_SEPARATOR, _PAIR_COLON) if colon else (_PAIR_SEPARATOR,):
        spans, start = [], 0
        for match in pattern.finditer(text):
            if match.start() > start:
                spans.append((start, match.start()))
            start = match.end()
        if start < len(text):
            spans.append((start, len(text)))
        if len(spans) >= 2:
            return spans
    return [(0, len(text))]


def pair_split(text: str) -> tuple[int, int] | None:
    """Where a ``NAME / password`` line's name ends and its password starts, or ``None``.

    The split is at the last separator with only a network-name-like text before it: a password
    may hold ``/``, ``|``, ``,`` or ``:`` itself, read with gaps around them (``1F: NAME / ab|cd``
    splits before ``ab``), and a name never holds a password's symbols. A known label alone before
    it (``WPS PIN: 1234``) is a label, not a name.
    """
    for match in reversed(list(_ANY_PAIR_SEPARATOR.finditer(text))):
        name = text[: match.start()].strip()
        value = text[match.end() :]
        if not name or len(value.replace(" ", "")) < 4 or not _NETWORK_NAME.fullmatch(name):
            continue
        if whole_label(name) is None:
            return match.start(), match.end()
    return None


def header_kinds(text: str) -> tuple[str, ...] | None:
    """The kind of each label of a column header line (``ID / PW``, ``SSID  Password``), or ``None``.

    A ``_`` parts labels too: it is how pwocr's model may spell the gap between them (``ID_| PW``)."""
    parts = [p for p in re.split(r"[\s/|｜,、:：_]+", text) if p]
    kinds = [whole_label(p) for p in parts]
    if len(parts) < 2 or any(k is None for k in kinds):
        return None
    return tuple(k[0] for k in kinds if k is not None)


def is_address_or_date(text: str) -> bool:
    """A web address, MAC address, date, time or price: never a password, whatever its label says."""
    t = text.strip()
    return bool(_URL.search(t) or _MAC.match(t) or _DATE_TIME.search(t) or _PRICE.match(t))


def password_likeness(text: str) -> float:
    """How much ``text`` looks like a password rather than a name, word, number or address (-3 to 2)."""
    t = text.strip()
    if len(t) < 4:
        return -2.0
    if is_address_or_date(t):
        return -3.0
    classes = sum(bool(re.search(p, t)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9\s]"))
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
