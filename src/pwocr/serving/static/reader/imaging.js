// The image operations reading needs: pwocr.imaging (OpenCV's arithmetic in NumPy), in JavaScript.
//
// Each function names the Python function it mirrors and follows its arithmetic step for step
// (float32 where NumPy computes in float32, float64 where it computes in float64), so that a whole
// photo is straightened into the same line crops in the page as in Python: resize (cv2.resize,
// INTER_AREA and INTER_LINEAR, bit for bit on 8-bit images), rgb_to_gray, otsu_threshold,
// dilate_2x2, contour_hulls, convex_hull, min_area_rect and RotatedRect, polygon_mask and
// polygon_mean, perspective_transform and warp_perspective (bilinear and bicubic), and
// rotate_counterclockwise. Images are {data: Uint8Array, width, height, channels}, row-major,
// channels interleaved; float maps are {data: Float32Array, width, height}.
//
// Where NumPy hands a small matrix product to BLAS (min_area_rect's projections, reading_order's
// turn), OpenBLAS adds each product with a fused multiply-add: `fma` below emulates one exactly.

const f32 = Math.fround;

// OpenCV's saturate_cast<uchar>(float): round half to even, then clamp.
export function roundToByte(value) {
  let r = Math.round(value);
  if (r - value === 0.5 && r % 2 !== 0) r -= 1; // Math.round rounds halves up; cvRound to even
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

export function roundHalfEven(value) {
  const r = Math.round(value);
  return r - value === 0.5 && r % 2 !== 0 ? r - 1 : r;
}


// ---------------------------------------------------------------- resize (cv2.resize, uint8)

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

// pwocr.imaging.resize: cv2.resize(image, (dw, dh), interpolation=INTER_AREA or INTER_LINEAR) of raw
// 8-bit pixels (sw x sh, cn channels). As in OpenCV, area averaging applies only where both axes
// shrink (elsewhere "area" is bilinear with OpenCV's area-style weights), and a halving by bilinear
// is an area average.
export function resize(src, sw, sh, cn, dw, dh, interpolation) {
  if (sw === dw && sh === dh) return src.slice();
  const sx = 1 / (dw / sw);
  const sy = 1 / (dh / sh);
  const fast = Math.abs(sx - Math.round(sx)) < Number.EPSILON && Math.abs(sy - Math.round(sy)) < Number.EPSILON;
  const area = interpolation === "area" || (interpolation === "linear" && fast && Math.round(sx) === 2 && Math.round(sy) === 2);
  if (area && sx >= 1 && sy >= 1) {
    return fast ? resizeAreaFast(src, sw, sh, cn, dw, dh) : resizeArea(src, sw, sh, cn, dw, dh);
  }
  return resizeLinear(src, sw, sh, cn, dw, dh, interpolation === "area");
}

// resize of an image object.
export function resizeImage(image, width, height, interpolation) {
  const data = resize(image.data, image.width, image.height, image.channels, width, height, interpolation);
  return { data, width, height, channels: image.channels };
}

// ---------------------------------------------------------------- exact arithmetic helpers

const SPLIT = 134217729; // 2 ** 27 + 1, Veltkamp's splitter for float64
const bits = new DataView(new ArrayBuffer(8));

// a + b as s + e exactly (Knuth's TwoSum).
function twoSum(a, b) {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

// a * b as p + e exactly (Dekker's TwoProduct).
function twoProduct(a, b) {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ((ah * bh - p) + ah * bl + al * bh) + al * bl];
}

// The float64 next to x (not 0) away from or toward zero.
function nextAfter(x, up) {
  bits.setFloat64(0, x);
  const away = up === x > 0;
  bits.setBigUint64(0, bits.getBigUint64(0) + (away ? 1n : -1n));
  return bits.getFloat64(0);
}

// a + b rounded to odd: the exact sum if a float64 holds it, else the neighbour with an odd last bit.
function addRoundToOdd(a, b) {
  const [s, e] = twoSum(a, b);
  if (e === 0) return s;
  bits.setFloat64(0, s);
  if (bits.getUint8(7) & 1) return s;
  return nextAfter(s, e > 0);
}

// a * b + c rounded once, as a fused multiply-add (Boldo and Melquiond's emulation by rounding to odd):
// what OpenBLAS computes for each term of a small float64 matrix product.
export function fma(a, b, c) {
  const [ph, pl] = twoProduct(a, b);
  const [uh, ul] = twoSum(c, ph);
  return uh + addRoundToOdd(ul, pl);
}

// Python's float(a) // b for integers (floor division), exact.
export function floorDiv(a, b) {
  let q = Math.floor(a / b);
  if (b > 0) {
    if (q * b > a) q -= 1;
    else if ((q + 1) * b <= a) q += 1;
  } else {
    if (q * b < a) q -= 1;
    else if ((q + 1) * b >= a) q += 1;
  }
  return q;
}

// np.hypot as glibc computes it (its hypot without a fused multiply-add): V8's Math.hypot rounds
// differently, and a different edge length turns min_area_rect's rectangle by the last bit.
const HYPOT_SCALE = 2 ** -600;
const HYPOT_LARGE = 2 ** 511;
const HYPOT_TINY = 2 ** -511;
const HYPOT_EPS = 2 ** -54;

function hypotKernel(ax, ay) {
  let h = Math.sqrt(ax * ax + ay * ay);
  let t1;
  let t2;
  if (h <= 2.0 * ay) {
    const delta = h - ay;
    t1 = ax * (2.0 * delta - ax);
    t2 = (delta - 2.0 * (ax - ay)) * delta;
  } else {
    const delta = h - ax;
    t1 = 2.0 * delta * (ax - 2.0 * ay);
    t2 = (4.0 * delta - ay) * ay + delta * delta;
  }
  h -= (t1 + t2) / (2.0 * h);
  return h;
}

export function hypot(x, y) {
  x = Math.abs(x);
  y = Math.abs(y);
  const ax = x < y ? y : x;
  const ay = x < y ? x : y;
  if (ax > HYPOT_LARGE) {
    if (ay <= ax * HYPOT_EPS) return ax + ay;
    return hypotKernel(ax * HYPOT_SCALE, ay * HYPOT_SCALE) / HYPOT_SCALE;
  }
  if (ay < HYPOT_TINY) {
    if (ax >= ay / HYPOT_EPS) return ax + ay;
    return hypotKernel(ax / HYPOT_SCALE, ay / HYPOT_SCALE) * HYPOT_SCALE;
  }
  if (ay <= ax * HYPOT_EPS) return ax + ay;
  return hypotKernel(ax, ay);
}

// C's integer division, toward zero (imaging._c_divide).
function cDivide(a, b) {
  const q = floorDiv(Math.abs(a), Math.abs(b));
  return (a >= 0) === (b >= 0) ? q : -q;
}

// NumPy's float64 sum of a float32 array (np.add.reduce(..., dtype=float64)): pairwise summation.
export function pairwiseSum(values, start = 0, count = values.length) {
  if (count < 8) {
    let total = 0;
    for (let i = 0; i < count; i++) total += values[start + i];
    return total;
  }
  if (count <= 128) {
    const r = [];
    for (let k = 0; k < 8; k++) r.push(values[start + k]);
    let i = 8;
    for (; i < count - (count % 8); i += 8) for (let k = 0; k < 8; k++) r[k] += values[start + i + k];
    let total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < count; i++) total += values[start + i];
    return total;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, count - half);
}

// ---------------------------------------------------------------- colour and thresholds

// rgb_to_gray: cv2.cvtColor(rgb, COLOR_RGB2GRAY), ITU-R 601 luma in 15-bit fixed point; a gray image as it is.
export function luminance(image) {
  if (image.channels === 1) return image;
  const count = image.width * image.height;
  const rgb = image.data;
  const gray = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    gray[i] = (rgb[3 * i] * 9798 + rgb[3 * i + 1] * 19235 + rgb[3 * i + 2] * 3735 + 16384) >> 15;
  }
  return { data: gray, width: image.width, height: image.height, channels: 1 };
}

// otsu_threshold: the threshold cv2.THRESH_OTSU picks for 8-bit gray pixels (OpenCV's loop, in its order).
export function otsuThreshold(gray) {
  const counts = new Float64Array(256);
  for (let i = 0; i < gray.length; i++) counts[gray[i]] += 1;
  const scale = 1.0 / gray.length;
  let mu = 0;
  for (let i = 0; i < 256; i++) mu += i * counts[i];
  mu *= scale;
  let mu1 = 0;
  let q1 = 0;
  let bestSigma = 0;
  let best = 0;
  const epsilon = 1.1920928955078125e-7; // float32's machine epsilon
  for (let i = 0; i < 256; i++) {
    const p = counts[i] * scale;
    mu1 *= q1;
    q1 += p;
    const q2 = 1.0 - q1;
    if (Math.min(q1, q2) < epsilon || Math.max(q1, q2) > 1.0 - epsilon) continue;
    mu1 = (mu1 + i * p) / q1;
    const mu2 = (mu - q1 * mu1) / q2;
    const sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > bestSigma) {
      bestSigma = sigma;
      best = i;
    }
  }
  return best;
}

// ---------------------------------------------------------------- regions of a binary map (DB post-processing)

// dilate_2x2: cv2.dilate with a 2x2 kernel, each pixel the maximum of itself and its left, upper and upper-left neighbours.
export function dilate2x2(bitmap, width, height) {
  const out = bitmap.slice();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (out[i]) continue;
      if ((y > 0 && bitmap[i - width]) || (x > 0 && bitmap[i - 1]) || (y > 0 && x > 0 && bitmap[i - width - 1])) out[i] = 1;
    }
  }
  return out;
}

// Runs of equal pixels: {row, start, end} arrays in raster order (end exclusive), of `value` in each row.
function runsOf(bitmap, width, height, value) {
  const row = [];
  const start = [];
  const end = [];
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let x = 0;
    while (x < width) {
      if ((bitmap[base + x] ? 1 : 0) !== value) { x++; continue; }
      const s = x;
      while (x < width && (bitmap[base + x] ? 1 : 0) === value) x++;
      row.push(y);
      start.push(s);
      end.push(x);
    }
  }
  return { row, start, end };
}

// A component number per run (the smallest run index in it): runs in adjacent rows that touch are one
// component, diagonally too (8-connected) or only sideways (4-connected): imaging._components.
function componentsOf(runs, diagonal) {
  const count = runs.row.length;
  const parent = new Int32Array(count);
  for (let i = 0; i < count; i++) parent[i] = i;
  const find = (i) => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const union = (a, b) => {
    const ra = find(a);
    const rb = find(b);
    if (ra < rb) parent[rb] = ra;
    else if (rb < ra) parent[ra] = rb;
  };
  const reach = diagonal ? 1 : 0;
  // The first run of each row (runs are in raster order).
  let rowStart = 0;
  while (rowStart < count) {
    const y = runs.row[rowStart];
    let rowEnd = rowStart;
    while (rowEnd < count && runs.row[rowEnd] === y) rowEnd++;
    let next = rowEnd;
    let nextEnd = next;
    while (nextEnd < count && runs.row[nextEnd] === y + 1) nextEnd++;
    if (next < nextEnd) {
      let j = next;
      for (let i = rowStart; i < rowEnd; i++) {
        // Runs below whose end reaches past this run's start and whose start lies before its end.
        while (j < nextEnd && runs.end[j] < runs.start[i] + 1 - reach) j++;
        for (let k = j; k < nextEnd && runs.start[k] <= runs.end[i] - 1 + reach; k++) union(i, k);
      }
    }
    rowStart = rowEnd;
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = find(i);
  return labels;
}

// contour_hulls: for each contour cv2.findContours(bitmap, RETR_LIST, ...) finds (the outer border of
// every 8-connected region and the border of every hole in one, a 4-connected background region
// that does not reach the image's edge), the points whose convex hull is the contour's, listed as
// OpenCV lists them (the contour found last in a raster scan first).
export function contourHulls(bitmap, width, height) {
  const found = [];
  const runs = runsOf(bitmap, width, height, 1);
  if (runs.row.length) {
    const labels = componentsOf(runs, true);
    const regions = new Map();
    for (let i = 0; i < labels.length; i++) {
      const y = runs.row[i];
      let region = regions.get(labels[i]);
      if (!region) {
        region = { key: [y, runs.start[i]], rows: new Map() };
        regions.set(labels[i], region);
      }
      const extent = region.rows.get(y);
      if (extent) extent[1] = runs.end[i] - 1;
      else region.rows.set(y, [runs.start[i], runs.end[i] - 1]);
    }
    for (const { key, rows } of regions.values()) {
      const points = [];
      for (const [y, [first, last]] of rows) points.push([first, y], [last, y]);
      found.push({ key, points });
    }
  }
  found.push(...holeHulls(bitmap, width, height));
  found.sort((a, b) => b.key[0] - a.key[0] || b.key[1] - a.key[1]);
  return found.map((item) => item.points);
}

// imaging._hole_hulls: each hole's scan start and the points whose hull is its border's (the region pixels beside it).
function holeHulls(bitmap, width, height) {
  const gaps = runsOf(bitmap, width, height, 0);
  if (!gaps.row.length) return [];
  const labels = componentsOf(gaps, false);
  const onEdge = new Set();
  for (let i = 0; i < labels.length; i++) {
    if (gaps.row[i] === 0 || gaps.row[i] === height - 1 || gaps.start[i] === 0 || gaps.end[i] === width) onEdge.add(labels[i]);
  }
  const holes = new Map();
  for (let i = 0; i < labels.length; i++) {
    if (onEdge.has(labels[i])) continue;
    const y = gaps.row[i];
    const s = gaps.start[i];
    const last = gaps.end[i] - 1;
    let hole = holes.get(labels[i]);
    if (!hole) {
      // OpenCV meets a hole at the region pixel left of its first pixel in a raster scan.
      hole = { key: [y, s - 1], points: [] };
      holes.set(labels[i], hole);
    }
    hole.points.push([s - 1, y], [gaps.end[i], y], [s, y - 1], [last, y - 1], [s, y + 1], [last, y + 1]);
  }
  return [...holes.values()];
}

// convex_hull: the hull of [x, y] points, counter-clockwise in image coordinates, no collinear points (monotone chain).
export function convexHull(points) {
  const sorted = points.map(([x, y]) => [x, y]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const unique = sorted.filter((p, i) => i === 0 || p[0] !== sorted[i - 1][0] || p[1] !== sorted[i - 1][1]);
  if (unique.length < 3) return unique;
  const half = (sequence) => {
    const chain = [];
    for (const [x, y] of sequence) {
      while (chain.length >= 2) {
        const [ax, ay] = chain[chain.length - 2];
        const [bx, by] = chain[chain.length - 1];
        if ((bx - ax) * (y - ay) - (by - ay) * (x - ax) > 0) break;
        chain.pop();
      }
      chain.push([x, y]);
    }
    return chain;
  };
  return [...half(unique).slice(0, -1), ...half([...unique].reverse()).slice(0, -1)];
}

// RotatedRect: a rectangle at any angle, as cv2.minAreaRect gives one: centre, [width, height], angle of its width in degrees.
export class RotatedRect {
  constructor(centre, size, angle) {
    this.centre = centre;
    this.size = size;
    this.angle = angle;
  }

  // Its four corners, cv2.boxPoints's: float32 [x, y] pairs, each next to the one before.
  corners() {
    const angle = this.angle * (Math.PI / 180);
    const b = f32(Math.cos(angle) * 0.5);
    const a = f32(Math.sin(angle) * 0.5);
    const cx = f32(this.centre[0]);
    const cy = f32(this.centre[1]);
    const w = f32(this.size[0]);
    const h = f32(this.size[1]);
    const p0 = [f32(f32(cx - f32(a * h)) - f32(b * w)), f32(f32(cy + f32(b * h)) - f32(a * w))];
    const p1 = [f32(f32(cx + f32(a * h)) - f32(b * w)), f32(f32(cy - f32(b * h)) - f32(a * w))];
    const p2 = [f32(f32(2 * cx) - p0[0]), f32(f32(2 * cy) - p0[1])];
    const p3 = [f32(f32(2 * cx) - p1[0]), f32(f32(2 * cy) - p1[1])];
    return [p0, p1, p2, p3];
  }

  // The rectangle with every side moved out by `by`.
  grown(by) {
    return new RotatedRect(this.centre, [this.size[0] + 2 * by, this.size[1] + 2 * by], this.angle);
  }
}

// min_area_rect: cv2.minAreaRect, the smallest rectangle holding the points, over the directions of their hull's edges.
export function minAreaRect(points) {
  const hull = convexHull(points);
  if (hull.length === 0) return new RotatedRect([0, 0], [0, 0], 0);
  if (hull.length === 1) return new RotatedRect([hull[0][0], hull[0][1]], [0, 0], 0);
  const along = [];
  for (let i = 0; i < hull.length; i++) {
    const next = hull[(i + 1) % hull.length];
    const ex = next[0] - hull[i][0];
    const ey = next[1] - hull[i][1];
    const length = hypot(ex, ey);
    if (length > 0) along.push([ex / length, ey / length]);
  }
  let best = 0;
  let bestArea = Infinity;
  let bestExtent = null;
  along.forEach(([ax, ay], k) => {
    const cx = -ay;
    const cy = ax;
    let uMin = Infinity;
    let uMax = -Infinity;
    let vMin = Infinity;
    let vMax = -Infinity;
    // hull @ along.T and hull @ across.T: OpenBLAS's dgemm adds the second product by a fused multiply-add.
    for (const [x, y] of hull) {
      const u = fma(y, ay, x * ax);
      const v = fma(y, cy, x * cx);
      if (u < uMin) uMin = u;
      if (u > uMax) uMax = u;
      if (v < vMin) vMin = v;
      if (v > vMax) vMax = v;
    }
    const area = (uMax - uMin) * (vMax - vMin);
    if (area < bestArea) {
      bestArea = area;
      best = k;
      bestExtent = [uMin, uMax, vMin, vMax];
    }
  });
  const [ax, ay] = along[best];
  const [uMin, uMax, vMin, vMax] = bestExtent;
  const midU = (uMax + uMin) / 2;
  const midV = (vMax + vMin) / 2;
  const centre = [ax * midU + -ay * midV, ay * midU + ax * midV];
  const angle = Math.atan2(ay, ax) * (180 / Math.PI);
  return new RotatedRect(centre, [uMax - uMin, vMax - vMin], angle);
}

// ---------------------------------------------------------------- polygon pixels (cv2.fillPoly, cv2.mean)

// Fixed-point bits of OpenCV's polygon edges.
const XY_SCALE = 65536;

// polygon_mask: cv2.fillPoly(zeros, [corners], 1) for a polygon of integer corners, as a Uint8Array of
// height x width: OpenCV's 8-connected edges and row fill, the edges' ends clipped to the image first.
export function polygonMask(corners, width, height) {
  const mask = new Uint8Array(width * height);
  const edges = [];
  corners.forEach(([x0, y0], i) => {
    const [x1, y1] = corners[(i + 1) % corners.length];
    const [clipped, visible] = clipLine(width, height, x0, y0, x1, y1);
    if (visible) drawLine(mask, width, ...clipped);
    if (y0 !== y1) edges.push(fillEdge([x0, y0, x1, y1], clipped, width, height));
  });
  fillRows(mask, width, height, edges);
  return mask;
}

// imaging._fill_edge: one non-horizontal edge as FillEdgeCollection walks it: first row, row after the last, x there, x step (16-bit fixed point).
function fillEdge(line, clipped, width, height) {
  const [x0, y0, x1, y1] = line;
  const inside = [[x0, y0], [x1, y1]].every(([x, y]) => x >= 0 && x < width && y >= 0 && y < height);
  let p0;
  let p1;
  if (!inside && clipped[1] !== clipped[3]) {
    p0 = [clipped[0] * XY_SCALE, clipped[1]];
    p1 = [clipped[2] * XY_SCALE, clipped[3]];
  } else {
    p0 = [x0 * XY_SCALE, y0];
    p1 = [x1 * XY_SCALE, y1];
  }
  const step = cDivide(p1[0] - p0[0], p1[1] - p0[1]);
  if (y0 < y1) return [y0, y1, p0[0] + (y0 - p0[1]) * step, step];
  return [y1, y0, p1[0] + (y1 - p1[1]) * step, step];
}

// imaging._fill_rows: each row between its active edges in pairs (first and second, third and fourth), the ends rounded inwards.
function fillRows(mask, width, height, edges) {
  if (!edges.length) return;
  const top = Math.max(Math.min(...edges.map((e) => e[0])), 0);
  const bottom = Math.min(Math.max(...edges.map((e) => e[1])), height);
  const pairs = Math.floor(edges.length / 2);
  for (let row = top; row < bottom; row++) {
    const xs = [];
    for (const [first, after, x, step] of edges) if (row >= first && row < after) xs.push(x + (row - first) * step);
    xs.sort((a, b) => a - b);
    for (let pair = 0; pair < pairs && xs.length >= 2 * pair + 2; pair++) {
      const left = Math.max(0, floorDiv(xs[2 * pair] + XY_SCALE - 1, XY_SCALE));
      const right = Math.min(width - 1, floorDiv(xs[2 * pair + 1], XY_SCALE));
      for (let x = left; x <= right; x++) mask[row * width + x] = 1;
    }
  }
}

// imaging._clip_line: OpenCV's clipLine, the line's ends moved onto the image's edges, and whether any of it is inside.
function clipLine(width, height, x0, y0, x1, y1) {
  const right = width - 1;
  const bottom = height - 1;
  const code = (x, y, withRows = true) => (x < 0) + (x > right) * 2 + (withRows ? (y < 0) * 4 + (y > bottom) * 8 : 0);
  let c0 = code(x0, y0);
  let c1 = code(x1, y1);
  if ((c0 & c1) === 0 && (c0 | c1) !== 0) {
    if (c0 & 12) {
      const edge = c0 < 8 ? 0 : bottom;
      x0 += Math.trunc(((edge - y0) * (x1 - x0)) / (y1 - y0));
      y0 = edge;
      c0 = code(x0, 0, false);
    }
    if (c1 & 12) {
      const edge = c1 < 8 ? 0 : bottom;
      x1 += Math.trunc(((edge - y1) * (x1 - x0)) / (y1 - y0));
      y1 = edge;
      c1 = code(x1, 0, false);
    }
    if ((c0 & c1) === 0 && (c0 | c1) !== 0) {
      if (c0) {
        const edge = c0 === 1 ? 0 : right;
        y0 += Math.trunc(((edge - x0) * (y1 - y0)) / (x1 - x0));
        x0 = edge;
        c0 = 0;
      }
      if (c1) {
        const edge = c1 === 1 ? 0 : right;
        y1 += Math.trunc(((edge - x1) * (y1 - y0)) / (x1 - x0));
        x1 = edge;
        c1 = 0;
      }
    }
  }
  return [[x0, y0, x1, y1], (c0 | c1) === 0];
}

// imaging._draw_line: OpenCV's 8-connected LineIterator from the left end (the ends inside the mask).
function drawLine(mask, width, x0, y0, x1, y1) {
  if (x1 < x0) [x0, y0, x1, y1] = [x1, y1, x0, y0];
  const dx = x1 - x0;
  const dy = Math.abs(y1 - y0);
  const stepY = y1 >= y0 ? 1 : -1;
  const major = Math.max(dx, dy);
  const minor = Math.min(dx, dy);
  for (let k = 0; k <= major; k++) {
    // Bresenham's minor offset after k major steps: the least m with 2*major*m >= 2*minor*k - major.
    const m = major ? -floorDiv(major - 2 * minor * k, 2 * major) : k;
    const [x, y] = dx >= dy ? [x0 + k, y0 + stepY * m] : [x0 + m, y0 + stepY * k];
    mask[y * width + x] = 1;
  }
}

// Python's round(): halves to even (NumPy's np.round too).
function roundEven(value) {
  return roundHalfEven(value);
}

// polygon_mean: the mean of a float map inside a polygon of float32 corners, as DB's "fast" box score takes it.
export function polygonMean(map, corners) {
  const { width: w, height: h, data } = map;
  const clip = (v, high) => Math.min(Math.max(v, 0), high);
  const x0 = clip(Math.floor(Math.min(...corners.map((p) => p[0]))), w - 1);
  const y0 = clip(Math.floor(Math.min(...corners.map((p) => p[1]))), h - 1);
  const x1 = clip(Math.ceil(Math.max(...corners.map((p) => p[0]))), w - 1);
  const y1 = clip(Math.ceil(Math.max(...corners.map((p) => p[1]))), h - 1);
  const mw = x1 - x0 + 1;
  const mh = y1 - y0 + 1;
  const mask = polygonMask(corners.map(([x, y]) => [roundEven(x - x0), roundEven(y - y0)]), mw, mh);
  const inside = [];
  for (let y = 0; y < mh; y++) {
    for (let x = 0; x < mw; x++) if (mask[y * mw + x]) inside.push(data[(y0 + y) * w + x0 + x]);
  }
  return inside.length ? pairwiseSum(inside) / inside.length : 0;
}

// ---------------------------------------------------------------- perspective warps

// perspective_transform: cv2.getPerspectiveTransform, the 3 x 3 matrix (rows) taking four src points to four dst points.
export function perspectiveTransform(src, dst) {
  const a = Array.from({ length: 8 }, () => new Array(8).fill(0));
  const b = new Array(8).fill(0);
  for (let i = 0; i < 4; i++) {
    const [x, y] = src[i].map(f32);
    const [u, v] = dst[i].map(f32);
    a[i][0] = x; a[i][1] = y; a[i][2] = 1;
    a[i + 4][3] = x; a[i + 4][4] = y; a[i + 4][5] = 1;
    a[i][6] = f32(-x * u); a[i][7] = f32(-y * u); // float32 products, as OpenCV's points are
    a[i + 4][6] = f32(-x * v); a[i + 4][7] = f32(-y * v);
    b[i] = u;
    b[i + 4] = v;
  }
  const h = luSolve(a, b);
  return [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1]];
}

// imaging._lu_solve: OpenCV's LUImpl, Gaussian elimination with partial pivoting in its order of operations.
function luSolve(original, originalB) {
  const a = original.map((row) => row.slice());
  const b = originalB.slice();
  const n = b.length;
  for (let i = 0; i < n; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (Math.abs(a[j][i]) > Math.abs(a[k][i])) k = j;
    if (Math.abs(a[k][i]) < 100 * Number.EPSILON) return leastSquares(original, originalB);
    if (k !== i) {
      [a[i], a[k]] = [a[k], a[i]];
      [b[i], b[k]] = [b[k], b[i]];
    }
    const d = -1.0 / a[i][i];
    for (let j = i + 1; j < n; j++) {
      const alpha = a[j][i] * d;
      for (let c = i + 1; c < n; c++) a[j][c] += alpha * a[i][c];
      b[j] += alpha * b[i];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let total = b[i];
    for (let k = i + 1; k < n; k++) total -= a[i][k] * b[k];
    b[i] = total / a[i][i];
  }
  return b;
}

// A singular system's minimum-norm least-squares answer (numpy.linalg.lstsq's, which getPerspectiveTransform's
// SVD fallback gives): from the eigenvectors of A^T A by Jacobi rotations, singular values under
// lstsq's cutoff (machine epsilon times the larger side, relative to the largest) dropped. The
// answer is the same; its last bits may differ from LAPACK's (three corners in a line: never a text box).
function leastSquares(a, b) {
  const n = a[0].length;
  const m = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => a.reduce((s, row) => s + row[i] * row[j], 0)));
  const v = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += Math.abs(m[p][q]);
    if (off < 1e-300) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (m[p][q] === 0) continue;
        const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k][p];
          const mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p][k];
          const mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = m.map((row, i) => Math.max(row[i], 0));
  const largest = Math.sqrt(Math.max(...values));
  const cutoff = Number.EPSILON * Math.max(a.length, n) * largest;
  const atb = Array.from({ length: n }, (_, i) => a.reduce((s, row, r) => s + row[i] * b[r], 0));
  const x = new Array(n).fill(0);
  for (let k = 0; k < n; k++) {
    if (Math.sqrt(values[k]) <= cutoff) continue;
    let along = 0;
    for (let i = 0; i < n; i++) along += v[i][k] * atb[i];
    for (let i = 0; i < n; i++) x[i] += (v[i][k] * along) / values[k];
  }
  return x;
}

// imaging._invert3: cv::invert of a 3 x 3 matrix, the closed form OpenCV uses for one that small.
function invert3(matrix) {
  const [[a, b, c], [d, e, f], [g, h, i]] = matrix;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (det === 0) return [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const r = 1.0 / det;
  return [
    [(e * i - f * h) * r, (c * h - b * i) * r, (b * f - c * e) * r],
    [(f * g - d * i) * r, (a * i - c * g) * r, (c * d - a * f) * r],
    [(d * h - e * g) * r, (b * g - a * h) * r, (a * e - b * d) * r],
  ];
}

// imaging._bounded: a source coordinate kept within [-size, 2 size], 0 where a singular matrix left it undefined.
function bounded(value, size) {
  if (Number.isNaN(value)) return 0;
  return Math.min(Math.max(value, f32(-size)), f32(2 * size));
}

// imaging._saturate: a float to a byte, halves to even, clamped.
export function saturate(value) {
  return roundToByte(value);
}

// warp_perspective: cv2.warpPerspective(image, matrix, (width, height), flags, borderMode=BORDER_REPLICATE) of an 8-bit image.
export function warpPerspective(image, matrix, width, height, interpolation) {
  const inverse = invert3(matrix);
  const m = inverse.flat().map(f32);
  return interpolation === "linear" ? warpLinear(image, m, width, height) : warpCubic(image, m, width, height);
}

// imaging._warp_linear: OpenCV 5's bilinear warp, float32 coordinates, float32 interpolation.
function warpLinear(image, m, width, height) {
  const { data, width: sw, height: sh, channels: cn } = image;
  const out = new Uint8Array(width * height * cn);
  for (let y = 0; y < height; y++) {
    const rowW = f32(f32(y * m[7]) + m[8]);
    const rowX = f32(f32(y * m[1]) + m[2]);
    const rowY = f32(f32(y * m[4]) + m[5]);
    for (let x = 0; x < width; x++) {
      // x * M + the row's offset as a fused multiply-add (float64, rounded once to float32), then the division.
      const w = f32(m[6] * x + rowW);
      const sx = bounded(f32(f32(m[0] * x + rowX) / w), sw);
      const sy = bounded(f32(f32(m[3] * x + rowY) / w), sh);
      const ix = Math.floor(sx);
      const iy = Math.floor(sy);
      const fx = f32(sx - ix);
      const fy = f32(sy - iy);
      const x0 = Math.min(Math.max(ix, 0), sw - 1);
      const x1 = Math.min(Math.max(ix + 1, 0), sw - 1);
      const y0 = Math.min(Math.max(iy, 0), sh - 1);
      const y1 = Math.min(Math.max(iy + 1, 0), sh - 1);
      for (let c = 0; c < cn; c++) {
        const p00 = data[(y0 * sw + x0) * cn + c];
        const p01 = data[(y0 * sw + x1) * cn + c];
        const p10 = data[(y1 * sw + x0) * cn + c];
        const p11 = data[(y1 * sw + x1) * cn + c];
        const top = f32(f32(f32(p01 - p00) * fx) + p00);
        const bottom = f32(f32(f32(p11 - p10) * fx) + p10);
        out[(y * width + x) * cn + c] = roundToByte(f32(f32(f32(bottom - top) * fy) + top));
      }
    }
  }
  return { data: out, width, height, channels: cn };
}

// Keys's bicubic kernel parameter, OpenCV's.
const CUBIC_A = f32(-0.75);

// imaging._cubic_weights: OpenCV 5's float32 bicubic weights of the four taps around a point `fraction` past the second.
function cubicWeights(fraction) {
  const square = f32(fraction * fraction);
  const rest = f32(1 - fraction);
  const w0 = f32(CUBIC_A * f32(fraction * f32(rest * rest)));
  const w3 = f32(CUBIC_A * f32(square * rest));
  const inner = f32(f32(CUBIC_A + 2) * fraction + f32(-f32(CUBIC_A + 3)));
  const w1 = f32(square * inner + 1.0);
  const w2 = f32(f32(f32(1 - w0) - w1) - w3);
  return [w0, w1, w2, w3];
}

// imaging._warp_cubic: OpenCV 5's bicubic warp, float32 weights, each tap added by a fused multiply-add.
function warpCubic(image, m, width, height) {
  const { data, width: sw, height: sh, channels: cn } = image;
  const out = new Uint8Array(width * height * cn);
  const row = new Float64Array(cn);
  const total = new Float64Array(cn);
  for (let y = 0; y < height; y++) {
    const rowX = f32(f32(y * m[1]) + m[2]);
    const rowY = f32(f32(y * m[4]) + m[5]);
    const rowW = f32(f32(y * m[7]) + m[8]);
    for (let x = 0; x < width; x++) {
      const scale = 1.0 / (rowW + m[6] * x);
      const sx = bounded(f32((rowX + m[0] * x) * scale), Math.max(sw, 16));
      const sy = bounded(f32((rowY + m[3] * x) * scale), Math.max(sh, 16));
      const ix = Math.floor(sx);
      const iy = Math.floor(sy);
      const wx = cubicWeights(f32(sx - ix));
      const wy = cubicWeights(f32(sy - iy));
      total.fill(0);
      for (let j = 0; j < 4; j++) {
        const ry = Math.min(Math.max(iy - 1 + j, 0), sh - 1);
        for (let k = 0; k < 4; k++) {
          const rx = Math.min(Math.max(ix - 1 + k, 0), sw - 1);
          const at = (ry * sw + rx) * cn;
          for (let c = 0; c < cn; c++) {
            row[c] = k === 0 ? f32(data[at + c] * wx[0]) : f32(data[at + c] * wx[k] + row[c]);
          }
        }
        for (let c = 0; c < cn; c++) total[c] = f32(row[c] * wy[j] + total[c]);
      }
      for (let c = 0; c < cn; c++) out[(y * width + x) * cn + c] = roundToByte(total[c]);
    }
  }
  return { data: out, width, height, channels: cn };
}

// np.rot90: an image ({data, width, height, channels}) turned `turns` quarter turns counterclockwise.
export function rot90(image, turns) {
  const { data, width: w, height: h, channels: cn } = image;
  const out = new Uint8Array(data.length);
  const [outW, outH] = turns % 2 === 0 ? [w, h] : [h, w];
  // Where out[i, j] comes from in the image, by turns: 1: [j, w-1-i]; 2: [h-1-i, w-1-j]; 3: [h-1-j, i].
  const source = [
    (i, j) => i * w + j,
    (i, j) => j * w + (w - 1 - i),
    (i, j) => (h - 1 - i) * w + (w - 1 - j),
    (i, j) => (h - 1 - j) * w + i,
  ][turns % 4];
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      const from = source(i, j) * cn;
      for (let c = 0; c < cn; c++) out[(i * outW + j) * cn + c] = data[from + c];
    }
  }
  return { ...image, data: out, width: outW, height: outH };
}

// rotate_counterclockwise: cv2.rotate(image, ROTATE_90_COUNTERCLOCKWISE) (np.rot90).
export function rotateCounterclockwise(image) {
  return rot90(image, 1);
}
