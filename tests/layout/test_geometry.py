"""Reading order, fragment joining and margins on hand-made boxes: no model, no pixels."""

import numpy as np

from pwocr.layout.detector import TextBox
from pwocr.layout.geometry import SIDE_MARGIN, join_fragments, reading_order, with_margins


def box(x0: float, y0: float, x1: float, y1: float, angle: float = 0.0) -> TextBox:
    """An axis-aligned box turned by ``angle`` degrees about the origin."""
    points = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    a = np.deg2rad(angle)
    turn = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return TextBox(points @ turn.T, 1.0)


def test_rows_top_to_bottom_and_left_to_right():
    boxes = [box(300, 100, 500, 130), box(10, 10, 200, 40), box(10, 100, 250, 130)]
    order, places = reading_order(boxes)
    assert order == [1, 2, 0]
    assert [p.row for p in places] == [0, 1, 1]
    assert places[1].right < places[2].left


def test_rows_are_found_in_a_tilted_photo():
    # Two rows of two boxes, the whole card turned by 20 degrees: the right box of the first row
    # sits lower in the image than the left box of the second, yet they stay in their rows.
    boxes = [box(x, y, x + 150, y + 30, 20) for y in (0, 60) for x in (0, 400)]
    order, places = reading_order(boxes)
    assert order == [0, 1, 2, 3] and [p.row for p in places] == [0, 0, 1, 1]


def test_close_fragments_of_one_line_are_joined_far_ones_kept():
    boxes = [box(0, 0, 100, 30), box(110, 0, 300, 30), box(500, 0, 700, 30)]
    order, places = reading_order(boxes)
    joined, joined_places = join_fragments([boxes[k] for k in order], places)
    assert len(joined) == 2 and joined_places[0].right >= 299 and joined[0].width >= 299


def test_margins_never_reach_past_half_the_gap_to_a_neighbour():
    boxes = [box(100, 0, 200, 30), box(210, 0, 400, 30)]
    _, places = reading_order(boxes)
    widened = with_margins(boxes, places, (100, 1000))
    assert widened[0].points[:, 0].min() <= 100 - SIDE_MARGIN * 30 + 1
    assert widened[0].points[:, 0].max() <= 205 + 1e-3 and widened[1].points[:, 0].min() >= 205 - 1e-3
