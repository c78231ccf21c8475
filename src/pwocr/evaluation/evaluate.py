"""``pwocr evaluate``: read a labelled set with a checkpoint and report the seed's metrics and more."""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pwocr.data.images import load
from pwocr.data.labels import LabelledImage, SkippedRow
from pwocr.decoding.constraints import Constraints
from pwocr.errors import PwocrError
from pwocr.evaluation.metrics import GAP, Metrics, align, compute_metrics, normalise_text
from pwocr.extras import require
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.io import atomic_write

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalReport:
    metrics: Metrics
    top_k_word_accuracy: dict[int, float]
    latency_ms: float  # mean wall time per image: loading, preprocessing, forward (batched) and decoding
    readings: tuple[Reading, ...]
    truths: tuple[str, ...]
    # Rows that were not scored, and why: the metrics are of the other rows only.
    skipped: tuple[SkippedRow, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.metrics.as_dict().items()
        }
        for k, v in self.top_k_word_accuracy.items():
            out[f"top{k}_word_accuracy"] = round(v, 6)
        out["latency_ms"] = round(self.latency_ms, 3)
        out["skipped"] = len(self.skipped)
        out["skipped_rows"] = [{"row": row.where, "reason": row.reason} for row in self.skipped]
        return out


def evaluate(
    recognizer: Recognizer,
    items: Sequence[LabelledImage] | Sequence[tuple[np.ndarray, str]],
    top_k: Sequence[int] = (1, 3, 5),
    constraints: Constraints | None = None,
    ignore_case: bool = False,
    ignore_symbols: bool = False,
    skipped: Sequence[SkippedRow] = (),
) -> EvalReport:
    """Read every item and score it; unreadable images are reported and left out.

    The report's ``skipped`` lists the rows not scored: ``skipped`` (rows the caller left out,
    ``screen_labels``'), then each image that could not be loaded, as it is logged (a warning of the ``pwocr`` logger).

    ``items`` are labelled files or ``(image array, label)`` pairs (for in-memory test sets).
    Top-k word accuracy counts a reading right when the truth is among its k best candidates.
    Readings follow ``Recognizer.decode``'s one policy, so each is what ``pwocr recognize`` prints.
    ``ignore_case`` and ``ignore_symbols`` score as scene-text benchmarks do (``normalise_text``).
    """
    # Each image is cut down to its model-height line as it is loaded: a set of phone photos is
    # never all in memory at full size.
    lines, truths, names = [], [], []
    unread = list(skipped)
    loading = 0.0
    for i, item in enumerate(items):
        source, name = (item.path, str(item.path)) if isinstance(item, LabelledImage) else (item[0], f"<image {i}>")
        started = time.perf_counter()
        try:
            lines.append(recognizer.load_line(source))
        except PwocrError as e:
            row = SkippedRow(item.where if isinstance(item, LabelledImage) else name, str(e))
            unread.append(row)
            logger.warning("%s; skipped", row)
            continue
        loading += time.perf_counter() - started
        truths.append(item.label if isinstance(item, LabelledImage) else item[1])
        names.append(name)
    if not lines:
        why = f" ({len(unread)} rows skipped; the first: {unread[0]})" if unread else ""
        raise PwocrError(f"no readable images to evaluate{why}")
    k_max = max(top_k)
    started = time.perf_counter()
    tables = recognizer.line_probabilities(lines)
    readings = [recognizer.decode(t, n, candidates=k_max, constraints=constraints) for t, n in zip(tables, names)]
    latency = (time.perf_counter() - started + loading) / len(lines) * 1000
    metrics = compute_metrics(truths, [r.text for r in readings], ignore_case, ignore_symbols)

    def found(reading: Reading, truth: str, k: int) -> bool:
        wanted = normalise_text(truth, ignore_case, ignore_symbols)
        return any(normalise_text(c.text, ignore_case, ignore_symbols) == wanted for c in reading.candidates[:k])

    top = {k: float(np.mean([found(r, t, k) for r, t in zip(readings, truths)])) for k in top_k if k > 1}
    return EvalReport(metrics, top, latency, tuple(readings), tuple(truths), tuple(unread))


def confusion_pairs(truths: Sequence[str], predictions: Sequence[str]) -> dict[tuple[str, str], int]:
    """Counts of (truth, prediction) character pairs from the alignments, gaps included."""
    counts: dict[tuple[str, str], int] = {}
    for truth, prediction in zip(truths, predictions):
        for pair in align(truth, prediction):
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def write_confusion_png(report: EvalReport, path: str | os.PathLike[str]) -> None:
    """A confusion matrix of the characters involved in errors (plus gaps), as a PNG."""
    require("train", "a confusion matrix")
    import matplotlib.pyplot as plt

    fig = confusion_figure(report)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())


def confusion_figure(report: EvalReport) -> Any:
    """The confusion matrix as a matplotlib ``Figure`` (truth down, reading across, log-scaled colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    from pwocr.synth.fonts import display_font

    counts = confusion_pairs(report.truths, [r.text for r in report.readings])
    involved = sorted({c for (t, p), n in counts.items() if t != p for c in (t, p)} - {GAP})
    labels = [*involved, "∅"] if involved else ["∅"]
    index = {c: i for i, c in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for (t, p), n in counts.items():
        t, p = t or "∅", p or "∅"
        if t in index and p in index:
            matrix[index[t], index[p]] += n
    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    # Tick labels in a font that tells I from l and 0 from O: the confusions are exactly those pairs.
    mono = FontProperties(fname=display_font(), size=10)
    ax.set_xticks(range(len(labels)), labels, fontproperties=mono)
    ax.set_yticks(range(len(labels)), labels, fontproperties=mono)
    ax.set_xlabel("read as")
    ax.set_ylabel("truth")
    ax.set_title(f"confusions ({report.metrics.n} images, word accuracy {report.metrics.word_accuracy:.1%})")
    for (i, j), n in np.ndenumerate(matrix):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    return fig


def _display_font_base64() -> str:
    from pwocr.synth.fonts import display_font

    return base64.b64encode(display_font().read_bytes()).decode()


def write_wrong_html(report: EvalReport, path: str | os.PathLike[str]) -> int:
    """An HTML page of the wrong readings, each with its image inlined; returns how many."""
    rows = []
    for reading, truth in zip(report.readings, report.truths):
        if reading.text == truth:
            continue
        image = ""
        source = Path(reading.image)
        if source.is_file():
            shown = load(source, colour=True)  # as the photo looks, whatever the model reads
            png = io.BytesIO()
            Image.fromarray(shown).save(png, format="PNG")
            data = base64.b64encode(png.getvalue()).decode()
            image = f'<img src="data:image/png;base64,{data}" alt="{html.escape(source.name)}">'
        marked = "".join(
            f'<span class="bad">{html.escape(p or "∅")}</span>' if t != p else html.escape(p)
            for t, p in align(truth, reading.text)
        )
        rows.append(
            f"<tr><td>{html.escape(str(source))}</td><td>{image}</td><td><code>{html.escape(truth)}</code></td>"
            f"<td><code>{marked}</code></td><td>{reading.confidence:.3f}</td></tr>"
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>pwocr: wrong readings</title>"
        "<style>body{font-family:sans-serif}td{padding:4px 8px;border-bottom:1px solid #ddd}"
        "img{max-height:48px}.bad{background:#fbb}"
        # Readings in the display font (DejaVu Sans Mono: I l 1 | and a dotted 0 stay distinct), embedded so the page stands alone.
        f"@font-face{{font-family:pwocr-mono;src:url(data:font/ttf;base64,{_display_font_base64()})}}"
        "code{font-family:pwocr-mono,'DejaVu Sans Mono',monospace;font-size:1.2em}</style>"
        f"<h1>{len(rows)} wrong of {report.metrics.n}</h1>"
        "<table><tr><th>image</th><th></th><th>truth</th><th>read</th><th>confidence</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    atomic_write(path, page)
    return len(rows)
