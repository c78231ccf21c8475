// The model's input lines from decoded pixels: pwocr.data.preprocess.LinePreprocessor and
// pwocr.data.images.colour_to_gray, in JavaScript, bit for bit.
//
// The model was trained on lines OpenCV resized (INTER_AREA when a line shrinks, INTER_LINEAR when it
// grows) and Python reads with pwocr.imaging.resize, OpenCV's arithmetic in NumPy; the resizers
// below follow the same arithmetic for 8-bit images: float32 sums for INTER_AREA,
// 11-bit fixed point for INTER_LINEAR. A line read here is the same line Python reads, so the
// readings and confidences agree (tests/serving/test_web_parity.py holds them to it).

const f32 = Math.fround;

// OpenCV's saturate_cast<uchar>(float): round half to even, then clamp.
function roundToByte(value) {
  let r = Math.round(value);
  if (r - value === 0.5 && r % 2 !== 0) r -= 1; // Math.round rounds halves up; cvRound to even
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

function roundHalfEven(value) {
  const r = Math.round(value);
  return r - value === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Python's round(): halves to even.
export function widthFor(config, height, width) {
  const step = config.width_step;
  const target = (width * config.height) / Math.max(height, 1);
  const quantised = Math.max(step, roundHalfEven(target / step) * step);
  return Math.min(Math.max(quantised, config.min_width), config.max_width);
}

// computeResizeAreaTab: which source pixels (with which weights) make each destination pixel.
function areaTable(srcSize, dstSize, channels, scale) {
  const table = [];
  for (let d = 0; d < dstSize; d++) {
    const fs1 = d * scale;
    const fs2 = fs1 + scale;
    const cell = Math.min(scale, srcSize - fs1);
    let s2 = Math.min(Math.floor(fs2), srcSize - 1);
    const s1 = Math.min(Math.ceil(fs1), s2);
    if (s1 - fs1 > 1e-3) table.push([d * channels, (s1 - 1) * channels, f32((s1 - fs1) / cell)]);
    for (let s = s1; s < s2; s++) table.push([d * channels, s * channels, f32(1.0 / cell)]);
    if (fs2 - s2 > 1e-3) table.push([d * channels, s2 * channels, f32(Math.min(Math.min(fs2 - s2, 1), cell) / cell)]);
  }
  return table;
}

// cv2.resize(..., INTER_AREA) of an 8-bit image that shrinks on both axes by a non-integer factor.
function resizeArea(src, sw, sh, cn, dw, dh) {
  const xtab = areaTable(sw, dw, cn, 1 / (dw / sw));
  const ytab = areaTable(sh, dh, 1, 1 / (dh / sh));
  const rowWidth = dw * cn;
  const out = new Uint8Array(rowWidth * dh);
  const buf = new Float32Array(rowWidth);
  const sum = new Float32Array(rowWidth);
  let previous = ytab[0][0];
  for (const [dy, sy, beta] of ytab) {
    buf.fill(0);
    const base = sy * sw * cn;
    for (const [di, si, alpha] of xtab) {
      for (let c = 0; c < cn; c++) buf[di + c] = f32(buf[di + c] + f32(src[base + si + c] * alpha));
    }
    if (dy !== previous) {
      const row = previous * rowWidth;
      for (let x = 0; x < rowWidth; x++) {
        out[row + x] = roundToByte(sum[x]);
        sum[x] = f32(beta * buf[x]);
      }
      previous = dy;
    } else {
      for (let x = 0; x < rowWidth; x++) sum[x] = f32(sum[x] + f32(beta * buf[x]));
    }
  }
  const row = previous * rowWidth;
  for (let x = 0; x < rowWidth; x++) out[row + x] = roundToByte(sum[x]);
  return out;
}

// INTER_AREA by an integer factor on both axes (resizeAreaFast_): a plain average of each block.
function resizeAreaFast(src, sw, sh, cn, dw, dh) {
  const kx = sw / dw;
  const ky = sh / dh;
  const out = new Uint8Array(dw * dh * cn);
  const scale = f32(1 / (kx * ky));
  const rowStride = sw * cn;
  for (let dy = 0; dy < dh; dy++) {
    for (let dx = 0; dx < dw; dx++) {
      for (let c = 0; c < cn; c++) {
        let total = 0;
        for (let y = 0; y < ky; y++) {
          const at = (dy * ky + y) * rowStride + dx * kx * cn + c;
          for (let x = 0; x < kx; x++) total += src[at + x * cn];
        }
        // 2x2 blocks take OpenCV's vector path, which rounds halves up; others round to even.
        out[(dy * dw + dx) * cn + c] = kx === 2 && ky === 2 && cn !== 2 ? (total + 2) >> 2 : roundToByte(f32(total * scale));
      }
    }
  }
  return out;
}

// The interpolation table of OpenCV's resizeGeneric_ for one axis, coefficients in 11-bit fixed point.
// Columns outside the image are clamped here; rows only when they are fetched (as OpenCV does).
function linearTable(srcSize, dstSize, area, columns) {
  const inv = dstSize / srcSize;
  const scale = 1 / inv;
  const offsets = new Int32Array(dstSize);
  const weights = new Int32Array(dstSize * 2);
  let last = dstSize;
  for (let d = 0; d < dstSize; d++) {
    let s;
    let f;
    if (!area) {
      f = f32((d + 0.5) * scale - 0.5);
      s = Math.floor(f);
      f = f32(f - s);
    } else {
      s = Math.floor(d * scale);
      f = f32(d + 1 - (s + 1) * inv);
      f = f <= 0 ? 0 : f32(f - Math.floor(f));
    }
    if (columns && s < 0) { f = 0; s = 0; }
    if (columns && s + 1 >= srcSize) {
      last = Math.min(last, d);
      if (s >= srcSize - 1) { f = 0; s = srcSize - 1; }
    }
    offsets[d] = s;
    weights[2 * d] = roundHalfEven(f32(1 - f) * 2048);
    weights[2 * d + 1] = roundHalfEven(f * 2048);
  }
  return { offsets, weights, last };
}

// cv2.resize(..., INTER_LINEAR) of an 8-bit image (and INTER_AREA where an axis grows, which
// OpenCV emulates with bilinear weights of its own).
function resizeLinear(src, sw, sh, cn, dw, dh, area) {
  const xs = linearTable(sw, dw, area, true);
  const ys = linearTable(sh, dh, area, false);
  const rowWidth = dw * cn;
  const horizontal = (y) => {
    const row = new Int32Array(rowWidth);
    const base = y * sw * cn;
    for (let dx = 0; dx < dw; dx++) {
      const sx = xs.offsets[dx] * cn;
      for (let c = 0; c < cn; c++) {
        const i = base + sx + c;
        row[dx * cn + c] = dx < xs.last
          ? src[i] * xs.weights[2 * dx] + src[i + cn] * xs.weights[2 * dx + 1]
          : src[i] * 2048;
      }
    }
    return row;
  };
  const rows = new Map();
  const rowAt = (y) => {
    const clamped = Math.min(Math.max(y, 0), sh - 1);
    if (!rows.has(clamped)) rows.set(clamped, horizontal(clamped));
    return rows.get(clamped);
  };
  const out = new Uint8Array(rowWidth * dh);
  for (let dy = 0; dy < dh; dy++) {
    const sy = ys.offsets[dy];
    const r0 = rowAt(sy);
    const r1 = rowAt(sy + 1);
    const b0 = ys.weights[2 * dy];
    const b1 = ys.weights[2 * dy + 1];
    for (let x = 0; x < rowWidth; x++) {
      // VResizeLinearVec_32s8u: 16-bit products of the rows shifted by 4, high halves summed.
      // VResizeLinearVec_32s8u: 16-bit products of the rows shifted by 4, high halves summed.
      const value = ((((r0[x] >> 4) * b0) >> 16) + (((r1[x] >> 4) * b1) >> 16) + 2) >> 2;
      out[dy * rowWidth + x] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
  return out;
}

// cv2.resize(src, (dw, dh), interpolation=INTER_AREA if shrinking else INTER_LINEAR), as LinePreprocessor calls it.
export function resize(src, sw, sh, cn, dw, dh) {
  const area = sh > dh;
  const sx = 1 / (dw / sw);
  const sy = 1 / (dh / sh);
  const fast = Math.abs(sx - Math.round(sx)) < Number.EPSILON && Math.abs(sy - Math.round(sy)) < Number.EPSILON;
  if (fast && Math.round(sx) === 2 && Math.round(sy) === 2) return resizeAreaFast(src, sw, sh, cn, dw, dh);
  if (area && sx >= 1 && sy >= 1) {
    return fast ? resizeAreaFast(src, sw, sh, cn, dw, dh) : resizeArea(src, sw, sh, cn, dw, dh);
  }
  return resizeLinear(src, sw, sh, cn, dw, dh, area);
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

// RGBA pixels to RGB over white (as load_image flattens transparency), or to gray when the file is gray.
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
