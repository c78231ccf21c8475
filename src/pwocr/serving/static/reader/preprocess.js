// The model's input lines from decoded pixels: pwocr.data.preprocess.LinePreprocessor and
// pwocr.data.images.colour_to_gray, in JavaScript, bit for bit.
//
// The model was trained on lines OpenCV resized (INTER_AREA when a line shrinks, INTER_LINEAR when it
// grows) and Python reads with pwocr.imaging.resize, OpenCV's arithmetic in NumPy; imaging.js's
// resize follows the same arithmetic for 8-bit images: float32 sums for INTER_AREA,
// 11-bit fixed point for INTER_LINEAR. A line read here is the same line Python reads, so the
// readings and confidences agree (tests/serving/test_web_parity.py holds them to it).

import { resize as resizeWith, roundHalfEven } from "./imaging.js";

const f32 = Math.fround;

// Python's round(): halves to even.
export function widthFor(config, height, width) {
  const step = config.width_step;
  const target = (width * config.height) / Math.max(height, 1);
  const quantised = Math.max(step, roundHalfEven(target / step) * step);
  return Math.min(Math.max(quantised, config.min_width), config.max_width);
}

// cv2.resize(src, (dw, dh), interpolation=INTER_AREA if shrinking else INTER_LINEAR), as LinePreprocessor calls it.
export function resize(src, sw, sh, cn, dw, dh) {
  return resizeWith(src, sw, sh, cn, dw, dh, sh > dh ? "area" : "linear");
}

// ---------------------------------------------------------------- colour to gray (gray models)

// Eigenvectors of a symmetric 3x3 matrix by Jacobi rotations; columns of the returned matrix, with their eigenvalues.
function symmetricEigen3(a) {
  const m = a.map((row) => row.slice());
  const v = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = Math.abs(m[0][1]) + Math.abs(m[0][2]) + Math.abs(m[1][2]);
    if (off < 1e-300) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      if (m[p][q] === 0) continue;
      const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const mkp = m[k][p];
        const mkq = m[k][q];
        m[k][p] = c * mkp - s * mkq;
        m[k][q] = s * mkp + c * mkq;
      }
      for (let k = 0; k < 3; k++) {
        const mpk = m[p][k];
        const mqk = m[q][k];
        m[p][k] = c * mpk - s * mqk;
        m[q][k] = s * mpk + c * mqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k][p];
        const vkq = v[k][q];
        v[k][p] = c * vkp - s * vkq;
        v[k][q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: [m[0][0], m[1][1], m[2][2]], vectors: v };
}

// numpy.percentile's default (linear) method over a sorted array.
function percentileSorted(sorted, q) {
  const index = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(index);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = index - lo;
  const a = sorted[lo];
  const diff = sorted[hi] - a;
  return t >= 0.5 ? sorted[hi] - diff * (1 - t) : a + diff * t;
}

const CLIP_PERCENT = 0.5;
const LUMA = [0.299, 0.587, 0.114];

// Pillow's convert("L"): ITU-R 601 luma in 16-bit fixed point.
function pillowLuma(rgb, count) {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = (rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16;
  }
  return out;
}

// pwocr.data.images.colour_to_gray: the image along its main colour axis, stretched so 0.5% clips at each end.
export function colourToGray(rgb, width, height) {
  const count = width * height;
  const step = Math.max(1, Math.floor(count / 65536));
  const n = Math.ceil(count / step);
  const mean = [0, 0, 0];
  for (let i = 0; i < count; i += step) for (let c = 0; c < 3; c++) mean[c] += rgb[3 * i + c];
  for (let c = 0; c < 3; c++) mean[c] /= n;
  const cov = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let i = 0; i < count; i += step) {
    const d = [rgb[3 * i] - mean[0], rgb[3 * i + 1] - mean[1], rgb[3 * i + 2] - mean[2]];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cov[r][c] += d[r] * d[c];
  }
  const { values, vectors } = symmetricEigen3(cov);
  const top = values.indexOf(Math.max(...values));
  let axis = [vectors[0][top], vectors[1][top], vectors[2][top]];
  if (axis[0] * LUMA[0] + axis[1] * LUMA[1] + axis[2] * LUMA[2] < 0) axis = axis.map((x) => -x);
  const projected = new Float64Array(n);
  for (let i = 0, k = 0; i < count; i += step, k++) {
    projected[k] = (rgb[3 * i] - mean[0]) * axis[0] + (rgb[3 * i + 1] - mean[1]) * axis[1] + (rgb[3 * i + 2] - mean[2]) * axis[2];
  }
  projected.sort();
  const lo = percentileSorted(projected, CLIP_PERCENT);
  const hi = percentileSorted(projected, 100 - CLIP_PERCENT);
  if (hi - lo < 1) return pillowLuma(rgb, count);
  const scale = 255 / (hi - lo);
  const w = axis.map((x) => f32(x * scale));
  const bias = f32(0.5 - (mean[0] * axis[0] + mean[1] * axis[1] + mean[2] * axis[2] + lo) * scale);
  const gray = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let value = f32(f32(rgb[3 * i] * w[0]) + f32(rgb[3 * i + 1] * w[1]));
    value = f32(value + f32(rgb[3 * i + 2] * w[2]));
    value = f32(value + bias);
    gray[i] = value <= 0 ? 0 : value >= 255 ? 255 : Math.trunc(value);
  }
  return gray;
}

// ---------------------------------------------------------------- the model's input

// An image ({data, width, height, channels: 1 or 3}) to the model's uint8 line, in its channels (LinePreprocessor.__call__).
export function toLine(image, config) {
  let { data, channels } = image;
  const { width, height } = image;
  if (channels === 3 && config.in_channels === 1) {
    data = colourToGray(data, width, height);
    channels = 1;
  }
  const lineWidth = widthFor(config, height, width);
  if (height !== config.height || width !== lineWidth) {
    data = resize(data, width, height, channels, lineWidth, config.height);
  }
  return { data, width: lineWidth, height: config.height, channels };
}

// The width a line is padded to: pad_width, or its width rounded up to pad_multiple (preprocess.padded_width).
export function paddedWidth(config, width) {
  const multiple = config.pad_multiple ?? 32; // ModelConfig's default, for graphs exported before it was saved
  const rounded = multiple ? Math.ceil(width / multiple) * multiple : width;
  return Math.max(rounded, config.pad_width || 0);
}

// A line to the model's float32 C x H x W input in [-1, 1], padded right with 0 to its paddedWidth (preprocess.normalise).
export function toInput(line, config) {
  const c = config.in_channels;
  const w = paddedWidth(config, line.width);
  const h = line.height;
  const out = new Float32Array(c * h * w);
  const k = f32(1 / 127.5);
  for (let ch = 0; ch < c; ch++) {
    const from = line.channels === 1 ? 0 : ch;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < line.width; x++) {
        out[(ch * h + y) * w + x] = f32(f32(line.data[(y * line.width + x) * line.channels + from] * k) - 1);
      }
    }
  }
  return { data: out, dims: [1, c, h, w] };
}

// ---------------------------------------------------------------- decoding a file

// Whether an encoded file stores gray pixels (Pillow opens it as "L"): PNG colour types 0 and 4, one-component JPEG.
export function isGrayFile(bytes) {
  if (bytes.length > 25 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return bytes[25] === 0 || bytes[25] === 4;
  }
  if (bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = 2; i + 9 < bytes.length;) {
      if (bytes[i] !== 0xff) return false;
      const marker = bytes[i + 1];
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 9] === 1;
      i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
    }
  }
  return false;
}

// RGBA pixels to RGB over white (as data.images.load flattens transparency), or to gray when the file is gray.
export function fromRGBA(rgba, width, height, gray) {
  const count = width * height;
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(count * channels);
  for (let i = 0; i < count; i++) {
    const a = rgba[4 * i + 3];
    for (let c = 0; c < channels; c++) {
      const v = rgba[4 * i + c];
      // Pillow's alpha_composite onto opaque white, in its 7-bit fixed point.
      if (a === 255) out[i * channels + c] = v;
      else {
        const tmp = v * (a << 7) + 255 * ((255 << 7) - (a << 7)) + (0x80 << 7);
        out[i * channels + c] = (((tmp >> 8) + tmp) >> 8) >> 7;
      }
    }
  }
  return { data: out, width, height, channels };
}
