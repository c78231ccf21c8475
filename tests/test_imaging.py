"""pwocr.imaging against the OpenCV calls it replaces in reading: the same pixels, regions and boxes.

Reading installs no OpenCV; these tests need it (``pwocr[train]`` brings it) as the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pwocr import imaging
from pwocr.layout.detector import TextBox, default_detector, order_corners
from pwocr.layout.photo import luminance
from pwocr.synth.fonts import fonts_for
from pwocr.synth.scenes import compose_scene

cv2 = pytest.importorskip("cv2", reason="OpenCV is the reference these tests compare with (pip install 'pwocr[train]')")

SEED_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "seed" / "IMG_20190423_162858.jpg"
FLAGS = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}


def textured(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Noise over smooth gradients: every rounding case of a resize is met, as on photos."""
    h, w = shape[:2]
    ramp = np.add.outer(np.linspace(0, 180, h), np.linspace(0, 60, w))
    ramp = ramp if len(shape) == 2 else ramp[:, :, None] + np.arange(shape[2]) * 20
    return np.clip(ramp + rng.normal(0, 40, shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("channels", [0, 3])
def test_resize_is_bit_exact_with_opencv_at_any_size(channels):
    rng = np.random.default_rng(channels)
    for _ in range(150):
        sh, sw, dh, dw = (int(v) for v in rng.integers(1, 90, 4))
        image = textured(rng, (sh, sw, channels) if channels else (sh, sw))
        for interpolation, flag in FLAGS.items():
            expected = cv2.resize(image, (dw, dh), interpolation=flag)
            assert np.array_equal(imaging.resize(image, dw, dh, interpolation), expected), (image.shape, dh, dw)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ((96, 300), (48, 150)),  # halving: OpenCV's own 2 x 2 average
        ((144, 450), (48, 150)),  # a third: whole blocks
        ((31, 200), (48, 312)),  # a small line grown to the model's height
        ((2400, 3200), (960, 1280)),  # a decoded photo shrunk for the detector
        ((3000, 4000), (960, 1280)),  # a 12 MP photo at 3.125
        ((300, 500), (640, 1056)),  # a small photo grown for the detector
        ((4800, 3600), (3200, 2400)),  # a large photo's decode shrink, in colour below
    ],
)
def test_resize_is_bit_exact_on_lines_and_photos(source, target):
    rng = np.random.default_rng(1)
    gray = textured(rng, source)
    for interpolation, flag in FLAGS.items():
        expected = cv2.resize(gray, target[::-1], interpolation=flag)
        assert np.array_equal(imaging.resize(gray, target[1], target[0], interpolation), expected), interpolation
    if source[0] * source[1] <= 2_000_000:
        colour = textured(rng, (*source, 3))
        expected = cv2.resize(colour, target[::-1], interpolation=cv2.INTER_AREA)
        assert np.array_equal(imaging.resize(colour, target[1], target[0], "area"), expected)


def test_gray_is_opencvs_luma_bit_for_bit():
    rgb = np.random.default_rng(2).integers(0, 256, (700, 1500, 3), dtype=np.uint8)
    assert np.array_equal(imaging.rgb_to_gray(rgb), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def test_otsu_threshold_is_opencvs():
    rng = np.random.default_rng(3)
    for _ in range(60):
        dark, light = sorted(rng.integers(0, 256, 2))
        crop = np.where(rng.random((24, 80)) < rng.uniform(0.05, 0.5), dark, light) + rng.normal(0, 12, (24, 80))
        crop = np.clip(crop, 0, 255).astype(np.uint8)
        expected, _ = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        assert imaging.otsu_threshold(crop) == expected


def test_dilate_is_opencvs_2x2():
    bitmap = np.random.default_rng(4).random((60, 70)) > 0.85
    expected = cv2.dilate(bitmap.astype(np.uint8), np.ones((2, 2), np.uint8)).astype(bool)
    assert np.array_equal(imaging.dilate_2x2(bitmap), expected)


def opencv_rects(bitmap: np.ndarray) -> list[tuple]:
    contours, _ = cv2.findContours(bitmap.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return [cv2.minAreaRect(contour) for contour in contours]


def test_regions_are_opencvs_contours_holes_included_in_its_order():
    rng = np.random.default_rng(5)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(8, 60, 2))
        bitmap = imaging.dilate_2x2(rng.random((h, w)) > rng.uniform(0.4, 0.85))
        expected = opencv_rects(bitmap)
        found = [imaging.min_area_rect(points) for points in imaging.contour_hulls(bitmap)]
        assert len(found) == len(expected)
        for rect, (_, (rw, rh), _) in zip(found, expected):
            # Tiny symmetric blobs have several smallest rectangles: the area is what is defined.
            assert rect.size[0] * rect.size[1] == pytest.approx(rw * rh, abs=1e-3)


def test_rotated_rectangles_give_opencvs_rectangles():
    rng = np.random.default_rng(6)
    canvas = np.zeros((400, 600), np.uint8)
    for _ in range(12):
        rect = (
            (rng.uniform(40, 560), rng.uniform(30, 370)),
            (rng.uniform(20, 200), rng.uniform(6, 30)),
            rng.uniform(-40, 40),
        )
        cv2.fillPoly(canvas, [np.round(cv2.boxPoints(rect)).astype(np.int32)], 1)
    cv2.rectangle(canvas, (250, 150), (350, 220), 1, 5)  # a ring: its hole is a contour too
    expected = opencv_rects(canvas)
    found = [imaging.min_area_rect(points) for points in imaging.contour_hulls(canvas)]
    assert len(found) == len(expected) >= 2
    for rect, ref in zip(found, expected):
        assert corner_gap(rect.corners(), cv2.boxPoints(ref)) < 1e-3


def corner_gap(a: np.ndarray, b: np.ndarray) -> float:
    """How far the farthest corner of either rectangle is from the nearest corner of the other."""
    distances = np.linalg.norm(a[:, None].astype(np.float64) - b[None], axis=-1)
    return float(max(distances.min(0).max(), distances.min(1).max()))


#: pwocr.imaging follows OpenCV 5's arithmetic; the parity tests that differ on older releases skip there.
OPENCV_5 = int(cv2.__version__.split(".")[0]) >= 5


@pytest.mark.skipif(not OPENCV_5, reason="pwocr.imaging fills as OpenCV 5 does; 4.x fills some edges differently")
def test_polygon_pixels_are_opencvs_fill_poly():
    rng = np.random.default_rng(7)
    for _ in range(400):
        rect = (
            (rng.uniform(10, 190), rng.uniform(10, 90)),
            (rng.uniform(3, 120), rng.uniform(3, 30)),
            rng.uniform(-90, 90),
        )
        corners = np.round(cv2.boxPoints(rect)).astype(np.int32)
        corners = np.clip(corners, 0, [199, 99])
        expected = np.zeros((100, 200), np.uint8)
        cv2.fillPoly(expected, [corners], 1)
        assert np.array_equal(imaging.polygon_mask(corners, (100, 200)), expected.astype(bool)), corners.tolist()


def opencv_boxes(probs: np.ndarray, height: int, width: int) -> list[TextBox]:
    """TextDetector.boxes_from_map as it was written with OpenCV, the reference."""
    bitmap = cv2.dilate((probs > 0.3).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    sx, sy = width / probs.shape[1], height / probs.shape[0]
    boxes = []
    for contour in contours[:1000]:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < 3:
            continue
        corners = cv2.boxPoints(((cx, cy), (rw, rh), angle))
        x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [probs.shape[1] - 1, probs.shape[0] - 1])
        x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int), 0, [probs.shape[1] - 1, probs.shape[0] - 1])
        mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
        cv2.fillPoly(mask, [np.round(corners - [x0, y0]).astype(np.int32)], 1)
        score = cv2.mean(probs[y0 : y1 + 1, x0 : x1 + 1], mask)[0]
        if score < 0.55:
            continue
        grow = rw * rh * 1.6 / (2 * (rw + rh))
        if min(rw, rh) + 2 * grow < 5:
            continue
        points = cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle)) * np.float32([sx, sy])
        points[:, 0] = np.clip(points[:, 0], 0, width - 1)
        points[:, 1] = np.clip(points[:, 1], 0, height - 1)
        box = TextBox(order_corners(points), float(score))
        if box.width > 3 and box.height > 3:
            boxes.append(box)
    return boxes


@pytest.mark.parametrize("seed", [11, 12])
def test_a_real_detector_map_gives_opencvs_boxes(seed):
    photo = compose_scene(np.random.default_rng(seed), fonts_for("eval"), size=(1024, 768)).image
    gray = luminance(photo)
    detector = default_detector()
    probs = detector.probability_map(gray)
    expected = opencv_boxes(probs, *gray.shape)
    found = detector.boxes_from_map(probs, *gray.shape)
    assert len(found) == len(expected) >= 3
    for box, ref in zip(found, expected):
        assert np.abs(box.points - ref.points).max() < 0.01
        assert box.score == pytest.approx(ref.score, abs=1e-6)


def photo_crops(rng: np.random.Generator, photo: np.ndarray, count: int):
    """Random tilted quadrilaterals inside a photo and the upright size each is warped to."""
    h, w = photo.shape[:2]
    for _ in range(count):
        centre = (rng.uniform(40, w - 40), rng.uniform(30, h - 30))
        size = (rng.uniform(20, 300), rng.uniform(8, 60))
        corners = cv2.boxPoints((centre, size, rng.uniform(-30, 30))) + rng.normal(0, 2, (4, 2)).astype(np.float32)
        yield corners, max(8, round(size[0])), max(8, round(size[1]))


@pytest.mark.skipif(not SEED_PHOTO.is_file(), reason="../shared/seed is not beside the clone")
@pytest.mark.skipif(
    not OPENCV_5, reason="pwocr.imaging warps as OpenCV 5 does; older releases sample on a 1/32-pixel grid"
)
def test_line_warps_match_opencvs():
    photo = np.asarray(Image.open(SEED_PHOTO).convert("RGB"))
    rng = np.random.default_rng(8)
    differing = []
    for k, (corners, w, h) in enumerate(photo_crops(rng, photo, 40)):
        image = photo if k % 4 == 0 else np.ascontiguousarray(photo[:, :, 1])
        scale = 1.0 if k % 2 else rng.uniform(1.2, 3.0)  # crop_line: cubic when it enlarges, linear otherwise
        w, h = round(w * scale), round(h * scale)
        target = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        matrix = cv2.getPerspectiveTransform(corners, target)
        assert np.allclose(imaging.perspective_transform(corners, target), matrix, rtol=1e-9, atol=1e-12)
        flag, interpolation = (cv2.INTER_LINEAR, "linear") if scale == 1.0 else (cv2.INTER_CUBIC, "cubic")
        expected = cv2.warpPerspective(image, matrix, (w, h), flags=flag, borderMode=cv2.BORDER_REPLICATE)
        crop = imaging.warp_perspective(image, matrix, w, h, interpolation)
        gap = np.abs(crop.astype(int) - expected)
        if interpolation == "cubic":
            assert gap.max() == 0
        else:  # OpenCV rounds a fused multiply-add once where NumPy rounds twice
            assert gap.max() <= 1
            differing.append((gap > 0).mean())
    # One level on a few pixels in 100,000 against OpenCV 5.0, on 3 in 10,000 against 5.1.
    assert np.mean(differing) < 1e-3


def test_a_quarter_turn_is_opencvs():
    image = np.arange(35, dtype=np.uint8).reshape(5, 7)
    assert np.array_equal(imaging.rotate_counterclockwise(image), cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
def test_a_box_squashed_against_the_photos_edge_still_warps(interpolation):
    # Three corners clipped onto the right edge are in a line: no perspective maps them, and
    # OpenCV answers by least squares rather than failing; so does pwocr.imaging, quietly.
    photo = np.random.default_rng(9).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    corners = np.float32([[199, 10], [199, 40], [199, 60], [150, 60]])
    target = np.float32([[0, 0], [49, 0], [49, 70], [0, 70]])
    matrix = imaging.perspective_transform(corners, target)
    assert np.isfinite(matrix).all()
    crop = imaging.warp_perspective(photo, matrix, 49, 70, interpolation)
    assert crop.shape == (70, 49, 3) and crop.dtype == np.uint8
