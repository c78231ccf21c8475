// Reading labels pwocr's model cannot spell (密码, パスワード, Contraseña): pwocr.layout.labels in
// JavaScript. PP-OCRv6 small's recognizer runs in onnxruntime-web (the worker hands in a function
// that runs it); its input is made as Python makes it (imaging.js's resize) and its output read by
// greedy CTC over its dictionary (model/photo.json's "dictionary": PP-OCRv6's characters as
// Python splits them from the model's metadata).

import { resizeImage, roundHalfEven } from "./imaging.js";

const f32 = Math.fround;

// LabelReader.probabilities's input: a gray line at 48 rows, each channel in [-1, 1], float32 1 x 3 x 48 x width.
export function labelInput(gray) {
  const { width: w, height: h } = gray;
  const width = Math.trunc(Math.min(Math.max(16, roundHalfEven((48 * w) / Math.max(h, 1))), 48 * 40));
  const line = resizeImage(gray, width, 48, h > 48 ? "area" : "linear");
  const plane = 48 * width;
  const data = new Float32Array(3 * plane);
  const k = f32(2.0 / 255.0);
  for (let i = 0; i < plane; i++) data[i] = f32(f32(line.data[i] * k) - 1);
  data.copyWithin(plane, 0, plane);
  data.copyWithin(2 * plane, 0, plane);
  return { data, dims: [1, 3, 48, width] };
}

// LabelReader.__call__'s decoding: the greedy CTC text of a T x classes output and where each character starts (0 to 1).
// `classes` is ["", ...dictionary, " "]: class 0 is CTC's blank, and a space follows the dictionary.
export function labelReading(output, steps, count, classes) {
  const text = [];
  const starts = [];
  let previous = 0;
  for (let t = 0; t < steps; t++) {
    let label = 0;
    for (let c = 1; c < count; c++) if (output[t * count + c] > output[t * count + label]) label = c;
    if (label !== 0 && label !== previous && label < classes.length) {
      text.push(classes[label]);
      starts.push(t / steps);
    }
    previous = label;
  }
  return { text: text.join(""), starts };
}
