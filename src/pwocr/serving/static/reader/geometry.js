// Where a photo's lines sit: pwocr.layout.geometry in JavaScript. Reading order in the photo's own
// slant, fragments of one line joined, side margins added: pure geometry on detected boxes, in
// Python's arithmetic (the turn of the lines' median slope is a small float64 matrix product,
// which OpenBLAS adds with a fused multiply-add: imaging.fma).
//
// A place is {row, left, right}: the line's row (top to bottom) and its extent along the row in
// the deskewed frame. `rules` holds Python's constants (model/photo.json): join_gap, side_margin.

import { fma, minAreaRect, pairwiseSum } from "./imaging.js";
import { boxAngle, boxCentre, boxHeight, orderCorners, widened } from "./detector.js";

// np.median of a list of numbers.
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

// geometry._rows: box indices grouped into rows, top to bottom; a box joins the last row when its centre
// is closer, across the row, than half the smaller height of the two.
function rowsOf(centres, boxes) {
  const rows = [];
  const order = [...boxes.keys()].sort((a, b) => centres[a][1] - centres[b][1]);
  for (const k of order) {
    if (rows.length) {
      const last = rows[rows.length - 1];
      const height = Math.min(Math.min(...last.map((j) => boxHeight(boxes[j]))), boxHeight(boxes[k]));
      const mean = pairwiseSum(last.map((j) => centres[j][1])) / last.length;
      if (Math.abs(centres[k][1] - mean) < 0.5 * height) {
        last.push(k);
        continue;
      }
    }
    rows.push([k]);
  }
  return rows;
}

// reading_order: the boxes' indices in reading order (rows top to bottom, left to right in a row) and each one's place.
export function readingOrder(boxes) {
  if (!boxes.length) return [[], []];
  const angle = median(boxes.map(boxAngle)) * (Math.PI / 180);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // point @ turn.T with turn = [[cos, sin], [-sin, cos]]; NumPy gives a one-row product to BLAS another way.
  const turned = (x, y, single) => (single
    ? [fma(x, cos, y * sin), fma(x, -sin, y * cos)]
    : [fma(y, sin, x * cos), fma(y, cos, x * -sin)]);
  const centres = boxes.map((b) => turned(...boxCentre(b), boxes.length === 1));
  const extents = boxes.map((b) => b.points.map(([x, y]) => turned(x, y, false)[0]));
  const order = [];
  const places = [];
  rowsOf(centres, boxes).forEach((row, r) => {
    for (const k of [...row].sort((a, b) => centres[a][0] - centres[b][0])) {
      order.push(k);
      places.push({ row: r, left: Math.min(...extents[k]), right: Math.max(...extents[k]) });
    }
  });
  return [order, places];
}

// join_fragments: neighbours in a row (boxes in reading order) with a small gap and similar heights, joined into one box.
export function joinFragments(boxes, places, rules) {
  const outBoxes = [];
  const outPlaces = [];
  boxes.forEach((box, i) => {
    const place = places[i];
    if (outBoxes.length && outPlaces[outPlaces.length - 1].row === place.row) {
      const last = outBoxes[outBoxes.length - 1];
      const lastPlace = outPlaces[outPlaces.length - 1];
      const [low, high] = [boxHeight(last), boxHeight(box)].sort((a, b) => a - b);
      if (place.left - lastPlace.right < rules.join_gap * low && high < 1.6 * low) {
        const rect = minAreaRect([...last.points, ...box.points]);
        outBoxes[outBoxes.length - 1] = { points: orderCorners(rect.corners()), score: Math.min(last.score, box.score) };
        outPlaces[outPlaces.length - 1] = { row: place.row, left: lastPlace.left, right: Math.max(lastPlace.right, place.right) };
        return;
      }
    }
    outBoxes.push(box);
    outPlaces.push(place);
  });
  return [outBoxes, outPlaces];
}

// with_margins: each box widened by side_margin heights, but never past half the gap to its neighbour in the row.
export function withMargins(boxes, places, width, height, rules) {
  return boxes.map((box, k) => {
    const place = places[k];
    const margin = rules.side_margin * boxHeight(box);
    const room = [margin, margin];
    places.forEach((other, j) => {
      if (j === k || other.row !== place.row) return;
      if (other.right <= place.left + 1) room[0] = Math.min(room[0], Math.max(0.0, (place.left - other.right) / 2));
      else if (other.left >= place.right - 1) room[1] = Math.min(room[1], Math.max(0.0, (other.left - place.right) / 2));
    });
    return widened(box, room[0], room[1], width, height);
  });
}
