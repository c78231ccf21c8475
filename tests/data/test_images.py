import io

import numpy as np
import pytest
from PIL import Image

from pwocr.data import images
from pwocr.data.images import list_images, load_gray
from pwocr.errors import PwocrError


def test_every_source_kind_loads_the_same_pixels(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:, :10] = (255, 0, 0)
    image = Image.fromarray(rgb)
    image.save(tmp_path / "a.png")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    expected = np.asarray(image.convert("L"))
    for source in (tmp_path / "a.png", str(tmp_path / "a.png"), buffer.getvalue(), image, rgb):
        assert np.array_equal(load_gray(source), expected)


def test_transparency_is_flattened_onto_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert load_gray(Image.fromarray(rgba, "RGBA")).min() == 255


def test_float_arrays_in_unit_range_are_scaled():
    assert load_gray(np.ones((3, 3), np.float32)).max() == 255


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_corrupt_file_names_the_file(tmp_path, content):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(PwocrError) as e:
        load_gray(tmp_path / "bad.png")
    assert "bad.png" in str(e.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(PwocrError, match="not found"):
        load_gray(tmp_path / "none.png")
    with pytest.raises(PwocrError, match="folder"):
        load_gray(tmp_path)


def test_exif_orientation_is_applied(tmp_path):
    # A landscape line stored as a portrait image with EXIF "rotate 90 CW to view" (orientation 6).
    line = np.full((20, 60), 255, np.uint8)
    line[:, :10] = 0  # the dark end is on the left when viewed upright
    stored = Image.fromarray(np.rot90(line, 1).copy())  # 60 high, 20 wide: how the sensor saved it
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    gray = load_gray(tmp_path / "phone.jpg")
    assert gray.shape == (20, 60)
    assert gray[:, :8].mean() < 60 < 200 < gray[:, 20:].mean()


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = (np.arange(64, dtype=np.uint32)[None, :].repeat(8, 0) * 1024).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    gray = load_gray(tmp_path / "deep.png")
    assert gray.min() == 0 and gray.max() >= 250
    assert np.all(np.diff(gray[0].astype(int)) >= 0)


@pytest.mark.parametrize(
    ("array", "top"),
    [
        (np.ones((3, 3), bool), 255),
        (np.full((3, 3), 0.5, np.float64), 128),
        (np.full((3, 3), 65535, np.uint16), 255),
        (np.full((3, 3), 200, np.int32), 200),
    ],
)
def test_bool_float_and_wide_integer_arrays_are_scaled(array, top):
    assert load_gray(array).max() == top


def test_pixel_cap_refuses_before_decoding(tmp_path, monkeypatch):
    Image.new("L", (300, 200)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 50_000)
    with pytest.raises(PwocrError, match=r"big.png: 300x200 .* more than"):
        load_gray(tmp_path / "big.png")


def test_list_images_skips_other_files(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "b.png")
    Image.new("L", (4, 4)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]
