import io

import numpy as np
import pytest
import torch
from PIL import Image

from pwocr.data.images import list_images, load_gray, pad_batch, resize_to_height, to_tensor
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


def test_resize_keeps_aspect_and_clamps_width():
    gray = np.zeros((64, 300), np.uint8)
    assert resize_to_height(gray, 32, 32, 800).shape == (32, 150)
    assert resize_to_height(gray, 32, 32, 100).shape == (32, 100)
    assert resize_to_height(np.zeros((64, 10), np.uint8), 32, 32, 800).shape == (32, 32)


def test_pad_batch_repeats_the_last_column():
    a = to_tensor(np.full((32, 40), 255, np.uint8))
    b = to_tensor(np.zeros((32, 50), np.uint8))
    batch, widths = pad_batch([a, b])
    assert batch.shape == (2, 1, 32, 50)
    assert widths.tolist() == [40, 50]
    assert torch.all(batch[0, :, :, 40:] == 1.0)


def test_list_images_skips_other_files(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "b.png")
    Image.new("L", (4, 4)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]
