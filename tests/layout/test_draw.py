"""--draw's tag placement on hand-made boxes: a tag never covers a box or another tag where there is room."""

from pwocr.layout.draw import _overlap, place_tag


def test_a_tag_goes_right_of_its_box_when_that_is_free():
    assert place_tag((10, 10, 100, 30), (50, 16), [(10, 10, 100, 30)], (400, 300)) == (106, 10, 156, 26)


def test_a_tag_avoids_a_neighbour_in_the_row_and_the_picture_edge():
    boxes = [(10, 10, 100, 30), (110, 10, 390, 30), (10, 60, 390, 80)]
    rect = place_tag(boxes[0], (60, 16), boxes, (400, 300))
    assert all(_overlap(rect, b) == 0 for b in boxes)
    assert 0 <= rect[0] and rect[2] <= 400 and 0 <= rect[1] and rect[3] <= 300


def test_tags_of_stacked_lines_do_not_cover_each_other():
    boxes = [(10, 10 + 25 * k, 300, 30 + 25 * k) for k in range(6)]
    taken = list(boxes)
    for box in boxes:
        rect = place_tag(box, (80, 18), taken, (400, 400))
        assert all(_overlap(rect, other) == 0 for other in taken)
        taken.append(rect)
