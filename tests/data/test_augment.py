"""Augmentation of real lines: same size and type, seeded, and a variation of the line, not another image."""

import cv2
import numpy as np
import pytest
from conftest import draw_line

from pwocr.data.augment import augment_line, glare, jpeg, perspective, reframe


@pytest.fixture
def line() -> np.ndarray:
    return np.asarray(draw_line("Kq7|O0lI", size=30).convert("L"))


def _ink(image: np.ndarray) -> float:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    _, dark = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return float(dark.mean())


@pytest.mark.parametrize("colour", [False, True])
def test_every_variation_keeps_size_and_type_and_stays_close_to_the_line(line, colour):
    image = np.repeat(line[..., None], 3, axis=2) if colour else line
    changed = 0
    for seed in range(40):
        out = augment_line(image, np.random.default_rng(seed))
        assert out.shape == image.shape and out.dtype == np.uint8
        changed += not np.array_equal(out, image)
        # Still the same line: about as much dark ink on light paper.
        assert 0.4 < _ink(out) / _ink(image) < 2.5
    assert changed >= 35


def test_the_same_seed_gives_the_same_variation(line):
    a = augment_line(line, np.random.default_rng(7))
    b = augment_line(line, np.random.default_rng(7))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("change", [reframe, perspective, glare])
def test_each_change_alone_keeps_the_shape(line, change):
    out = change(line, np.random.default_rng(3))
    assert out.shape == line.shape and out.dtype == np.uint8


def test_glare_brightens_and_jpeg_round_trips(line):
    assert glare(line, np.random.default_rng(1)).mean() > line.mean()
    out = jpeg(line, 40)
    assert out.shape == line.shape and np.abs(out.astype(int) - line).mean() < 12


@pytest.mark.parametrize("shape", [(30, 1), (1, 30), (2, 2), (30, 1, 3)])
def test_tiny_crops_survive_every_change(shape):
    image = np.full(shape, 200, dtype=np.uint8)
    for seed in range(30):
        out = augment_line(image, np.random.default_rng(seed))
        assert out.shape == image.shape and out.dtype == np.uint8


def test_jpeg_keeps_colours_in_their_channels():
    red = np.zeros((32, 64, 3), dtype=np.uint8)
    red[..., 0] = 220
    out = jpeg(red, 60)
    assert out[..., 0].mean() > 180 and out[..., 2].mean() < 40
