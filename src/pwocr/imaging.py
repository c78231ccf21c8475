"""The image operations reading needs, in NumPy: OpenCV's arithmetic, without OpenCV.

Reading (lines and whole photos, CLI, API and server) installs no OpenCV: its wheel alone is
larger than the rest of a reader's install. Training, synthesis and augmentation still use it
(``pwocr[train]``). Each function here names the OpenCV call it stands for, and
``tests/test_imaging.py`` holds it to that call where OpenCV is installed:

- ``resize``: ``cv2.resize`` with ``INTER_AREA`` or ``INTER_LINEAR``, bit for bit on uint8 images
  of any channel count (the shipped model was trained on lines OpenCV resized; the web page's
  ``reader/preprocess.js`` follows the same arithmetic): float32 sums for area averaging, 11-bit
  fixed point for bilinear weights, halves rounded to even.
- ``rgb_to_gray``: ``cv2.cvtColor(..., COLOR_RGB2GRAY)``, its 15-bit fixed point, bit for bit.
- ``otsu_threshold``: the threshold of ``cv2.THRESH_OTSU``, exactly.
- ``dilate_2x2``, ``contour_hulls``, ``min_area_rect``, ``polygon_mean``: DB post-processing's
  ``cv2.dilate``, ``cv2.findContours`` (``RETR_LIST``, 8-connected, holes included),
  ``cv2.minAreaRect`` with ``cv2.boxPoints``, and ``cv2.mean`` inside ``cv2.fillPoly``: the same
  regions in the same order, rectangles within float rounding (where several rectangles have the
  smallest area, a tiny symmetric blob's, either may be taken), the same polygon pixels (a polygon
  crossing the array's edge may differ by a few pixels beside it).
- ``perspective_transform`` and ``warp_perspective``: ``cv2.getPerspectiveTransform`` (the same
  matrix) and ``cv2.warpPerspective`` with a replicated border, following OpenCV 5's float32
  kernels (older releases sampled on a 1/32-pixel grid instead). Bicubic crops come out
  identical; bilinear ones differ by one gray level on at most a few pixels in ten thousand (a few
  in a hundred thousand against OpenCV 5.0, three in ten thousand against 5.1), where OpenCV's
  vector code rounds a fused multiply-add once and NumPy rounds the product and the sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

Interpolation = Literal["area", "linear"]

# ---------------------------------------------------------------- resize (cv2.resize, uint8)

#: OpenCV's bilinear resize weights are integers summing to 2 ** 11.
_COEF_BITS = 11
_COEF_SCALE = 1 << _COEF_BITS
_DBL_EPSILON = float(np.finfo(np.float64).eps)


def resize(image: np.ndarray, width: int, height: int, interpolation: Interpolation) -> np.ndarray:
    """``cv2.resize(image, (width, height), interpolation=INTER_AREA or INTER_LINEAR)`` of a uint8 image, bit for bit.

    ``image`` is ``H x W`` or ``H x W x C``. As in OpenCV, area averaging applies only where both
    axes shrink (elsewhere ``"area"`` is bilinear with OpenCV's area-style weights), and a
    halving by bilinear is an area average.
    """
    if image.dtype != np.uint8:
        raise TypeError(f"resize takes uint8 images, got {image.dtype}")
    src_h, src_w = image.shape[:2]
    if (src_h, src_w) == (height, width):
        return image.copy()
    scale_x, scale_y = src_w / width, src_h / height
    fast = _is_integer(scale_x) and _is_integer(scale_y)
    if interpolation == "linear" and fast and round(scale_x) == 2 and round(scale_y) == 2:
        interpolation = "area"
    if interpolation == "area" and scale_x >= 1 and scale_y >= 1:
        if fast:
            return _resize_area_fast(image, round(scale_x), round(scale_y))
        return _resize_area(image, width, height)
    return _resize_linear(image, width, height, area=interpolation == "area")


def _is_integer(scale: float) -> bool:
    return abs(scale - round(scale)) < _DBL_EPSILON


def _along_width(weights: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per-column weights shaped to multiply a ``rows x columns [x channels]`` array."""
    return weights[:, None] if image.ndim == 3 else weights


def _resize_area_fast(image: np.ndarray, kx: int, ky: int) -> np.ndarray:
    """INTER_AREA by integer factors (OpenCV's ``resizeAreaFast_``): the plain mean of each block."""
    h, w = image.shape[0] // ky, image.shape[1] // kx
    blocks = image[: h * ky, : w * kx].reshape(h, ky, w, kx, *image.shape[2:])
    total = blocks.sum(axis=(1, 3), dtype=np.int32)
    channels = image.shape[2] if image.ndim == 3 else 1
    if kx == 2 and ky == 2 and channels != 2:
        return ((total + 2) >> 2).astype(np.uint8)  # OpenCV's vector path rounds halves up here
    scaled = total.astype(np.float32) * np.float32(1.0 / (kx * ky))
    return _saturate(scaled)


def _saturate(values: np.ndarray) -> np.ndarray:
    """OpenCV's ``saturate_cast<uchar>`` of floats: halves to even, then clamped."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@lru_cache(maxsize=256)
def _area_table(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's ``computeResizeAreaTab`` for one axis as ``dst x K`` source indices and float32 weights.

    Each destination pixel's terms keep OpenCV's order (the float32 sums depend on it): the part
    of a pixel before its first whole one, the whole ones, the part after. Rows shorter than
    ``K`` are padded with weight 0, which adds nothing. Cached: lines of one size recur.
    """
    scale = 1 / (dst / src)
    fs1 = np.arange(dst) * scale
    fs2 = fs1 + scale
    cell = np.minimum(scale, src - fs1)
    s2 = np.minimum(np.floor(fs2).astype(np.int64), src - 1)
    s1 = np.minimum(np.ceil(fs1).astype(np.int64), s2)
    head = s1 - fs1 > 1e-3
    tail = fs2 - s2 > 1e-3
    count = head + (s2 - s1) + tail
    j = np.arange(int(count.max()))
    used = j < count[:, None]
    weight = np.where(used, (1.0 / cell)[:, None], 0.0)
    weight[:, 0] = np.where(head, (s1 - fs1) / cell, weight[:, 0])
    last = np.minimum(np.minimum(fs2 - s2, 1.0), cell) / cell
    at_tail = tail[:, None] & (j == count[:, None] - 1)
    weight = np.where(at_tail, last[:, None], weight)
    index = np.where(used, (s1 - head)[:, None] + j, 0)
    return _frozen(index.astype(np.intp)), _frozen(weight.astype(np.float32))


def _frozen(array: np.ndarray) -> np.ndarray:
    """The array made read-only: a cached table is shared by every call."""
    array.setflags(write=False)
    return array


def _resize_area(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """INTER_AREA by non-integer factors (OpenCV's ``resizeArea_``): float32 weighted sums, columns then rows.

    The columns are summed as rows of a transposed copy: whole contiguous rows gathered, fast.
    """
    x_index, x_weight = _area_table(image.shape[1], width)
    y_index, y_weight = _area_table(image.shape[0], height)
    columns = _weighted_rows(np.ascontiguousarray(np.swapaxes(image, 0, 1)), x_index, x_weight)
    return _saturate(_weighted_rows(np.ascontiguousarray(np.swapaxes(columns, 0, 1)), y_index, y_weight))


def _weighted_rows(rows: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``out[d] = sum over k, in OpenCV's order, of rows[index[d, k]] * weight[d, k]``, in float32."""
    shape = (-1,) + (1,) * (rows.ndim - 1)
    out = np.take(rows, index[:, 0], axis=0).astype(np.float32)
    out *= weight[:, 0].reshape(shape)
    for j in range(1, index.shape[1]):
        term = np.take(rows, index[:, j], axis=0).astype(np.float32)
        term *= weight[:, j].reshape(shape)
        out += term
    return out


@lru_cache(maxsize=256)
def _linear_table(src: int, dst: int, area: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's bilinear offsets and 11-bit weights for one axis (``resize``'s ``INTER_LINEAR`` table).

    Returns the first source index of each destination pixel and its two weights; indices are not
    clamped (columns past the edge already carry weights 2048 and 0, rows are clamped when read).
    """
    d = np.arange(dst)
    if area:
        inv = dst / src
        s = np.floor(d * (1 / inv)).astype(np.int64)
        f = ((d + 1) - (s + 1) * inv).astype(np.float32)
        f = np.where(f <= 0, np.float32(0), f - np.floor(f)).astype(np.float32)
    else:
        scale = np.float64(1 / (dst / src))
        f = ((d + 0.5) * scale - 0.5).astype(np.float32)
        s = np.floor(f).astype(np.int64)
        f = (f - s.astype(np.float32)).astype(np.float32)
    return _frozen(s), *(_frozen(w) for w in _fixed_weights(f))


def _fixed_weights(fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(1 - f) * 2048`` and ``f * 2048`` rounded as OpenCV rounds them (float32, halves to even)."""
    one = np.float32(1)
    w0 = np.rint((one - fraction) * np.float32(_COEF_SCALE)).astype(np.int32)
    w1 = np.rint(fraction * np.float32(_COEF_SCALE)).astype(np.int32)
    return w0, w1


def _resize_linear(image: np.ndarray, width: int, height: int, area: bool) -> np.ndarray:
    """INTER_LINEAR (and INTER_AREA where an axis grows) in OpenCV's fixed point: columns, then rows."""
    src_h, src_w = image.shape[:2]
    xs, xw0, xw1 = _linear_table(src_w, width, area)
    edge = (xs >= src_w - 1) | (xs < 0)  # OpenCV takes the edge pixel alone there
    xw0 = np.where(edge, _COEF_SCALE, xw0).astype(np.int32)
    xw1 = np.where(edge, 0, xw1).astype(np.int32)
    xs = np.clip(xs, 0, src_w - 1)
    ys, yw0, yw1 = _linear_table(src_h, height, area)
    # Only the rows the output reads, each once, from the uint8 image.
    rows, where = np.unique(np.clip(np.concatenate([ys, ys + 1]), 0, src_h - 1), return_inverse=True)
    picked = np.take(image, rows, axis=0)
    left = np.take(picked, xs, axis=1).astype(np.int32)
    left *= _along_width(xw0, picked)
    right = np.take(picked, np.minimum(xs + 1, src_w - 1), axis=1).astype(np.int32)
    right *= _along_width(xw1, picked)
    columns = (left + right) >> 4
    shape = (-1, 1, 1) if image.ndim == 3 else (-1, 1)
    # VResizeLinearVec_32s8u: 16-bit products of the rows shifted by 4, high halves summed.
    out = (np.take(columns, where[:height], axis=0) * yw0.reshape(shape)) >> 16
    out += (np.take(columns, where[height:], axis=0) * yw1.reshape(shape)) >> 16
    out += 2
    out >>= 2
    return np.clip(out, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- colour and thresholds


#: OpenCV's RGB to gray weights, 15-bit fixed point.
_LUMA = np.array([9798, 19235, 3735], np.float32)


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """``cv2.cvtColor(rgb, COLOR_RGB2GRAY)``: ITU-R 601 luma in OpenCV's 15-bit fixed point, bit for bit.

    The weighted sums are whole numbers under 2 ** 24, so float32 holds them exactly, whatever the
    order of a matrix product's sums. Done in bands of rows: no float copy of a large photo.
    """
    gray = np.empty(rgb.shape[:2], np.uint8)
    band = max(1, (1 << 18) // max(1, rgb.shape[1]))
    for top in range(0, rgb.shape[0], band):
        luma = rgb[top : top + band].astype(np.float32) @ _LUMA
        luma += 1 << 14
        luma *= np.float32(1.0 / (1 << 15))
        gray[top : top + band] = luma.astype(np.uint8)  # rounded down, as the shift does
    return gray


def otsu_threshold(gray: np.ndarray) -> int:
    """The threshold ``cv2.threshold(gray, 0, 255, THRESH_BINARY + THRESH_OTSU)`` picks for a uint8 image.

    Pixels above it are the brighter class. OpenCV's own loop, in its order, so ties break alike.
    """
    counts = np.bincount(gray.ravel(), minlength=256).tolist()
    scale = 1.0 / gray.size
    mu = sum(i * float(n) for i, n in enumerate(counts)) * scale
    mu1 = q1 = best_sigma = 0.0
    best = 0
    epsilon = float(np.finfo(np.float32).eps)
    for i, n in enumerate(counts):
        p = n * scale
        mu1 *= q1
        q1 += p
        q2 = 1.0 - q1
        if min(q1, q2) < epsilon or max(q1, q2) > 1.0 - epsilon:
            continue
        mu1 = (mu1 + i * p) / q1
        mu2 = (mu - q1 * mu1) / q2
        sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2)
        if sigma > best_sigma:
            best_sigma, best = sigma, i
    return best


# ---------------------------------------------------------------- regions of a binary map (DB post-processing)


def dilate_2x2(bitmap: np.ndarray) -> np.ndarray:
    """``cv2.dilate(bitmap, np.ones((2, 2)))``: each pixel the maximum of itself and its left, upper and upper-left neighbours."""
    out = bitmap.copy()
    out[1:] |= bitmap[:-1]
    out[:, 1:] |= bitmap[:, :-1]
    out[1:, 1:] |= bitmap[:-1, :-1]
    return out


@dataclass(frozen=True)
class _Runs:
    """Horizontal runs of a binary image, in raster order: row, first column, column after the last."""

    row: np.ndarray
    start: np.ndarray
    end: np.ndarray


def _runs(mask: np.ndarray) -> _Runs:
    """The runs of ``True`` in each row."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    where = np.flatnonzero(edges)
    row, column = np.divmod(where, edges.shape[1])
    rising = edges.ravel()[where] > 0
    return _Runs(row[rising], column[rising], column[~rising])


def _gaps(runs: _Runs, height: int, width: int) -> _Runs:
    """The runs of ``False`` in each row, from the runs of ``True``: what lies before, between and after them."""
    rows = np.arange(height)
    start_row = np.concatenate([rows, runs.row])
    start = np.concatenate([np.zeros(height, np.intp), runs.end])
    end_row = np.concatenate([runs.row, rows])
    end = np.concatenate([runs.start, np.full(height, width)])
    by_start = np.lexsort((start, start_row))
    by_end = np.lexsort((end, end_row))
    row, start, end = start_row[by_start], start[by_start], end[by_end]
    keep = start < end
    return _Runs(row[keep], start[keep], end[keep])


def _linked_runs(runs: _Runs, width: int, diagonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of runs in adjacent rows that touch: sideways only (4-connected) or diagonally too (8-connected)."""
    stride = width + 2
    start_key = runs.row * stride + runs.start
    end_key = runs.row * stride + runs.end
    reach = 1 if diagonal else 0
    # Runs of the next row whose end reaches past this run's start, and whose start lies before its end.
    first = np.searchsorted(end_key, (runs.row + 1) * stride + runs.start + 1 - reach, "left")
    last = np.searchsorted(start_key, (runs.row + 1) * stride + runs.end - 1 + reach, "right")
    counts = np.maximum(last - first, 0)
    upper = np.repeat(np.arange(len(counts)), counts)
    lower = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return upper, lower


def _components(count: int, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """A component number per run (the smallest run index in it), from the pairs of runs that touch.

    Each run takes the smallest number among the runs it touches, and then its number's number
    (pointer jumping), until nothing changes: a few rounds, however long a region is.
    """
    labels = np.arange(count)
    while True:
        smaller = np.minimum(labels[upper], labels[lower])
        updated = labels.copy()
        np.minimum.at(updated, upper, smaller)
        np.minimum.at(updated, lower, smaller)
        np.minimum.at(updated, labels, updated)  # a run's number is lowered with it
        while True:
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def contour_hulls(bitmap: np.ndarray) -> list[np.ndarray]:
    """The points whose convex hull is each contour's hull, for ``cv2.findContours(bitmap, RETR_LIST, ...)``.

    One array of ``(x, y)`` float32 points per contour OpenCV finds: the outer border of every
    8-connected region and the border of every hole in one (a 4-connected background region that
    does not reach the image's edge), listed as OpenCV lists them (the contour found last in a
    raster scan first). Only the ends of rows are kept: the hull, and so the minimum-area
    rectangle, is that of the whole contour.
    """
    mask = np.asarray(bitmap, bool)
    height, width = mask.shape
    runs = _runs(mask)
    found = []
    if len(runs.row):
        labels = _components(len(runs.row), *_linked_runs(runs, width, diagonal=True))
        for row, start, end in _grouped(runs, labels):
            # A row's leftmost pixel starts its first run, its rightmost ends its last.
            new_row = np.flatnonzero(np.diff(row)) + 1
            first, last = np.r_[0, new_row], np.r_[new_row - 1, len(row) - 1]
            points = np.concatenate([np.stack([start[first], row[first]], 1), np.stack([end[last] - 1, row[last]], 1)])
            found.append(((int(row[0]), int(start[0])), points))
    found.extend(_hole_hulls(_gaps(runs, height, width), height, width))
    found.sort(key=lambda item: item[0], reverse=True)
    return [points.astype(np.float32) for _, points in found]


def _grouped(runs: _Runs, labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each component's runs (row, start, end), in raster order."""
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return [(runs.row[group], runs.start[group], runs.end[group]) for group in np.split(order, cuts)]


def _hole_hulls(gaps: _Runs, height: int, width: int) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Each hole's scan start and the points whose hull is its border's (the region pixels beside it)."""
    if not len(gaps.row):
        return []
    labels = _components(len(gaps.row), *_linked_runs(gaps, width, diagonal=False))
    edge = (gaps.row == 0) | (gaps.row == height - 1) | (gaps.start == 0) | (gaps.end == width)
    inside = ~np.isin(labels, labels[edge])
    if not inside.any():
        return []
    holes = []
    hole_runs = _Runs(gaps.row[inside], gaps.start[inside], gaps.end[inside])
    for row, start, end in _grouped(hole_runs, labels[inside]):
        last = end - 1
        points = np.concatenate(
            [
                np.stack([start - 1, row], 1),
                np.stack([end, row], 1),
                np.stack([start, row - 1], 1),
                np.stack([last, row - 1], 1),
                np.stack([start, row + 1], 1),
                np.stack([last, row + 1], 1),
            ]
        )
        # OpenCV meets a hole at the region pixel left of its first pixel in a raster scan.
        holes.append(((int(row[0]), int(start[0]) - 1), points))
    return holes


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The convex hull of ``(x, y)`` points, counter-clockwise in image coordinates, no collinear points (monotone chain)."""
    unique = sorted(set(map(tuple, np.asarray(points, np.float64).tolist())))
    if len(unique) < 3:
        return np.array(unique, np.float64).reshape(-1, 2)

    def half(sequence: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for x, y in sequence:
            while len(chain) >= 2:
                (ax, ay), (bx, by) = chain[-2], chain[-1]
                if (bx - ax) * (y - ay) - (by - ay) * (x - ax) > 0:
                    break
                chain.pop()
            chain.append((x, y))
        return chain

    return np.array(half(unique)[:-1] + half(unique[::-1])[:-1], np.float64)


@dataclass(frozen=True)
class RotatedRect:
    """A rectangle at any angle, as ``cv2.minAreaRect`` gives one: centre, ``(width, height)``, angle of its width in degrees."""

    centre: tuple[float, float]
    size: tuple[float, float]
    angle: float

    def corners(self) -> np.ndarray:
        """Its four corners, ``cv2.boxPoints``'s: float32 ``4 x 2``, each next to the one before."""
        angle = np.deg2rad(self.angle)
        b, a = np.float32(np.cos(angle) * 0.5), np.float32(np.sin(angle) * 0.5)
        (cx, cy), (w, h) = np.float32(self.centre), np.float32(self.size)
        p0 = (cx - a * h - b * w, cy + b * h - a * w)
        p1 = (cx + a * h - b * w, cy - b * h - a * w)
        p2 = (2 * cx - p0[0], 2 * cy - p0[1])
        p3 = (2 * cx - p1[0], 2 * cy - p1[1])
        return np.array([p0, p1, p2, p3], np.float32)

    def grown(self, by: float) -> RotatedRect:
        """The rectangle with every side moved out by ``by``."""
        return RotatedRect(self.centre, (self.size[0] + 2 * by, self.size[1] + 2 * by), self.angle)


def min_area_rect(points: np.ndarray) -> RotatedRect:
    """``cv2.minAreaRect``: the smallest rectangle holding the points, over the directions of their hull's edges."""
    hull = convex_hull(points)
    if len(hull) == 0:
        return RotatedRect((0.0, 0.0), (0.0, 0.0), 0.0)
    if len(hull) == 1:
        return RotatedRect((float(hull[0, 0]), float(hull[0, 1])), (0.0, 0.0), 0.0)
    edges = np.roll(hull, -1, axis=0) - hull
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    keep = lengths > 0
    along = edges[keep] / lengths[keep, None]
    across = np.stack([-along[:, 1], along[:, 0]], 1)
    u, v = hull @ along.T, hull @ across.T  # projections: points x directions
    widths, heights = u.max(0) - u.min(0), v.max(0) - v.min(0)
    best = int(np.argmin(widths * heights))
    mid_u, mid_v = (u[:, best].max() + u[:, best].min()) / 2, (v[:, best].max() + v[:, best].min()) / 2
    centre = along[best] * mid_u + across[best] * mid_v
    angle = float(np.degrees(np.arctan2(along[best, 1], along[best, 0])))
    return RotatedRect((float(centre[0]), float(centre[1])), (float(widths[best]), float(heights[best])), angle)


# ---------------------------------------------------------------- polygon pixels (cv2.fillPoly, cv2.mean)


def polygon_mask(corners: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``cv2.fillPoly(zeros(shape), [corners], 1)`` for a polygon of integer corners: the same pixels.

    OpenCV draws the edges as 8-connected lines and fills each row between them, the edges' ends
    clipped to the image first (its ``CollectPolyEdges`` and ``FillEdgeCollection``); so does this.
    A polygon reaching past the array's edge may differ from OpenCV's in a few pixels beside it.
    """
    mask = np.zeros(shape, bool)
    points = np.asarray(corners, np.int64).reshape(-1, 2).tolist()
    edges = []
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        (cx0, cy0, cx1, cy1), visible = _clip_line(shape[1], shape[0], x0, y0, x1, y1)
        if visible:
            _draw_line(mask, cx0, cy0, cx1, cy1)
        if y0 != y1:
            edges.append(_fill_edge((x0, y0, x1, y1), (cx0, cy0, cx1, cy1), shape))
    _fill_rows(mask, edges)
    return mask


#: Fixed-point bits of OpenCV's polygon edges.
_XY_SHIFT = 16


def _fill_edge(
    line: tuple[int, int, int, int], clipped: tuple[int, int, int, int], shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    """One non-horizontal edge as ``FillEdgeCollection`` walks it: first row, row after the last, x there, x step (16-bit fixed point)."""
    x0, y0, x1, y1 = line
    inside = all(0 <= x < shape[1] and 0 <= y < shape[0] for x, y in ((x0, y0), (x1, y1)))
    if not inside and clipped[1] != clipped[3]:  # the clipped ends, for a more accurate edge
        p0, p1 = (clipped[0] << _XY_SHIFT, clipped[1]), (clipped[2] << _XY_SHIFT, clipped[3])
    else:
        p0, p1 = (x0 << _XY_SHIFT, y0), (x1 << _XY_SHIFT, y1)
    step = _c_divide(p1[0] - p0[0], p1[1] - p0[1])
    if y0 < y1:
        return y0, y1, p0[0] + (y0 - p0[1]) * step, step
    return y1, y0, p1[0] + (y1 - p1[1]) * step, step


def _c_divide(a: int, b: int) -> int:
    """C's integer division, toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _fill_rows(mask: np.ndarray, edges: list[tuple[int, int, int, int]]) -> None:
    """Each row between its active edges in pairs (first and second, third and fourth), the ends rounded inwards."""
    if not edges:
        return
    top = max(min(e[0] for e in edges), 0)
    bottom = min(max(e[1] for e in edges), mask.shape[0])
    if top >= bottom:
        return
    rows = np.arange(top, bottom)
    unused = np.iinfo(np.int64).max
    xs = np.full((len(rows), len(edges)), unused, np.int64)
    for k, (first, after, x, step) in enumerate(edges):
        active = (rows >= first) & (rows < after)
        xs[active, k] = x + (rows[active] - first) * step
    xs.sort(axis=1)
    active = (xs != unused).sum(1)
    columns = np.arange(mask.shape[1])
    for pair in range(len(edges) // 2):
        rows_with = active >= 2 * pair + 2
        left = (xs[rows_with, 2 * pair] + (1 << _XY_SHIFT) - 1) >> _XY_SHIFT
        right = xs[rows_with, 2 * pair + 1] >> _XY_SHIFT
        mask[rows[rows_with]] |= (columns >= left[:, None]) & (columns <= right[:, None])


def _clip_line(width: int, height: int, x0: int, y0: int, x1: int, y1: int) -> tuple[tuple[int, int, int, int], bool]:
    """OpenCV's ``clipLine``: the line's ends moved onto the image's edges, and whether any of it is inside."""
    right, bottom = width - 1, height - 1

    def code(x: int, y: int, with_rows: bool = True) -> int:
        return (x < 0) + (x > right) * 2 + ((y < 0) * 4 + (y > bottom) * 8 if with_rows else 0)

    c0, c1 = code(x0, y0), code(x1, y1)
    if (c0 & c1) == 0 and (c0 | c1) != 0:
        if c0 & 12:
            edge = 0 if c0 < 8 else bottom
            x0 += int((edge - y0) * (x1 - x0) / (y1 - y0))
            y0, c0 = edge, code(x0, 0, False)
        if c1 & 12:
            edge = 0 if c1 < 8 else bottom
            x1 += int((edge - y1) * (x1 - x0) / (y1 - y0))
            y1, c1 = edge, code(x1, 0, False)
        if (c0 & c1) == 0 and (c0 | c1) != 0:
            if c0:
                edge = 0 if c0 == 1 else right
                y0 += int((edge - x0) * (y1 - y0) / (x1 - x0))
                x0, c0 = edge, 0
            if c1:
                edge = 0 if c1 == 1 else right
                y1 += int((edge - x1) * (y1 - y0) / (x1 - x0))
                x1, c1 = edge, 0
    return (x0, y0, x1, y1), (c0 | c1) == 0


def _draw_line(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """OpenCV's 8-connected ``LineIterator`` from the left end (the ends inside the mask)."""
    if x1 < x0:
        x0, y0, x1, y1 = x1, y1, x0, y0
    dx, dy = x1 - x0, abs(y1 - y0)
    step_y = 1 if y1 >= y0 else -1
    major, minor = max(dx, dy), min(dx, dy)
    k = np.arange(major + 1)
    # Bresenham's minor offset after k major steps: the least m with 2*major*m >= 2*minor*k - major.
    m = -((major - 2 * minor * k) // (2 * major)) if major else k
    if dx >= dy:
        xs, ys = x0 + k, y0 + step_y * m
    else:
        xs, ys = x0 + m, y0 + step_y * k
    mask[ys, xs] = True


def polygon_mean(values: np.ndarray, corners: np.ndarray) -> float:
    """The mean of a 2-D array inside a polygon, as DB's "fast" box score takes it (``cv2.fillPoly``, ``cv2.mean``)."""
    h, w = values.shape
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int), 0, [w - 1, h - 1])
    mask = polygon_mask(np.round(corners - [x0, y0]).astype(np.int64), (y1 - y0 + 1, x1 - x0 + 1))
    inside = values[y0 : y1 + 1, x0 : x1 + 1][mask]
    return float(inside.mean(dtype=np.float64)) if inside.size else 0.0


# ---------------------------------------------------------------- perspective warps


def perspective_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``cv2.getPerspectiveTransform``: the 3 x 3 matrix taking four ``src`` points to four ``dst`` points.

    OpenCV's 8 x 8 system (its point products in float32, as its points are) solved by its own LU.
    """
    src = np.asarray(src, np.float32).reshape(4, 2)
    dst = np.asarray(dst, np.float32).reshape(4, 2)
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(src, dst)):
        a[i, :3] = a[i + 4, 3:6] = x, y, 1
        a[i, 6:] = -x * u, -y * u  # float32 products
        a[i + 4, 6:] = -x * v, -y * v
        b[i], b[i + 4] = u, v
    return np.append(_lu_solve(a, b), 1.0).reshape(3, 3)


def _lu_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """OpenCV's ``LUImpl``: Gaussian elimination with partial pivoting, in its order of operations.

    A singular system gets the least-squares answer, as ``getPerspectiveTransform`` falls back to SVD.
    """
    original = a, b
    a, b = a.copy(), b.copy()
    n = len(b)
    for i in range(n):
        k = i + int(np.argmax(np.abs(a[i:, i])))
        if abs(a[k, i]) < 100 * _DBL_EPSILON:  # singular (three points in a line): OpenCV's SVD fallback
            return np.linalg.lstsq(*original, rcond=None)[0]
        if k != i:
            a[[i, k]], b[[i, k]] = a[[k, i]], b[[k, i]]
        d = -1.0 / a[i, i]
        for j in range(i + 1, n):
            alpha = a[j, i] * d
            a[j, i + 1 :] += alpha * a[i, i + 1 :]
            b[j] += alpha * b[i]
    for i in range(n - 1, -1, -1):
        total = b[i]
        for k in range(i + 1, n):
            total -= a[i, k] * b[k]
        b[i] = total / a[i, i]
    return b


def _invert3(m: np.ndarray) -> np.ndarray:
    """``cv::invert`` of a 3 x 3 matrix: the closed form OpenCV uses for one that small."""
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if det == 0:
        return np.zeros((3, 3))  # as cv::invert leaves a singular matrix's inverse
    r = 1.0 / det
    return np.array(
        [
            [(e * i - f * h) * r, (c * h - b * i) * r, (b * f - c * e) * r],
            [(f * g - d * i) * r, (a * i - c * g) * r, (c * d - a * f) * r],
            [(d * h - e * g) * r, (b * g - a * h) * r, (a * e - b * d) * r],
        ]
    )


def warp_perspective(
    image: np.ndarray, matrix: np.ndarray, width: int, height: int, interpolation: Literal["linear", "cubic"]
) -> np.ndarray:
    """``cv2.warpPerspective(image, matrix, (width, height), flags, borderMode=BORDER_REPLICATE)`` of a uint8 image."""
    inverse = _invert3(np.asarray(matrix, np.float64))
    if interpolation == "linear":
        return _warp_linear(image, inverse, width, height)
    return _warp_cubic(image, inverse, width, height)


def _sample(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Pixels at integer coordinates already clamped to the image (BORDER_REPLICATE), as float32."""
    flat = image.reshape(image.shape[0] * image.shape[1], -1)
    pixels = np.take(flat, ys * image.shape[1] + xs, axis=0)  # several times faster than flat[...]
    return (pixels if image.ndim == 3 else pixels[..., 0]).astype(np.float32)


def _clamped(start: np.ndarray, taps: int, size: int) -> list[np.ndarray]:
    """``start``, ``start + 1``, ... (``taps`` of them) each clamped to ``[0, size)``: BORDER_REPLICATE's indices."""
    return [np.clip(start + k, 0, size - 1) for k in range(taps)]


def _bounded(coordinates: np.ndarray, size: int) -> np.ndarray:
    """Source coordinates kept within ``[-size, 2 size]`` (all taps past an edge read the edge pixel anyway),
    and 0 where a singular matrix made them undefined: no overflow, no warning, as OpenCV's kernels clamp."""
    clipped = np.clip(coordinates, np.float32(-size), np.float32(2 * size))
    return np.nan_to_num(clipped, nan=0.0).astype(np.float32)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray | float) -> np.ndarray:
    """``a * b + c`` in float32 rounded once, as a fused multiply-add (a float32 product is exact in float64)."""
    return (a.astype(np.float64) * b + c).astype(np.float32)


def _channels(weights: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per-pixel weights shaped to multiply an image's pixels, whatever its channels."""
    return weights[..., None] if image.ndim == 3 else weights


def _warp_linear(image: np.ndarray, inverse: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenCV 5's bilinear warp: a float32 matrix and coordinates (fused multiply-adds), float32 interpolation."""
    m = inverse.astype(np.float32).ravel()
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    # Each row's offsets in float32, then x * M + offset as a fused multiply-add, then the division.
    w = _fma(m[6], x, y * m[7] + m[8])
    with np.errstate(divide="ignore", invalid="ignore"):
        sx = _bounded(_fma(m[0], x, y * m[1] + m[2]) / w, image.shape[1])
        sy = _bounded(_fma(m[3], x, y * m[4] + m[5]) / w, image.shape[0])
    ix, iy = np.floor(sx), np.floor(sy)
    fx, fy = _channels((sx - ix).astype(np.float32), image), _channels((sy - iy).astype(np.float32), image)
    columns = _clamped(ix.astype(np.int64), 2, image.shape[1])
    rows = _clamped(iy.astype(np.int64), 2, image.shape[0])
    (x0, x1), (y0, y1) = columns, rows
    p00, p01 = _sample(image, y0, x0), _sample(image, y0, x1)
    p10, p11 = _sample(image, y1, x0), _sample(image, y1, x1)
    # OpenCV fuses each multiply-add; float32 arithmetic rounds twice, which changes a pixel by one
    # level on a few pixels in ten thousand at most, and costs a fifth of emulating the fused one.
    p01 -= p00
    p01 *= fx
    p01 += p00
    p11 -= p10
    p11 *= fx
    p11 += p10
    p11 -= p01
    p11 *= fy
    p11 += p01
    return _saturate(p11)


#: Keys's bicubic kernel parameter, OpenCV's.
_CUBIC_A = np.float32(-0.75)


def _cubic_weights(fraction: np.ndarray) -> list[np.ndarray]:
    """OpenCV 5's float32 bicubic weights of the four taps around a point ``fraction`` past the second."""
    one = np.float32(1)
    square = fraction * fraction
    rest = one - fraction
    w0 = _CUBIC_A * (fraction * (rest * rest))
    w3 = _CUBIC_A * (square * rest)
    w1 = _fma(square, _fma(_CUBIC_A + np.float32(2), fraction, -(_CUBIC_A + np.float32(3))), 1.0)
    w2 = ((one - w0) - w1) - w3
    return [w0, w1, w2, w3]


def _warp_cubic(image: np.ndarray, inverse: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenCV 5's bicubic warp: a float32 matrix, float32 weights, each tap added by a fused multiply-add."""
    m = inverse.astype(np.float32).ravel()
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float64)[None, :]
    row_x = (y * m[1] + m[2]).astype(np.float64)
    row_y = (y * m[4] + m[5]).astype(np.float64)
    row_w = (y * m[7] + m[8]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / (row_w + np.float64(m[6]) * x)
        sx = _bounded(((row_x + np.float64(m[0]) * x) * scale).astype(np.float32), max(image.shape[1], 16))
        sy = _bounded(((row_y + np.float64(m[3]) * x) * scale).astype(np.float32), max(image.shape[0], 16))
    ix, iy = np.floor(sx), np.floor(sy)
    wx = [_channels(w, image) for w in _cubic_weights((sx - ix).astype(np.float32))]
    wy = [_channels(w, image) for w in _cubic_weights((sy - iy).astype(np.float32))]
    columns = _clamped(ix.astype(np.int64) - 1, 4, image.shape[1])
    rows = _clamped(iy.astype(np.int64) - 1, 4, image.shape[0])
    total = np.zeros(wy[0].shape if image.ndim == 2 else (height, width, image.shape[2]), np.float32)
    for j in range(4):
        taps = [_sample(image, rows[j], columns[k]) for k in range(4)]
        row = taps[0] * wx[0]
        for k in range(1, 4):
            row = _fma(taps[k], wx[k], row)
        total = _fma(row, wy[j], total)
    return _saturate(total)


def rotate_counterclockwise(image: np.ndarray) -> np.ndarray:
    """``cv2.rotate(image, ROTATE_90_COUNTERCLOCKWISE)``."""
    return np.ascontiguousarray(np.rot90(image))
