"""The page's whole-photo rules read text as Python's do: ``reader/clues.js`` and ``reader/password.js``
against ``pwocr.layout.clues`` and ``pwocr.layout.password``, in headless chromium, with no model in
the way (the photo parity test meets them only on the lines its photos happen to have).

- every character PP-OCRv6 can read (the label reader's dictionary) and every printable ASCII one
  is classed alike (Python's ``\\s``, ``\\w``, ``\\d``, ``[^\\W\\d_]``, ``str.isalnum``,
  ``str.isdigit``, ``unicodedata.combining`` of its NFKD form) and normalised alike;
- the lines of composed layouts (every scene kind, several seeds), as written and with their
  spaces lost as pwocr sometimes loses them, and lines as the photo reader builds them from a
  PP-OCRv6 label (``label: value``, ``value → label``), give the same labels, splits, pairs,
  headers and password-likeness;
- the picker ranks those layouts' lines alike: every pick's line, span, value, label, reason
  (word for word), score, network and whether it is structural.
"""

import json
import unicodedata
from dataclasses import asdict

import numpy as np
import pytest
from web_site import chromium, site, static_server

from pwocr.layout import clues
from pwocr.layout.password import LineFacts, pick_pairs, rank_passwords
from pwocr.synth.fonts import fonts_for
from pwocr.synth.scenes import FOREIGN_NETWORK_LABELS, FOREIGN_PASSWORD_LABELS, SCENE_KINDS, _layout

__all__ = ["chromium", "site"]  # fixtures

#: Strings the layouts do not write: other scripts, beyond the BMP, ß, headers, bare labels, odd spacing.
EXTRA_TEXTS = [
    "[ 1F: Biblioteca-Gast: POJA=Kuhod",  # an icon before a name/password line, read as a mark
    "» Luna / k3!Qz8aa",
    "Paßwort: Xy7!abc",
    "Straße 12",
    "密码：k3!Qz8aa",
    "k3!Qz8aaパスワード",
    "abc123𠅤 → 密码",
    "𠅤𠙶: hello",
    "ネットワーク名 → Guest_5G",
    "Contraseña : Abc#1234",
    "MOT DE PASSE : Zz9-Zz9",
    "Wi-Fi Password",
    "Key : r . /sje%l> ; , , ?",  # a labelled value read with gaps around its symbols
    "wa%82969:バ1スワード",  # a label after the value, its first characters misread
    "ab？cd1234 → 密码",
    "Cocumej5？暗号化キ一",  # a full-width ? before a label in another script, unspaced
    "Digocusuz6→11スワ-ド",  # パ read as two strokes after an arrow, the long vowel mark as a dash
    "ab→cdef1234 → パスワード",  # an arrow inside the value
    "Yivokir4732@ 暗号化キ一",  # the long vowel mark read as the kanji for one
    "/小\\a@Zov →暗号化キー",
    "𠅤b1: パスワード",
    "Price 3.50",
    "WLAN-Schlüssel 1234-5678",
    "ID / PW",
    "ID_| PW",  # the gap before the bar read as _
    "1F: Studio WiFi-1F / ^r[mn'XIj",
    "SSID  Password",
    "Guest-5G  Hx7#pp2!",
    "1F: Cafe-Gast / ab|cd 9x",
    "WPS PIN: 12345678",
    "Latte 3.50",
    "10:30 pm",
    "12.05.2024",
    "3D:25:DB:AC:13:33",
    "https://portal.example.com/login",
    "192.168.0.1",
    "guest.example.ıo",
    "Cafe.İT",
    "Enter password",
    "Password",
    "PW;",
    "pwX7q9!!z",
    "keyboard",
    "Room 906",
    "１２３４５６７８",
    "²³¹⁴⁵",
    "abc (PW)",
    "ovYu0o.,=> Key",
    "abc->PW",
    "abc（パスワード）",
    "Hello world, again",
    "",
    " ",
    "a",
]

CLASSES = """async (texts) => {
  const C = await import("./reader/clues.js");
  const rules = await (await fetch("model/photo.json")).json();
  C.useRules(rules.clues);
  const re = (source) => new RegExp(`^${source}$`, "u");
  const space = re(C.PY_CLASSES.space), word = re(C.PY_CLASSES.word), letter = re(C.PY_CLASSES.letter), digit = re(C.PY_CLASSES.digit);
  return texts.map((c) => [
    space.test(c), word.test(c), letter.test(c), digit.test(c), C.isAlnum(c), C.isAlpha(c), C.isDigitString(c),
    C.codePoints(c.normalize("NFKD")).map((d) => C.isCombining(d)), C.normalise(c)[0].join(""), C.normalise(c)[1],
  ]);
}"""

CLUES = """async (texts) => {
  const C = await import("./reader/clues.js");
  const rules = await (await fetch("model/photo.json")).json();
  C.useRules(rules.clues);
  const split = (s) => [s.label, s.kind, s.weight, s.start, s.end, s.after];
  return texts.map((t) => [
    split(C.findLabel(t)), split(C.splitLabel(t)), split(C.splitSuffixLabel(t)), C.wholeLabel(t),
    C.namesNetwork(C.findLabel(t).label), C.pairSegments(t, true), C.pairSegments(t, false), C.pairSplit(t),
    C.headerKinds(t), C.passwordLikeness(t), C.isAddressOrDate(t), C.spellableValueEnd(t, C.findLabel(t).end),
  ]);
}"""

PICKER = """async (layouts) => {
  const C = await import("./reader/clues.js");
  const P = await import("./reader/password.js");
  const rules = await (await fetch("model/photo.json")).json();
  C.useRules(rules.clues);
  return layouts.map((lines) => [P.rankPasswords(lines, rules.weights), P.pickPairs(lines, rules.weights).map((p) => p.line)]);
}"""


def _unspaced(text: str, rng: np.random.Generator) -> str:
    """``text`` with some of its spaces lost, as a reading without a visible word gap loses them."""
    return "".join(c for c in text if c != " " or rng.random() < 0.5)


@pytest.fixture(scope="module")
def layouts() -> list[list[LineFacts]]:
    """The lines of composed layouts as the picker sees them: text, confidence, row, and extent along the row."""
    fonts = fonts_for("eval")
    rng = np.random.default_rng(20261204)
    out = []
    for seed in range(8):
        for kind in SCENE_KINDS:
            blocks = _layout(kind, np.random.default_rng(1000 * seed + len(kind)), fonts[seed % len(fonts)], "Hx7#pp2!")
            lines, row, right = [], -1, 0.0
            for block in blocks:
                text = block.text if rng.random() < 0.7 else _unspaced(block.text, rng)
                left = right + 40.0 if block.same_row and row >= 0 else 10.0 * rng.integers(0, 5)
                row = row if block.same_row and row >= 0 else row + 1
                right = left + 18.0 * len(text)
                lines.append(LineFacts(text, float(rng.uniform(0.3, 1.0)), row, left, right))
            out.append(lines)
    # A labelled value whose gaps make it look like a phrase, under a title: the label wins.
    out.append(
        [LineFacts("Wireless Settings", 1.0, 0, 0.0, 300.0), LineFacts("Key : r . /sje%l> ; , , ?", 0.98, 1, 0, 300)]
    )
    for label in (*FOREIGN_NETWORK_LABELS, *FOREIGN_PASSWORD_LABELS):  # as photo._label_text builds them
        out.append([LineFacts(f"{label}: Abc12345!", 0.4, 0, 0.0, 200.0), LineFacts("Room 12", 0.9, 1, 0.0, 90.0)])
        out.append(
            [LineFacts("Guest_5G → 网络名称", 0.9, 0, 0.0, 200.0), LineFacts(f"Qq9!zz88 → {label}", 0.4, 1, 0, 200)]
        )
    return out


def _evaluate(site, chromium, tmp_path, script: str, argument: object) -> list:
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(script, argument)
        page.close()
    return got


def test_characters_are_classed_as_python_classes_them(site, chromium, tmp_path):
    import re

    rules = json.loads((site / "model" / "photo.json").read_text(encoding="utf-8"))
    characters = [*rules["dictionary"], *(chr(c) for c in range(32, 127)), "→", "\u3000", "\xa0", "\ufeff", "ß", "ł"]
    got = _evaluate(site, chromium, tmp_path, CLASSES, characters)
    for c, js in zip(characters, got, strict=True):
        norm, index = clues.normalise(c)
        python = [
            bool(re.fullmatch(r"\s", c)),
            bool(re.fullmatch(r"\w", c)),
            bool(re.fullmatch(r"[^\W\d_]", c)),
            bool(re.fullmatch(r"\d", c)),
            c.isalnum(),
            c.isalpha(),
            c.isdigit(),
            [unicodedata.combining(d) != 0 for d in unicodedata.normalize("NFKD", c)],
            norm,
            index,
        ]
        assert js == python, (c, hex(ord(c)))


def test_line_texts_give_the_same_clues(site, chromium, tmp_path, layouts):
    texts = sorted({line.text for lines in layouts for line in lines} | set(EXTRA_TEXTS))
    got = _evaluate(site, chromium, tmp_path, CLUES, texts)

    def split(s: clues.LabelSplit) -> list:
        return [s.label, s.kind, s.weight, s.start, s.end, s.after]

    for text, js in zip(texts, got, strict=True):
        found = clues.find_label(text)
        whole = clues.whole_label(text)
        python = [
            split(found),
            split(clues.split_label(text)),
            split(clues.split_suffix_label(text)),
            list(whole) if whole else None,
            clues.names_network(found.label),
            [list(s) for s in clues.pair_segments(text, True)],
            [list(s) for s in clues.pair_segments(text, False)],
            list(clues.pair_split(text) or []) or None,
            list(clues.header_kinds(text) or []) or None,
            clues.password_likeness(text),
            clues.is_address_or_date(text),
            clues.spellable_value_end(text, found.end),
        ]
        assert js == python, text


def test_the_picker_ranks_lines_as_python_does(site, chromium, tmp_path, layouts):
    got = _evaluate(site, chromium, tmp_path, PICKER, [[asdict(line) for line in lines] for lines in layouts])
    for lines, (ranked, pairs) in zip(layouts, got, strict=True):
        python = [asdict(p) for p in rank_passwords(lines)]
        assert len(ranked) == len(python), [line.text for line in lines]
        for a, b in zip(python, ranked):
            assert {**a, "score": None} == {**b, "score": None}, [line.text for line in lines]
            assert abs(a["score"] - b["score"]) < 1e-12
        assert pairs == [p.line for p in pick_pairs(lines)]


INK = """async (lines) => {
  const K = await import("./reader/ink.js");
  return lines.map((c) => {
    const crop = { data: Uint8Array.from(c.crop), width: c.w, height: c.h, channels: 1 };
    const table = { probs: Float32Array.from(c.table), steps: c.steps, classes: c.classes };
    const count = K.greedySpans(table).length;
    const at = [...Array(count + 1).keys()];
    return [
      K.spacedText(crop, table, c.text, c.frames, c), K.speltWords(crop, table, c.text, c.frames, c),
      K.inklessCharacters(crop, table, c.frames), K.charOnsets(table, c.frames),
      at.map((i) => K.phantomsAt(crop, table, i, c.frames)), at.map((i) => K.trailingPhantoms(crop, table, i, c.frames)),
      at.map((i) => [...at, null].map((j) => K.valueTable(table, i, j).steps)),
    ];
  });
}"""


def test_word_gaps_and_inkless_characters_are_found_as_python_finds_them(site, chromium, tmp_path):
    """ink.js on the straightened lines of two composed photos and pwocr's tables of them: every index tried."""
    from pwocr.inference.recognizer import Recognizer
    from pwocr.layout import ink
    from pwocr.layout.detector import crop_line, default_detector
    from pwocr.layout.geometry import join_fragments, reading_order, with_margins
    from pwocr.layout.photo import LINE_READ_HEIGHT, luminance
    from pwocr.synth.scenes import compose_scene

    recognizer = Recognizer("default")
    lines, expected = [], []
    for kind, seed in (("router_sticker", 11), ("terminal", 5), ("several_networks", 10)):
        photo = compose_scene(np.random.default_rng(seed), fonts_for("eval"), kind=kind, size=(1280, 960)).image
        boxes = default_detector()(luminance(photo))
        order, places = reading_order(boxes)
        boxes, places = join_fragments([boxes[k] for k in order], places)
        straight = [
            crop_line(photo, box, min_height=LINE_READ_HEIGHT) for box in with_margins(boxes, places, photo.shape)
        ]
        for crop, table in zip([ink.gray_crop(s) for s in straight], recognizer.probabilities(straight)):
            text, frames = recognizer.decode(table).text, recognizer.line_frames(crop.shape)
            at = range(len(ink.greedy_spans(table)) + 1)
            lines.append(
                {"crop": crop.ravel().tolist(), "w": crop.shape[1], "h": crop.shape[0], "table": table.ravel().tolist()}
                | {"steps": table.shape[0], "classes": table.shape[1], "text": text, "frames": frames}
                | {"space_gap": ink.SPACE_GAP, "word_gap_ratio": ink.WORD_GAP_RATIO, "median_gaps": ink.MEDIAN_GAPS}
            )
            expected.append(
                [
                    ink.spaced_text(crop, table, text, frames),
                    ink.spelt_words(crop, table, text, frames),
                    ink.inkless_characters(crop, table, frames),
                    ink.char_onsets(table, frames),
                    [ink.phantoms_at(crop, table, i, frames) for i in at],
                    [ink.trailing_phantoms(crop, table, i, frames) for i in at],
                    [[len(ink.value_table(table, i, j)) for j in [*at, None]] for i in at],
                ]
            )
    got = _evaluate(site, chromium, tmp_path, INK, lines)
    assert any(" " in python[0] for python in expected)  # word gaps were there to find
    for line, js, python in zip(lines, got, expected, strict=True):
        assert js == python, line["text"]


WORDS = """async ([pairs, lines]) => {
  const C = await import("./reader/clues.js");
  const P = await import("./reader/photo.js");
  C.useRules((await (await fetch("model/photo.json")).json()).clues);
  return [pairs.map(([theirs, ours]) => P.sameLetters(theirs, ours)), lines.map(([text, picks, k]) => P.unspacedValues(text, picks, k))];
}"""


def test_a_line_is_shown_in_pp_ocrv6s_words_and_a_value_without_spaces_as_python_decides(site, chromium, tmp_path):
    from pwocr.layout.password import PasswordPick
    from pwocr.layout.photo import _same_letters, _unspaced_values

    pairs = [
        ("Bienvenidos a la cafetería", "Bienvenidosalacafeteria"),
        ("Contraseña", "Contrasea"),  # pwocr left out the ñ its alphabet lacks
        ("Contraseña", "Contrasena"),
        ("Contraseña", "Contrasefia"),  # another letter is not an accent
        ("Réseau :", "Rseau:"),
        ("Password", "Passw0rd"),
        ("ñ", ""),
        ("Straße", "Strae"),  # ß is a letter of its own, not an accented s
        ("Ａｂｃ", "Abc"),  # full-width forms decompose to ASCII
        ("", ""),
    ]
    lines = [
        ("Key : Xq7 !mZ2#pL", [PasswordPick(0, 6, 17, "Xq7!mZ2#pL", "Key", "", 1.0)], 0),
        (
            "1F: Cafe / ab c1 2F: Bar / d e2",
            [PasswordPick(3, 11, 16, "", None, "", 1.0), PasswordPick(3, 27, 31, "", None, "", 1.0)],
            3,
        ),
        ("暗号 → a b", [PasswordPick(0, 5, 8, "", None, "", 1.0)], 0),
        ("Room 12", [PasswordPick(1, 0, 7, "", None, "", 1.0)], 0),  # another line's pick
    ]
    got = _evaluate(site, chromium, tmp_path, WORDS, [pairs, [[t, [asdict(p) for p in ps], k] for t, ps, k in lines]])
    assert got[0] == [_same_letters(theirs, ours) for theirs, ours in pairs]
    assert got[0][:5] == [True, True, True, False, True]
    assert got[1] == [_unspaced_values(t, ps, k) for t, ps, k in lines]
    assert got[1][0] == "Key : Xq7!mZ2#pL" and got[1][1] == "1F: Cafe / abc1 2F: Bar / de2"
