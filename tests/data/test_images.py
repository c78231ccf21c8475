import io
import os

import numpy as np
import pytest
from PIL import Image

from pwocr.data import images
from pwocr.data.images import list_images, load
from pwocr.errors import PwocrError


def test_every_source_kind_loads_the_same_pixels(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:, :10] = (255, 0, 0)
    image = Image.fromarray(rgb)
    image.save(tmp_path / "a.png")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    expected = images.colour_to_gray(rgb)  # red on black: the colour axis, stretched
    for source in (tmp_path / "a.png", str(tmp_path / "a.png"), buffer.getvalue(), image, rgb):
        assert np.array_equal(load(source), expected)


def test_transparency_is_flattened_onto_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert load(Image.fromarray(rgba, "RGBA")).min() == 255


@pytest.mark.parametrize("channels", [2, 4])
def test_an_array_with_alpha_is_flattened_onto_white_as_its_file_is(tmp_path, channels):
    """An RGBA array's alpha was dropped: a line drawn in alpha alone (black, transparent around) read as black."""
    pixels = np.zeros((20, 60, channels), np.uint8)
    pixels[5:15, 10:50, -1] = 255  # opaque black ink on a transparent ground
    Image.fromarray(pixels).save(tmp_path / "line.png")
    for colour in (False, True):
        assert np.array_equal(load(pixels, colour=colour), load(tmp_path / "line.png", colour=colour))
    assert load(pixels)[0, 0] == 255 and load(pixels)[10, 20] == 0


def test_float_arrays_in_unit_range_are_scaled():
    assert load(np.ones((3, 3), np.float32)).max() == 255


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_corrupt_file_names_the_file(tmp_path, content):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(PwocrError) as e:
        load(tmp_path / "bad.png")
    assert "bad.png" in str(e.value)


@pytest.mark.parametrize(
    ("content", "format"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xea`\x00\x00\xea`\x08\x02\x00\x00\x00\x0f\xb0\xe2\x15", "PNG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xea`", "PNG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WebP"),
    ],
)
def test_a_file_cut_short_after_its_signature_is_called_damaged_not_unsupported(tmp_path, content, format):
    (tmp_path / "cut.img").write_bytes(content)
    with pytest.raises(PwocrError, match=rf"cut.img: a damaged or truncated {format} \(its header cannot be read\)"):
        load(tmp_path / "cut.img")


def test_a_web_address_and_a_file_given_as_a_folder_say_what_they_are(tmp_path):
    with pytest.raises(PwocrError, match=r"^https://example.com/wifi.png: a web address: pwocr reads files on this"):
        load("https://example.com/wifi.png")
    (tmp_path / "labels.csv").write_text("filename,label\n")
    with pytest.raises(PwocrError, match=r"labels.csv: a file, not a folder$"):
        list_images(tmp_path / "labels.csv")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(PwocrError, match="not found"):
        load(tmp_path / "none.png")
    with pytest.raises(PwocrError, match="folder"):
        load(tmp_path)


def test_exif_orientation_is_applied(tmp_path):
    # A landscape line stored as a portrait image with EXIF "rotate 90 CW to view" (orientation 6).
    line = np.full((20, 60), 255, np.uint8)
    line[:, :10] = 0  # the dark end is on the left when viewed upright
    stored = Image.fromarray(np.rot90(line, 1).copy())  # 60 high, 20 wide: how the sensor saved it
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    gray = load(tmp_path / "phone.jpg")
    assert gray.shape == (20, 60)
    assert gray[:, :8].mean() < 60 < 200 < gray[:, 20:].mean()


def _png_with_exif_after_its_pixels(image: Image.Image, orientation: int) -> bytes:
    """A PNG whose ``eXIf`` chunk stands after ``IDAT``, where Pillow finds it only by decoding the pixels."""
    import struct
    import zlib

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()[len(b"Exif\0\0") :]
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    data = buffer.getvalue()
    return data[:-12] + chunk + data[-12:]  # before IEND


def test_a_png_s_orientation_after_its_pixels_is_applied_but_not_read_from_the_header():
    line = np.full((20, 60), 255, np.uint8)
    line[:, :10] = 0
    data = _png_with_exif_after_its_pixels(Image.fromarray(np.rot90(line, 1).copy()), 6)
    assert images.probe(data).orientation == 1  # the header alone: the pixels are not decoded to probe
    gray = load(data)
    assert gray.shape == (20, 60) and gray[:, :8].mean() < 60 < 200 < gray[:, 20:].mean()


def test_a_png_with_damaged_pixel_data_is_refused_not_read_as_blank(tmp_path):
    """Pillow's search for a late eXIf chunk decoded the pixels, and its decode error was swallowed."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 200), dtype=np.uint8)).save(tmp_path / "line.png")
    data = bytearray((tmp_path / "line.png").read_bytes())
    for i in range(100, len(data) - 20, 7):
        data[i] ^= 0x5A
    (tmp_path / "damaged.png").write_bytes(bytes(data))
    with pytest.raises(PwocrError, match=r"damaged.png: unreadable PNG image"):
        load(tmp_path / "damaged.png")


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = (np.arange(64, dtype=np.uint32)[None, :].repeat(8, 0) * 1024).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    gray = load(tmp_path / "deep.png")
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
    assert load(array).max() == top


def test_pixel_cap_refuses_before_decoding(tmp_path, monkeypatch):
    Image.new("L", (300, 200)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 50_000)
    with pytest.raises(PwocrError, match=r"big.png: 300x200 .* more than"):
        load(tmp_path / "big.png")


def test_list_images_skips_other_files(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "b.png")
    Image.new("L", (4, 4)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]


def test_coloured_text_keeps_its_contrast_where_luminance_loses_it():
    from pwocr.data.images import colour_to_gray

    # Red text on a green background of nearly the same luminance: invisible in plain gray.
    rgb = np.zeros((32, 96, 3), np.uint8)
    rgb[...] = (40, 120, 40)
    rgb[8:24, 10:86] = (200, 30, 60)
    luma = np.asarray(Image.fromarray(rgb).convert("L"))
    assert abs(int(luma[16, 50]) - int(luma[2, 2])) < 15
    gray = load(rgb)
    assert np.array_equal(gray, colour_to_gray(rgb))
    assert abs(int(gray[16, 50]) - int(gray[2, 2])) > 200
    # Brighter stays brighter: dark ink on white paper stays dark.
    paper = np.full((32, 96, 3), 235, np.uint8)
    paper[8:24, 10:86] = (20, 20, 90)
    gray = load(paper)
    assert gray[16, 50] < 30 and gray[2, 2] > 220


def test_gray_images_and_flat_colour_images_are_left_as_they_are(tmp_path):
    gray = np.tile(np.arange(64, 192, dtype=np.uint8), (16, 1))
    Image.fromarray(gray).save(tmp_path / "g.png")
    assert np.array_equal(load(tmp_path / "g.png"), gray)
    flat = np.full((8, 8, 3), (10, 200, 30), np.uint8)
    assert np.array_equal(load(flat), np.asarray(Image.fromarray(flat).convert("L")))


def test_probe_reads_the_header_only_and_turns_the_size_upright(tmp_path):
    stored = Image.new("L", (60, 20), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: upright it is 20 wide, 60 tall
    stored.save(tmp_path / "phone.jpg", exif=exif)
    info = images.probe(tmp_path / "phone.jpg")
    assert (info.width, info.height, info.format, info.orientation) == (20, 60, "JPEG", 6)
    assert images.probe(np.zeros((5, 7, 3), np.uint8)).width == 7


def test_probe_and_load_refuse_what_is_not_a_regular_file_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")  # opening it for reading would wait for a writer forever
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    expected = {
        "pipe.png": "FIFO",
        "dangling.png": "does not exist",
        "loop.png": "symlink loop",
        "folder.png": "folder",
        "empty.png": "empty",
    }
    for name, words in expected.items():
        for call in (images.probe, images.load):
            with pytest.raises(images.ImageError, match=words) as e:
                call(tmp_path / name)
            assert str(e.value).startswith(str(tmp_path / name)) and "\n" not in str(e.value)


@pytest.mark.parametrize("size", [(1, 65535), (50000, 1), (1, 5000)])
def test_slivers_are_refused_from_the_header(tmp_path, size):
    Image.new("L", size, 255).save(tmp_path / "sliver.png")
    with pytest.raises(images.ImageError, match="sliver") as e:
        images.probe(tmp_path / "sliver.png")
    assert e.value.problem == "degenerate"


def test_a_jpeg_header_of_1x65535_is_refused_not_a_zero_division(tmp_path):
    # Pillow cannot write it; patch a real JPEG's SOF0 frame size to height 65535, width 1.
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (65535).to_bytes(2, "big") + (1).to_bytes(2, "big")
    for call in (images.probe, lambda s: images.load(s, colour=True, max_side=3200)):
        with pytest.raises(PwocrError, match="1x65535 is a sliver"):
            call(images.NamedBytes("tall.jpg", bytes(data)))


def test_formats_outside_the_list_are_refused_by_content(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    with pytest.raises(images.ImageError, match="not an image pwocr reads") as e:
        images.load(tmp_path / "photo.png")
    assert e.value.problem == "unsupported"


def test_a_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    Image.new("RGB", (4000, 1000), (200, 30, 30)).save(tmp_path / "big.jpg", quality=80)
    rgb = images.load(tmp_path / "big.jpg", colour=True, max_side=1000)
    assert max(rgb.shape[:2]) <= 1500 and rgb.shape[2] == 3
    assert images.load(tmp_path / "big.jpg", colour=True).shape == (1000, 4000, 3)


def test_verify_refuses_a_file_cut_short_that_its_header_passes(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 200), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:-200])
    assert images.probe(path).width == 200  # the header alone is fine
    with pytest.raises(images.ImageError, match=r"cut\.png: corrupt image data") as error:
        images.probe(path, verify=True)
    assert error.value.problem == "corrupt"
