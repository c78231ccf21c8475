"""What a line crop's pixels say beyond the model's reading: word gaps, and characters read over no ink.

The model's alphabet has no space, so where a label ends and its value begins is seen in the
pixels: a run of ink-free columns between the CTC frames of two characters. These helpers take a
gray line crop and its probability table (``T x classes``, blank at 0) and nothing else.
"""

from __future__ import annotations

import numpy as np

from pwocr.data.images import colour_to_gray
from pwocr.decoding.ctc import character_spans
from pwocr.imaging import otsu_threshold

#: A blank run of at least this many crop heights between two characters is a word space. Letters
#: sit about 0.05 crop heights apart, a space about 0.2 (the crop is about 1.5 text heights tall).
SPACE_GAP = 0.13
#: ...and at least this many times the line's median gap between characters: a monospaced font
#: leaves wide blanks around a narrow ``i``, ``l`` or ``:`` (``St ud io WiF i``), its word gaps wider still.
WORD_GAP_RATIO = 2.0
#: The median is the line's own where it has at least this many gaps between characters.
MEDIAN_GAPS = 4


def gray_crop(crop: np.ndarray) -> np.ndarray:
    """A line crop in gray along its own main colour axis (coloured ink keeps its contrast)."""
    return colour_to_gray(crop) if crop.ndim == 3 else crop


def inked_columns(crop: np.ndarray) -> np.ndarray:
    """Which columns of a gray line crop hold ink (Otsu's threshold; ink is the minority of pixels)."""
    bright = crop > otsu_threshold(crop)
    ink = bright if bright.mean() < 0.5 else ~bright
    return ink.sum(0) > max(1, 0.03 * crop.shape[0])


def greedy_spans(probs: np.ndarray) -> list[tuple[int, int]]:
    """The first and last frame of each character of the greedy CTC reading."""
    return character_spans(probs.argmax(-1).tolist())


def char_onsets(table: np.ndarray, frames: int) -> list[float]:
    """Where each character of the greedy reading starts across the line (0 to 1) whose first ``frames`` frames span it."""
    return [min(1.0, first / frames) for first, _ in greedy_spans(table)]


def _longest_blank(inked: np.ndarray, x0: int, x1: int) -> int:
    """The longest run of ink-free columns in ``[x0, x1]``."""
    run = best = 0
    for x in range(max(0, x0), min(len(inked), x1 + 1)):
        run = 0 if inked[x] else run + 1
        best = max(best, run)
    return best


def spaced_text(crop: np.ndarray, probs: np.ndarray, text: str, frames: int | None = None) -> str:
    """``text`` with a space wherever the crop shows a word gap between two characters.

    ``frames``: how many of the table's frames span the crop (``Recognizer.line_frames``; the rest
    read the model's padding); all of them by default. ``Password GeyDoh6105`` reads
    ``PasswordGeyDoh6105``; the picker reads labels from the spaced text.
    """
    spans = greedy_spans(probs)
    if len(spans) != len(text) or len(text) < 2:
        return text
    h, w = crop.shape
    inked = inked_columns(crop)
    frames = frames or len(probs)
    blanks: list[int | None] = []
    for k in range(1, len(text)):
        if spans[k][0] >= frames:
            # Read over the padding after the line: the crop's right margin is no word gap.
            blanks.append(None)
            continue
        x0, x1 = int((spans[k - 1][1] + 1) / frames * w), int(spans[k][0] / frames * w)
        blanks.append(_longest_blank(inked, x0, x1))
    measured = [b for b in blanks if b is not None]
    typical = float(np.median(measured)) if len(measured) >= MEDIAN_GAPS else 0.0
    wide = max(SPACE_GAP * h, WORD_GAP_RATIO * typical)
    gaps = [b is not None and b >= wide for b in blanks]
    if sum(gaps) > len(gaps) / 2:
        return text  # wide gaps everywhere: a letter-spaced field (a password shown spaced out), not words
    return text[0] + "".join((" " if gap else "") + c for gap, c in zip(gaps, text[1:]))


def inkless_characters(crop: np.ndarray, table: np.ndarray, frames: int, reach: int = 0) -> list[bool]:
    """For each character of the greedy reading, whether it was read where the crop has no ink at all.

    The model has no space class and sometimes spells a word gap, or the crop's margin, as ``_``,
    ``~`` or ``.``: such a character stands over blank columns. One read over the padding after the
    crop (its frames past ``frames``) is the line's last character, read late: real, never inkless.
    ``reach``: also look this many frames to the left of each character's frames.
    """
    w = crop.shape[1]
    inked = inked_columns(crop)
    inkless = []
    for first, last in greedy_spans(table):
        x0, x1 = int((first - reach) / frames * w), int((last + 1) / frames * w)
        inkless.append(first < frames and not inked[max(0, x0) : max(x0 + 1, x1)].any())
    return inkless


def phantoms_at(crop: np.ndarray, table: np.ndarray, start: int, frames: int) -> int:
    """How many characters from ``start`` on were read where the crop has no ink at all.

    Between a label and its value such a character is a gap, not the password's first character.
    """
    inkless = inkless_characters(crop, table, frames)[start:]
    count = next((i for i, blank in enumerate(inkless) if not blank), len(inkless))
    return count if count < len(inkless) else 0


def trailing_phantoms(crop: np.ndarray, table: np.ndarray, end: int, frames: int) -> int:
    """How many characters before ``end`` (the value's end) were read where the crop has no ink.

    A word gap or the crop's right margin is sometimes read as ``_`` or ``.``; after the value such a
    character is no part of it. A thin mark that ends a password (``'``, ``.``) is often read a frame
    after its ink: ink in the frame before the character's counts as its own.
    """
    inkless = inkless_characters(crop, table, frames, reach=1)[:end][::-1]
    count = next((i for i, blank in enumerate(inkless) if not blank), len(inkless))
    return count if count < len(inkless) else 0


def spelt_words(crop: np.ndarray, probs: np.ndarray, text: str, frames: int | None = None) -> str:
    """``spaced_text`` as a person reads the line: a character read over no ink is the gap it stands in.

    ``Internet_voucher`` (the model's ``_`` over the word gap) reads ``Internet voucher``. Where most
    characters seem inkless the crop's ink is not what Otsu's threshold found, and the text stays.
    """
    frames = frames or len(probs)
    spaced = spaced_text(crop, probs, text, frames)
    inkless = inkless_characters(crop, probs, frames)
    if " " in text or len(inkless) != len(text) or sum(inkless) * 2 >= len(text):
        return spaced  # a model that reads spaces spells its own gaps
    chars = iter(inkless)
    return " ".join("".join(c if c == " " or not next(chars) else " " for c in spaced).split())


def value_table(probs: np.ndarray, start: int, end: int | None = None) -> np.ndarray:
    """The frames of a line's table that read characters ``start`` to ``end`` (the value, without its label).

    The value runs from its first character's first frame to the frame before the next character
    (or the table's end), so the decoder sees the value's own blanks and nothing of the label.
    """
    spans = greedy_spans(probs)
    if start >= len(spans):
        return probs[len(probs) :]
    first = spans[start][0] if start > 0 else 0
    last = spans[end][0] if end is not None and end < len(spans) else len(probs)
    return probs[first:last]
