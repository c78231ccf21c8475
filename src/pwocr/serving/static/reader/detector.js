// Text-line detection: pwocr.layout.detector in JavaScript. PP-OCRv6 small's DB detector runs in
// onnxruntime-web (the worker hands `detect` a function that runs it); its post-processing
// (threshold, regions, minimum-area rectangles, unclip) and crop_line, which warps each line
// upright, follow Python's arithmetic through imaging.js, so the page finds the same boxes and
// straightens the same crops as `pwocr recognize`.
//
// A box is {points: [[x, y] x 4] (float32 values: top-left, top-right, bottom-right, bottom-left), score}.

import {
  contourHulls,
  dilate2x2,
  minAreaRect,
  perspectiveTransform,
  polygonMean,
  resizeImage,
  rotateCounterclockwise,
  roundHalfEven,
  warpPerspective,
} from "./imaging.js";

const f32 = Math.fround;

// np.linalg.norm of a float32 [dx, dy]: float32 arithmetic.
function norm32(dx, dy) {
  return f32(Math.sqrt(f32(f32(dx * dx) + f32(dy * dy))));
}

// TextBox.width: the longer of its top and bottom edges.
export function boxWidth(box) {
  const p = box.points;
  return Math.max(norm32(f32(p[1][0] - p[0][0]), f32(p[1][1] - p[0][1])), norm32(f32(p[2][0] - p[3][0]), f32(p[2][1] - p[3][1])));
}

// TextBox.height: the longer of its left and right edges.
export function boxHeight(box) {
  const p = box.points;
  return Math.max(norm32(f32(p[3][0] - p[0][0]), f32(p[3][1] - p[0][1])), norm32(f32(p[2][0] - p[1][0]), f32(p[2][1] - p[1][1])));
}

// TextBox.centre: the mean of its corners (float32, summed in order, as NumPy's mean over axis 0).
export function boxCentre(box) {
  const p = box.points;
  return [0, 1].map((k) => f32(f32(f32(f32(p[0][k] + p[1][k]) + p[2][k]) + p[3][k]) / 4));
}

// np.degrees of a float32 angle: times float32(180) / float32(pi).
const DEGREES = f32(f32(180) / f32(Math.PI));

// TextBox.angle: the top edge's slope in degrees, from a float32 arctan2. Correctly rounded here; NumPy's
// own float32 arctan2 (its SIMD code, which depends on the CPU) may differ from it in the last bit,
// which moves reading_order's extents by about a millionth of a pixel.
export function boxAngle(box) {
  const p = box.points;
  const dx = f32(p[1][0] - p[0][0]);
  const dy = f32(p[1][1] - p[0][1]);
  return f32(f32(Math.atan2(dy, dx)) * DEGREES);
}

// TextBox.widened: the box grown along its own direction, `left` and `right` pixels, kept inside a width x height photo.
export function widened(box, left, right, width, height) {
  const p = box.points;
  let ax = f32(p[1][0] - p[0][0]);
  let ay = f32(p[1][1] - p[0][1]);
  const length = f32(Math.max(norm32(ax, ay), 1e-6));
  ax = f32(ax / length);
  ay = f32(ay / length);
  const by = [-left, right, right, -left].map(f32);
  const grown = p.map(([x, y], i) => [
    Math.min(Math.max(f32(x + f32(by[i] * ax)), 0), width - 1),
    Math.min(Math.max(f32(y + f32(by[i] * ay)), 0), height - 1),
  ]);
  return { points: grown, score: box.score };
}

// Python's round(x, 1): the decimal nearest x's exact value, halves to even.
function round1(x) {
  let text = x.toFixed(1);
  const quarter = x * 4;
  if (Number.isInteger(quarter) && !Number.isInteger(x * 2)) {
    // x is exactly halfway between two tenths: toFixed takes the larger, Python the even.
    const low = Math.floor(x * 10);
    text = ((low % 2 === 0 ? low : low + 1) / 10).toFixed(1);
  }
  return Number(text);
}

// TextBox.as_list: the corners rounded to a tenth of a pixel.
export function boxAsList(box) {
  return box.points.map(([x, y]) => [round1(x), round1(y)]);
}

// order_corners: top-left, top-right, bottom-right, bottom-left for a line tilted less than 45 degrees (stable sorts).
export function orderCorners(points) {
  const pts = points.map(([x, y]) => [f32(x), f32(y)]);
  const byX = [0, 1, 2, 3].sort((a, b) => pts[a][0] - pts[b][0]).map((i) => pts[i]);
  const [tl, bl] = byX.slice(0, 2).sort((a, b) => a[1] - b[1]);
  const [tr, br] = byX.slice(2).sort((a, b) => a[1] - b[1]);
  return [tl, tr, br, bl];
}

// detection_size: the detector's input size, the long side at most maxSide, the short side raised toward minSide, multiples of 32.
export function detectionSize(height, width, maxSide, minSide) {
  const ratio = Math.min(maxSide / Math.max(height, width), Math.max(minSide / Math.min(height, width), 1.0));
  return [Math.max(32, roundHalfEven((height * ratio) / 32) * 32), Math.max(32, roundHalfEven((width * ratio) / 32) * 32)];
}

// detector_input: the gray photo at the detector's size, each channel in [-1, 1], as float32 1 x 3 x h x w.
export function detectorInput(gray, params) {
  const [h, w] = detectionSize(gray.height, gray.width, params.max_side, params.min_side);
  const shrink = h * w < gray.height * gray.width;
  const small = resizeImage(gray, w, h, shrink ? "area" : "linear");
  const plane = h * w;
  const data = new Float32Array(3 * plane);
  const k = f32(2.0 / 255.0);
  for (let i = 0; i < plane; i++) data[i] = f32(f32(small.data[i] * k) - 1);
  data.copyWithin(plane, 0, plane);
  data.copyWithin(2 * plane, 0, plane);
  return { data, dims: [1, 3, h, w] };
}

// TextDetector.boxes_from_map: DB post-processing of a probability map ({data, width, height}) for a width x height photo.
export function boxesFromMap(map, width, height, params) {
  const { width: mw, height: mh, data } = map;
  const threshold = f32(params.threshold); // NumPy compares a float32 map with a Python float in float32
  const bitmap = new Uint8Array(mw * mh);
  for (let i = 0; i < bitmap.length; i++) bitmap[i] = data[i] > threshold ? 1 : 0;
  const regions = contourHulls(dilate2x2(bitmap, mw, mh), mw, mh).slice(0, 1000);
  const sx = f32(width / mw);
  const sy = f32(height / mh);
  const boxes = [];
  for (const points of regions) {
    const rect = minAreaRect(points);
    const [rw, rh] = rect.size;
    if (Math.min(rw, rh) < 3) continue;
    const score = polygonMean(map, rect.corners());
    if (score < params.box_threshold) continue;
    // DB's unclip of a rectangle: every side moves out by area * ratio / perimeter.
    const grown = rect.grown((rw * rh * params.unclip_ratio) / (2 * (rw + rh)));
    if (Math.min(...grown.size) < 5) continue;
    const corners = grown.corners().map(([x, y]) => [
      Math.min(Math.max(f32(x * sx), 0), width - 1),
      Math.min(Math.max(f32(y * sy), 0), height - 1),
    ]);
    const box = { points: orderCorners(corners), score };
    if (boxWidth(box) > 3 && boxHeight(box) > 3) boxes.push(box);
  }
  return boxes;
}

// crop_line: the line under `box`, warped upright and flat, gray or colour as given; at most maxHeight rows,
// and a line under minHeight rows warped straight to that height by cubic interpolation.
export function cropLine(image, box, maxHeight = 96, minHeight = 0) {
  let w = Math.max(8, roundHalfEven(boxWidth(box)));
  let h = Math.max(8, roundHalfEven(boxHeight(box)));
  const scale = Math.max(1.0, minHeight / h);
  w = roundHalfEven(w * scale);
  h = roundHalfEven(h * scale);
  const matrix = perspectiveTransform(box.points, [[0, 0], [w, 0], [w, h], [0, h]]);
  let crop = warpPerspective(image, matrix, w, h, scale > 1.0 ? "cubic" : "linear");
  if (h > maxHeight) crop = resizeImage(crop, Math.max(8, roundHalfEven((w * maxHeight) / h)), maxHeight, "area");
  if (isVertical(box)) crop = rotateCounterclockwise(crop);
  return crop;
}

// detector.is_vertical: a box much taller than wide is a vertical line (text turned by a quarter), read turned.
export function isVertical(box) {
  return Math.max(8, roundHalfEven(boxHeight(box))) > 1.5 * Math.max(8, roundHalfEven(boxWidth(box)));
}
