"""A fine-tune's format prior reads alike in the page: ``reader/decode.js`` against ``pwocr.decoding.policy``.

The tables are plates whose font draws ``O`` and ``0`` alike (the model leaning either way), and
passwords with no format; the page decodes them with the model's config given a prior, one line at
a time and as fused frames, and must give the same readings, candidates and flags as Python.
"""

import json

import numpy as np
import pytest
from web_site import chromium, site, static_server

from pwocr.alphabet import Alphabet
from pwocr.decoding.formats import FormatPrior, shape_of
from pwocr.decoding.policy import decode_table, fuse_tables

__all__ = ["chromium", "site"]  # fixtures

PRIOR = FormatPrior.learn(["AB123CD", "ZX981QW", "KL555MN", "AAA1234", "BCD9876", "QQQ0000", "ab12"] * 2)
TEXTS = ["AB302OZ", "RK011OM", "QWO1000", "OXY1234", "B0B1234", "k3!Qz8aO", "Hx7#pp2O", "a0c1", "AB3O2OZ"]

DECODE_IN_PAGE = """async ([tables, formats, candidates, fused]) => {
  const D = await import("./reader/decode.js");
  const model = await (await fetch("model/model.json")).json();
  model.config = { ...model.config, ...formats };
  const asTable = ([data, steps, classes]) => ({ probs: Float32Array.from(data), steps, classes });
  const options = { candidates: String(candidates) };
  if (fused) return tables.map((frames) => D.fuseReadings(frames.map(asTable), model, options));
  return tables.map((t) => { const { probs, steps, classes } = asTable(t); return D.decodeReading(probs, steps, classes, model, options); });
}"""


def leaning_table(text: str, alphabet: Alphabet, rng: np.random.Generator) -> np.ndarray:
    """Float32 probabilities of ``text``, each ``O`` or ``0`` split between the two, other steps a little noisy."""
    rows = []
    for char in text:
        row = rng.uniform(0, 2e-3, alphabet.num_classes)
        if char in "O0":
            lean = rng.uniform(0.3, 0.7)
            row[alphabet.index("0")] += lean
            row[alphabet.index("O")] += 1 - lean
        else:
            row[alphabet.index(char)] += 1.0
        blank = rng.uniform(0, 2e-3, alphabet.num_classes)
        blank[0] += 1.0
        rows += [row / row.sum(), blank / blank.sum()]
    return np.asarray(rows, dtype=np.float32)


def _as_json(decoded) -> dict:
    return {
        "text": decoded.best.text,
        "candidates": [(c.text, c.confidence) for c in decoded.candidates],
        "flags": [c.confusable for c in decoded.chars],
    }


def _same(python: dict, js: dict) -> None:
    assert js["text"] == python["text"]
    assert [c["text"] for c in js["candidates"]] == [t for t, _ in python["candidates"]]
    for c, (_, p) in zip(js["candidates"], python["candidates"]):
        assert c["confidence"] == pytest.approx(p, abs=2e-6)
    assert [c["confusable"] for c in js["chars"]] == python["flags"]


@pytest.fixture(scope="module")
def alphabet(site) -> Alphabet:
    return Alphabet(json.loads((site / "model" / "model.json").read_text())["config"]["alphabet"])


def _in_page(site, chromium, tmp_path, tables, candidates: int, fused: bool) -> list:
    encoded = [
        [[t.ravel().tolist(), *t.shape] for t in group] if fused else [group.ravel().tolist(), *group.shape]
        for group in tables
    ]
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(DECODE_IN_PAGE, [encoded, PRIOR.as_config(), candidates, fused])
        page.close()
    return got


@pytest.mark.parametrize("candidates", [1, 4])
def test_the_page_reads_through_a_format_prior_as_python_does(site, chromium, alphabet, tmp_path, candidates):
    rng = np.random.default_rng(7)
    tables = [leaning_table(text, alphabet, rng) for text in TEXTS * 3]
    expected = [_as_json(decode_table(t, alphabet, candidates, prior=PRIOR)) for t in tables]
    # The prior must matter here: without it some of these plates read otherwise.
    plain = [decode_table(t, alphabet, candidates).best.text for t in tables]
    assert sum(p != e["text"] for p, e in zip(plain, expected)) >= 3
    for python, js in zip(expected, _in_page(site, chromium, tmp_path, tables, candidates, False), strict=True):
        _same(python, js)


def test_fused_frames_read_through_a_format_prior_as_python_does(site, chromium, alphabet, tmp_path):
    rng = np.random.default_rng(8)
    groups = [[leaning_table(text, alphabet, rng) for _ in range(3)] for text in TEXTS]
    expected = [_as_json(fuse_tables(group, alphabet, 3, prior=PRIOR)) for group in groups]
    for python, js in zip(expected, _in_page(site, chromium, tmp_path, groups, 3, True), strict=True):
        _same(python, js)


def test_the_page_shapes_strings_as_python_does(site, chromium, tmp_path):
    texts = ["AB-302oz é9", "Nº m² Ⅰ١", "ÄÖÜß straße", "Ⓐ①ª", "ǅ ǲ", "密码 パスワード", "٣٤٥ ९", "x\u00a0y"]
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(
            'async (texts) => { const D = await import("./reader/decode.js"); return texts.map(D.shapeOf); }', texts
        )
        page.close()
    assert got == [shape_of(t) for t in texts]
