// Which way up a photo's text reads: pwocr.layout.orientation in JavaScript. PP-OCR's text-angle
// classifier runs in onnxruntime-web (the worker hands in `upsideDown(inputs) -> probabilities`); each
// straightened line votes for the direction it reads in with its length, and the photo is read turned
// by the quarter turn that makes the sum point left to right, as `pwocr recognize` does.

import { boxHeight, boxWidth, cropLine, isVertical } from "./detector.js";
import { resizeImage, rot90, roundHalfEven } from "./imaging.js";

const f32 = Math.fround;

// orientation.angle_input: one gray line at `height` rows and at most `width` columns, in [-1, 1], zero-padded: 3 x height x width.
export function angleInput(gray, [height, width]) {
  const used = Math.min(width, Math.ceil((height * gray.width) / Math.max(gray.height, 1)));
  const line = resizeImage(gray, used, height, "linear");
  const plane = height * width;
  const data = new Float32Array(3 * plane);
  const k = f32(2.0 / 255.0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < used; x++) data[y * width + x] = f32(f32(line.data[y * used + x] * k) - 1);
  }
  data.copyWithin(plane, 0, plane);
  data.copyWithin(2 * plane, 0, plane);
  return data;
}

// orientation.crop_direction: the unit direction, in photo pixels, in which cropLine's crop of `box` runs left to right.
function cropDirection(box) {
  const p = box.points;
  const [a, b] = isVertical(box) ? [p[0], p[3]] : [p[0], p[1]];
  const along = [f32(b[0] - a[0]), f32(b[1] - a[1])];
  const length = Math.max(f32(Math.sqrt(f32(f32(along[0] * along[0]) + f32(along[1] * along[1])))), 1e-6);
  return along.map((v) => f32(v / length));
}

// orientation.upright_turns: how many quarter turns counterclockwise make the photo's text read left to right.
export async function uprightTurns(gray, boxes, upsideDown, size) {
  if (boxes.length === 0) return 0;
  const [height, width] = size;
  const inputs = boxes.map((box) => angleInput(cropLine(gray, box, height, height), size));
  const flipped = await upsideDown(inputs);
  const vote = [0, 0];
  boxes.forEach((box, i) => {
    const weight = Math.max(boxWidth(box), boxHeight(box)) * (1.0 - 2.0 * flipped[i]);
    const direction = cropDirection(box);
    vote[0] += weight * direction[0];
    vote[1] += weight * direction[1];
  });
  const degrees = (Math.atan2(vote[1], vote[0]) * 180) / Math.PI; // image coordinates: +90 is down the photo
  return (((roundHalfEven(degrees / 90.0) % 4) + 4) % 4);
}

// orientation.unturn_box: a box of the photo turned `turns` quarter turns, back in the pixels of the photo
// as given (`width` x `height`); its corners keep their order along the text.
export function unturnBox(box, turns, width, height) {
  let points = box.points.map(([x, y]) => [x, y]);
  let [w, h] = turns % 2 === 0 ? [width, height] : [height, width];
  for (let k = 0; k < (4 - turns) % 4; k++) {
    // one turn: (x, y) -> (y, w - 1 - x), and the image becomes h x w
    points = points.map(([x, y]) => [y, f32(w - 1 - x)]);
    [w, h] = [h, w];
  }
  return { ...box, points };
}
