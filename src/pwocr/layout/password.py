"""Which line of a photo is the password: label evidence, layout and how password-like a string is.

A photo of a Wi-Fi card, a router sticker or a login page shows the password among other lines:
a title, the network name, a URL, a restroom code. People find it by its label (``Password:``,
``WPA Key``, ``Passwort``, ``密码``...) before it, after it (``12345678 → password``), beside it
or above it; by its place after a network name (``1F: NAME / password``, or the line below the
name); under a ``PW`` column header; and by its look (a random mix of cases, digits and symbols).
``rank_passwords`` scores every line on that evidence (``PickerWeights``), ``pick_password`` takes
the best and says why; ``pick_pairs``, what photo mode returns, adds every other network's password
when a sign lists several.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pwocr.layout.clues import (
    LabelSplit,
    find_label,
    header_kinds,
    is_address_or_date,
    names_network,
    pair_segments,
    pair_split,
    password_likeness,
    split_label,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "LineFacts",
    "PasswordPick",
    "PickerWeights",
    "pick_pairs",
    "pick_password",
    "rank_passwords",
    "split_label",
]


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
class PickerWeights:
    """How much each piece of evidence adds to a line's score (a password label adds its own weight,
    ``clues.PASSWORD_LABELS``: 3 for ``Password``/``PW``/``Key``..., 1.5 for ``PIN``/``Code``).

    Set on the composed scenes of ``bench/photos.py``: a label outweighs looks (a plain
    ``purplecat512`` under ``Key`` beats a random-looking serial number), a name/password pair on
    one line nearly does, and looks decide among unlabelled lines.
    """

    #: A line labelled as something else (``SSID``, ``User``, ``WPS PIN``, ``Room``).
    other_label: float = -3.0
    #: The value after the separator of ``NAME / value`` (or ``NAME: value``) on one line.
    pair_on_line: float = 2.0
    #: An unlabelled line right of an unlabelled name in its row (a wide gap between them).
    beside_name: float = 1.5
    #: The second of two unlabelled lines, a network name then its password.
    second_of_pair: float = 1.5
    #: Times the recognizer's confidence (0 to 1): breaks ties between equally labelled lines.
    confidence: float = 0.5
    #: With a password label, looks count at least this much: ISP routers print 10 to 20 digits.
    labelled_looks_floor: float = 1.0


DEFAULT_WEIGHTS = PickerWeights()


@dataclass(frozen=True)
class PasswordPick:
    """A scored value: its line, where it is in the line's text, the evidence and the network it belongs to."""

    line: int
    start: int
    end: int
    value: str
    label: str | None
    why: str
    score: float
    network: str | None = None
    structural: bool = False  # a label, a pair or a column says it is a password (not looks alone)


@dataclass(frozen=True)
class _Parsed:
    """One line's text read for clues: its label, its value's span, a name before it on the line."""

    label: LabelSplit
    start: int
    end: int
    name: str | None = None  # ``NAME`` of ``NAME / value``
    spans: tuple[tuple[int, int], ...] = ()
    header: tuple[str, ...] | None = None


def _parse_pair(text: str) -> _Parsed | None:
    """The value of a ``NAME / value`` line (``pair_split``), unless that value has its own password label."""
    split = pair_split(text)
    if split is None:
        return None
    head, rest = find_label(text[: split[0]]), find_label(text[split[1] :])
    name = text[head.start : head.end].strip() or None
    start = split[1]
    if rest.kind == "password" and not rest.alone:  # SSID: NAME / PW: value
        shifted = LabelSplit(rest.label, rest.kind, rest.weight, start + rest.start, start + rest.end, rest.after)
        return _Parsed(shifted, shifted.start, shifted.end, name)
    value = text[start:].strip()
    if rest.kind or head.kind == "password" or not name:
        return None
    if re.fullmatch(r"[^\W\d_]+( [^\W\d_]+)*[.!?]?", value):
        return None  # words after a comma: a phrase, not a password
    return _Parsed(LabelSplit(None, "", 0.0, start, len(text)), start, len(text), name)


def parse_line(text: str) -> _Parsed:
    """The clues of one line: a password label wins, then a name/password pair, then any other label."""
    whole, header = find_label(text), header_kinds(text)
    if header is not None and whole.after:
        # ``ID_| PW``: labels only (the model read the gap between them as ``_``), not a value and its label.
        whole = LabelSplit(None, "", 0.0, 0, len(text))
    if whole.kind == "password":
        return _Parsed(whole, whole.start, whole.end)
    if header is None and (whole.kind == "" or names_network(whole.label)):
        pair = _parse_pair(text)
        if pair is not None:
            return pair
    spans = pair_segments(text, colon=not whole.kind)
    return _Parsed(whole, whole.start, whole.end, spans=tuple(spans), header=header)


def _whole_lines_under_labels(lines: Sequence[LineFacts], parsed: list[_Parsed]) -> list[_Parsed]:
    """A ``NAME / value``-looking line right of or below a lone password label is all value (``ab, cd``)."""
    out = list(parsed)
    for i, p in enumerate(parsed):
        if p.name is None or p.label.kind:
            continue
        left = _left_neighbour(i, lines)
        source = left if left is not None else _label_above(i, lines, parsed)
        if source is not None and parsed[source].label.alone and parsed[source].label.kind == "password":
            out[i] = _Parsed(LabelSplit(None, "", 0.0, 0, len(lines[i].text)), 0, len(lines[i].text))
    return out


def _row_of(lines: Sequence[LineFacts], row: int) -> list[int]:
    return [j for j, line in enumerate(lines) if line.row == row]


def _lone_label(parsed: _Parsed) -> bool:
    return parsed.label.alone or parsed.header is not None


def _left_neighbour(i: int, lines: Sequence[LineFacts]) -> int | None:
    """The nearest line left of line ``i`` in its row (centred left of its start: boxes may overlap a little)."""
    line = lines[i]
    left = [j for j in _row_of(lines, line.row) if (lines[j].left + lines[j].right) / 2 < line.left]
    return max(left, key=lambda k: lines[k].right) if left else None


def _label_above(i: int, lines: Sequence[LineFacts], parsed: Sequence[_Parsed]) -> int | None:
    """A lone label over line ``i``: in the row just above, or at the head of its table column."""
    line = lines[i]
    width = max(line.right - line.left, 1.0)
    in_table = len(_row_of(lines, line.row)) > 1
    for row in range(line.row - 1, -1, -1):
        above = [
            j
            for j in _row_of(lines, row)
            if min(lines[j].right, line.right) - max(lines[j].left, line.left) > -0.5 * width
        ]
        if not above:
            return None
        j = min(above, key=lambda k: abs(lines[k].left - line.left))
        if parsed[j].label.alone:
            return j
        # Only a table (several boxes a row) is read up its column; a list's label is right above.
        if parsed[j].label.kind or not in_table or len(_row_of(lines, row)) < 2:
            return None
    return None


def _header_column(i: int, lines: Sequence[LineFacts], parsed: Sequence[_Parsed]) -> tuple[int, str] | None:
    """For a ``NAME / value`` line under an ``ID / PW`` header: the password column's span and the header."""
    spans = parsed[i].spans
    if len(spans) < 2:
        return None
    for j in range(i - 1, -1, -1):
        header = parsed[j].header
        if header is not None and len(header) == len(spans) and "password" in header:
            return header.index("password"), lines[j].text.strip()
        if len(parsed[j].spans) != len(spans) or parsed[j].label.kind:
            return None
    return None


def _second_of_pair(i: int, lines: Sequence[LineFacts], parsed: Sequence[_Parsed]) -> bool:
    """Line ``i`` follows exactly one other unlabelled line, as a network name followed by its password."""
    if i == 0:
        return False
    prev = lines[i - 1]
    if parsed[i - 1].label.kind or prev.row != lines[i].row - 1 or len(_row_of(lines, lines[i].row)) > 1:
        return False  # a line with a neighbour in its row is a name beside its value, not a value
    return i == 1 or parsed[i - 2].label.kind != "" or lines[i - 2].row != prev.row - 1


def _network_before(i: int, lines: Sequence[LineFacts], parsed: Sequence[_Parsed]) -> str | None:
    """The network a labelled password belongs to: the value of the nearest ``SSID``-like label before it."""
    for j in range(i - 1, max(-1, i - 4), -1):
        label = parsed[j].label
        if label.kind == "password" and not label.alone:
            return None  # another pair's password: this one's network is not further up
        if names_network(label.label):
            value = lines[j].text[label.start : label.end].strip()
            if value:
                return value
            return lines[j + 1].text.strip() if j + 1 < i and not parsed[j + 1].label.kind else None
    return None


@dataclass
class _Evidence:
    """The score and reasons of one line being built up; ``structural`` once a label, pair or column backs it."""

    score: float = 0.0
    reasons: list[str] | None = None
    label: str | None = None
    network: str | None = None
    structural: bool = False
    labelled: bool = False

    def add(self, score: float, reason: str, structural: bool = False) -> None:
        self.score += score
        self.reasons = [*(self.reasons or []), reason]
        self.structural = self.structural or structural


def _evidence_on_line(parsed: _Parsed, w: PickerWeights) -> _Evidence | None:
    """What the line itself says: a password or other label before or after the value, a pair."""
    e = _Evidence(network=parsed.name)
    label = parsed.label
    where = "after it" if label.after else "on the same line"
    if label.kind == "password":
        e.add(label.weight, f"labelled {label.label!r} {where}", structural=True)
        e.label, e.labelled = label.label, True
    elif label.kind == "other":
        e.add(w.other_label, f"labelled {label.label!r}, not a password label")
    elif parsed.name is not None:
        e.add(w.pair_on_line, f"after {parsed.name!r} on a name/password line", structural=True)
    return e if e.reasons else None


def _evidence_around(i: int, lines: Sequence[LineFacts], parsed: Sequence[_Parsed], w: PickerWeights) -> _Evidence:
    """What the lines around an unlabelled line say: a label left of it or above it, a name before it."""
    e = _Evidence()
    left = _left_neighbour(i, lines)
    if left is not None and parsed[left].label.kind:
        source, where = left, "right of"
    elif left is not None:
        e.add(w.beside_name, f"right of {lines[left].text.strip()!r} in its row", structural=True)
        e.network = lines[left].text.strip()
        return e
    else:
        source, where = _label_above(i, lines, parsed), "below"
    if source is not None and _lone_label(parsed[source]):
        label = parsed[source].label
        if label.kind == "password":
            e.add(label.weight, f"{where} the label {label.label!r}", structural=True)
            e.label, e.labelled = label.label, True
        else:
            e.add(w.other_label, f"{where} the label {label.label!r}, not a password label")
    elif source is None and _second_of_pair(i, lines, parsed) and password_likeness(lines[i - 1].text) > -2:
        e.add(w.second_of_pair, "second of a name/password pair", structural=True)
        e.network = lines[i - 1].text.strip()
    return e


def _score_line(i: int, lines: Sequence[LineFacts], parsed: Sequence[_Parsed], w: PickerWeights) -> PasswordPick | None:
    """Line ``i`` scored as the password, or ``None`` when it holds no value (a label alone)."""
    p = parsed[i]
    start, end = p.start, p.end
    e = _evidence_on_line(p, w)
    if e is None:
        column = _header_column(i, lines, parsed)
        if column is not None:
            (start, end), e = p.spans[column[0]], _Evidence()
            e.add(3.0, f"under the {column[1]!r} header", structural=True)
            e.labelled = True
            if column[0] > 0:
                e.network = lines[i].text[p.spans[column[0] - 1][0] : p.spans[column[0] - 1][1]].strip()
        else:
            e = _evidence_around(i, lines, parsed, w)
    value = lines[i].text[start:end].strip()
    if not value or p.header is not None:
        return None
    if e.structural and e.network is None:
        e.network = _network_before(i, lines, parsed)
    likeness = password_likeness(value)
    if e.labelled and not is_address_or_date(value):
        # A value read with many gaps (``r . /sje%l> ; , ?``) looks like a phrase; its label says otherwise.
        likeness = max(likeness, w.labelled_looks_floor)
    score = e.score + likeness + w.confidence * lines[i].confidence
    reasons = e.reasons or ["the most password-like line, without a label"]
    why = "; ".join([*reasons, f"password-likeness {likeness:+.1f}"])
    return PasswordPick(i, start, end, value, e.label, why, score, e.network, e.structural)


def rank_passwords(lines: Sequence[LineFacts], weights: PickerWeights = DEFAULT_WEIGHTS) -> list[PasswordPick]:
    """Every line holding a value, scored as the password, best first (for top-k evaluation)."""
    parsed = _whole_lines_under_labels(lines, [parse_line(line.text) for line in lines])
    scored = [_score_line(i, lines, parsed, weights) for i in range(len(lines))]
    return sorted((p for p in scored if p is not None), key=lambda p: p.score, reverse=True)


def pick_password(lines: Sequence[LineFacts], weights: PickerWeights = DEFAULT_WEIGHTS) -> PasswordPick | None:
    """The line most likely to hold the password, with the label stripped and the reason, or ``None``.

    Evidence, strongest first: a password label on the same line (before or after the value), to
    its left in the row, above it or over its table column; being the value of a name/password
    pair (on one line, side by side, or one line under the other); how password-like the string
    is; the recognizer's confidence. A line labelled as something else (SSID, user, WPS PIN) loses.
    """
    ranked = rank_passwords(lines, weights)
    return ranked[0] if ranked else None


def pick_pairs(lines: Sequence[LineFacts], weights: PickerWeights = DEFAULT_WEIGHTS) -> list[PasswordPick]:
    """Every network's password on a sign that lists several, the pick first, then in reading order.

    Besides the pick, a value counts when a label, a pair or a column says it is a password and it
    scores above zero; a pick on looks alone stands by itself.
    """
    ranked = rank_passwords(lines, weights)
    if not ranked:
        return []
    best = ranked[0]
    if not best.structural:
        return [best]
    others = sorted((p for p in ranked[1:] if p.structural and p.score > 0), key=lambda p: p.line)
    return [best, *others]
