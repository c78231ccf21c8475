"""Where a photo's lines sit: reading order in the photo's own slant, fragments joined, margins added.

Pure geometry on detected boxes (no pixels, no text): rows are found in the frame turned by the
lines' median slope, so a photo taken at 25 degrees still reads row by row, and every line keeps
its row and its extent along the row for the picker (a label left of or above its value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pwocr.imaging import min_area_rect
from pwocr.layout.detector import TextBox, order_corners


@dataclass(frozen=True)
class LinePlace:
    """Where a line sits: its row (top to bottom) and its extent along the row in the deskewed frame."""

    row: int
    left: float
    right: float


def _rows(centres: np.ndarray, boxes: list[TextBox]) -> list[list[int]]:
    """Box indices grouped into rows, top to bottom: a box joins the last row when its centre is
    closer, across the row, than half the smaller height of the two."""
    rows: list[list[int]] = []
    for k in sorted(range(len(boxes)), key=lambda j: centres[j, 1]):
        if rows:
            last = rows[-1]
            height = min(min(boxes[j].height for j in last), boxes[k].height)
            if abs(centres[k, 1] - np.mean([centres[j, 1] for j in last])) < 0.5 * height:
                last.append(k)
                continue
        rows.append([k])
    return rows


def reading_order(boxes: list[TextBox]) -> tuple[list[int], list[LinePlace]]:
    """Boxes in reading order (rows top to bottom, left to right in a row) and each one's place."""
    if not boxes:
        return [], []
    angle = np.deg2rad(float(np.median([b.angle for b in boxes])))
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    centres = np.array([b.centre for b in boxes]) @ turn.T
    extents = [(b.points @ turn.T)[:, 0] for b in boxes]
    order: list[int] = []
    places: list[LinePlace] = []
    for r, row in enumerate(_rows(centres, boxes)):
        for k in sorted(row, key=lambda j: centres[j, 0]):
            order.append(k)
            places.append(LinePlace(r, float(extents[k].min()), float(extents[k].max())))
    return order, places


#: Boxes of one row closer than this many line heights are one line. DB sometimes cuts a line
#: inside a word (``PW: E`` | ``itFR@i7%w()``); a word space is well under half a box height,
#: and a label printed far from its value stays apart (the picker links it by position).
JOIN_GAP = 0.5


def join_fragments(boxes: list[TextBox], places: list[LinePlace]) -> tuple[list[TextBox], list[LinePlace]]:
    """Neighbours in a row (boxes in reading order) with a small gap and similar heights, joined into one box."""
    out_boxes: list[TextBox] = []
    out_places: list[LinePlace] = []
    for box, place in zip(boxes, places):
        if out_boxes and out_places[-1].row == place.row:
            last, last_place = out_boxes[-1], out_places[-1]
            low, high = sorted((last.height, box.height))
            if place.left - last_place.right < JOIN_GAP * low and high < 1.6 * low:
                rect = min_area_rect(np.vstack([last.points, box.points]))
                out_boxes[-1] = TextBox(order_corners(rect.corners()), min(last.score, box.score))
                out_places[-1] = LinePlace(place.row, last_place.left, max(last_place.right, place.right))
                continue
        out_boxes.append(box)
        out_places.append(place)
    return out_boxes, out_places


#: Side margin added to every box, in line heights. DB's boxes hug the ink and drop thin end
#: glyphs (``|``, ``!``, ``'``) that passwords are full of; the recognizer was trained on loose crops.
SIDE_MARGIN = 0.3


def with_margins(boxes: list[TextBox], places: list[LinePlace], shape: tuple[int, ...]) -> list[TextBox]:
    """Each box widened by ``SIDE_MARGIN`` heights, but never past half the gap to its neighbour in the row."""
    out = []
    for k, (box, place) in enumerate(zip(boxes, places)):
        room = [SIDE_MARGIN * box.height, SIDE_MARGIN * box.height]
        for j, other in enumerate(places):
            if j == k or other.row != place.row:
                continue
            if other.right <= place.left + 1:
                room[0] = min(room[0], max(0.0, (place.left - other.right) / 2))
            elif other.left >= place.right - 1:
                room[1] = min(room[1], max(0.0, (other.left - place.right) / 2))
        out.append(box.widened(room[0], room[1], shape[1], shape[0]))
    return out
