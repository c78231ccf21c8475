"""Whole photos: composed scenes with known lines and passwords, read end to end by the shipped model."""

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pwocr.decoding.constraints import Constraints
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Reading, Recognizer
from pwocr.layout import (
    PhotoReading,
    TextDetector,
    default_detector,
    draw_reading,
    load_photo,
    read_photo,
)
from pwocr.reader import looks_like_line, read_image
from pwocr.synth.fonts import fonts_for, load_font
from pwocr.synth.render import render_line
from pwocr.synth.scenes import SCENE_KINDS, compose_scene


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer("default", threads=1)


def scene(kind: str, seed: int, **kwargs):
    """A small (0.8 MP) scene: big enough for every effect, small enough for fast tests."""
    kwargs.setdefault("size", (1024, 768))
    return compose_scene(np.random.default_rng(seed), fonts_for("eval"), kind=kind, **kwargs)


def polygon_iou(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> float:
    masks = []
    for points in (a, b):
        mask = np.zeros(shape, np.uint8)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
        masks.append(mask.astype(bool))
    return float((masks[0] & masks[1]).sum() / max((masks[0] | masks[1]).sum(), 1))


def test_scenes_are_reproducible_and_carry_their_truth():
    a, b = scene("router_sticker", 3), scene("router_sticker", 3)
    assert np.array_equal(a.image, b.image) and a.password == b.password
    assert sum(line.role == "password" for line in a.lines) == 1
    assert any(a.password in line.text for line in a.lines if line.role == "password")
    h, w = a.image.shape[:2]
    for line in a.lines:  # every line lies inside the photo
        assert (line.points >= -1).all() and (line.points[:, 0] <= w + 1).all() and (line.points[:, 1] <= h + 1).all()


@pytest.mark.parametrize(("kind", "seed"), [("wifi_card", 1), ("terminal", 2), ("phone_settings", 4)])
def test_detector_finds_every_line(kind, seed):
    s = scene(kind, seed)
    gray = cv2.cvtColor(s.image, cv2.COLOR_RGB2GRAY)
    boxes = default_detector()(gray)
    for line in s.lines:
        # A label and its value in one row may come as one box or two: the truth must be covered
        # by one box (IoU) or lie inside the union of boxes.
        best = max((polygon_iou(line.points, b.points, gray.shape) for b in boxes), default=0.0)
        assert best > 0.5 or _covered(line.points, boxes, gray.shape) > 0.85, (line.text, best)


def _covered(points, boxes, shape) -> float:
    truth = np.zeros(shape, np.uint8)
    cv2.fillPoly(truth, [np.round(points).astype(np.int32)], 1)
    found = np.zeros(shape, np.uint8)
    for b in boxes:
        cv2.fillPoly(found, [np.round(b.points).astype(np.int32)], 1)
    return float((truth & found).sum() / max(truth.sum(), 1))


@pytest.mark.parametrize(("kind", "seed"), [("login_page", 5), ("router_sticker", 6), ("cafe_sign", 7)])
def test_picks_the_password_with_its_label_stripped(recognizer, kind, seed):
    s = scene(kind, seed)
    reading = read_photo(recognizer, s.image, candidates=3)
    assert reading.password is not None
    assert reading.password.reading.text == s.password, reading.password.why
    d = reading.as_dict()
    assert set(d) == {"image", "turned", "lines", "password", "pairs"}
    assert set(d["password"]) == {"text", "confidence", "candidates", "chars", "line", "why", "network"}
    assert d["pairs"][0] == d["password"]
    assert all(set(line) == {"box", "text", "words", "confidence", "candidates", "chars"} for line in d["lines"])
    assert len(d["password"]["candidates"]) <= 3 and d["password"]["candidates"][0]["text"] == s.password
    # The value is the end of its line: a label before it on the same line is cut off.
    assert reading.lines[reading.password.line].reading.text.endswith(s.password)


@pytest.mark.parametrize("angle", [-30, 30])
def test_rotated_photo_is_straightened(recognizer, angle):
    s = scene("wifi_card", 11, max_angle=0.0)
    h, w = s.image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 0.7)
    turned = cv2.warpAffine(s.image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    reading = read_photo(recognizer, turned)
    assert reading.password is not None and reading.password.reading.text == s.password
    # Straightened lines are still in reading order: the title comes first, the password after it.
    assert reading.password.line > 0


def test_exif_orientation_is_honoured(recognizer, tmp_path):
    s = scene("terminal", 12)
    upright = Image.fromarray(s.image)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # the sensor's orientation
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "sideways.jpg"
    stored.save(path, exif=exif, quality=95)
    reading = read_photo(recognizer, path)
    assert reading.size == upright.size
    assert reading.password is not None and reading.password.reading.text == s.password


def test_large_jpeg_is_decoded_small(tmp_path):
    big = cv2.resize(scene("wifi_card", 13).image, (4800, 3600), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=85)
    gray = load_photo(path)
    assert max(gray.shape) <= 3200 * 1.5 and gray.shape[1] > gray.shape[0]


def test_line_or_photo(tmp_path):
    crop = render_line("Xq7!mZ2#pL", np.random.default_rng(0), fonts_for("eval"))
    assert looks_like_line(crop)
    assert not looks_like_line(scene("phone_settings", 14).image)
    assert not looks_like_line(scene("router_sticker", 15).image)
    # A tight crop of one line, nearly square: the detector's one box fills it.
    assert looks_like_line(cv2.copyMakeBorder(crop, 4, 4, 4, 4, cv2.BORDER_REPLICATE))


def test_draw_writes_a_png(recognizer, tmp_path):
    s = scene("printout", 16)
    reading = read_photo(recognizer, s.image)
    out = draw_reading(reading, s.image, tmp_path / "drawn.png")
    with Image.open(out) as drawn:
        assert drawn.format == "PNG" and drawn.size == reading.size
        pixels = np.asarray(drawn.convert("RGB")).reshape(-1, 3)
    assert (np.abs(pixels[:, 1].astype(int) - pixels[:, 0]) > 100).any()  # the green box of the pick is there
    with pytest.raises(PwocrError, match=r"drawn\.gif"):
        draw_reading(reading, s.image, tmp_path / "drawn.gif")


def test_constraints_apply_to_the_password_only(recognizer):
    s = scene("router_sticker", 6)
    reading = read_photo(recognizer, s.image, constraints=Constraints.exact_length(len(s.password)))
    assert reading.password.reading.text == s.password
    assert any(len(line.reading.text) != len(s.password) for line in reading.lines)  # labels read freely


def test_bad_input_names_the_file(recognizer, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    with pytest.raises(PwocrError, match=r"notes\.jpg"):
        read_photo(recognizer, bad)
    with pytest.raises(PwocrError, match=r"missing\.png: file not found"):
        read_photo(recognizer, tmp_path / "missing.png")


def test_blank_photo_has_no_lines_and_no_password(recognizer):
    reading = read_photo(recognizer, np.full((600, 800, 3), 200, np.uint8))
    assert reading.lines == () and reading.password is None
    assert reading.as_dict()["password"] is None


def test_bytes_and_every_kind_compose():
    buffer = io.BytesIO()
    image = scene("cafe_sign", 17).image
    Image.fromarray(image).save(buffer, "PNG")
    assert np.array_equal(load_photo(buffer.getvalue()), image)  # colour kept: each crop gets its own gray
    rng = np.random.default_rng(18)
    for kind in SCENE_KINDS:
        assert compose_scene(rng, fonts_for("eval"), kind=kind, size=(640, 480)).image.shape == (480, 640, 3)
    rng = np.random.default_rng(18)  # the conditions' own draws, whatever kinds were composed above
    small = compose_scene(rng, fonts_for("eval"), kind="wifi_card", condition="small")
    assert max(small.image.shape) < 1000
    heights = [np.linalg.norm(line.points[3] - line.points[0]) for line in small.lines]
    assert 6 < np.median(heights) < 20  # the text about 8 to 14 pixels tall, as in a low-resolution photo
    glared = compose_scene(rng, fonts_for("eval"), kind="label_after", condition="glare")
    assert glared.image.max() == 255
    distant = compose_scene(rng, fonts_for("eval"), kind="wifi_card", size=(1600, 1200), condition="distant")
    assert distant.image.shape == (1200, 1600, 3)  # a full-size photo, its surface small in it
    spans = np.ptp(np.concatenate([line.points for line in distant.lines]), axis=0)
    assert spans[0] < 0.45 * 1600 and spans[1] < 0.45 * 1200


def test_several_networks_scene_lists_every_password():
    s = compose_scene(np.random.default_rng(3), fonts_for("eval"), kind="several_networks")
    assert len(s.others) >= 1 and s.password not in s.others
    assert sum(line.role == "other_password" for line in s.lines) == len(s.others)


def test_read_image_chooses_the_layout(recognizer):
    crop = render_line("Xq7!mZ2#pL", np.random.default_rng(1), fonts_for("eval"))
    line = read_image(recognizer, crop)
    assert isinstance(line, Reading) and line.text == recognizer.read(crop).text
    s = scene("wifi_card", 19)
    photo = read_image(recognizer, s.image)
    assert isinstance(photo, PhotoReading) and photo.password.reading.text == s.password
    assert isinstance(read_image(recognizer, crop, layout="photo"), PhotoReading)
    with pytest.raises(PwocrError, match="layout 'page'"):
        read_image(recognizer, crop, layout="page")


JAPANESE_FONT = Path("/usr/share/fonts/truetype/vlgothic/VL-PGothic-Regular.ttf")


@pytest.mark.skipif(not JAPANESE_FONT.is_file(), reason="needs a system font with kana (VL Gothic)")
def test_label_in_a_script_pwocr_cannot_read(recognizer):
    """``パスワード`` above the value, and before it on the same line: PP-OCRv6 reads the label."""
    kana = ImageFont.truetype(str(JAPANESE_FONT), 40)
    latin = load_font(fonts_for("eval")[0].path, 40)
    for same_line in (False, True):
        image = Image.new("RGB", (900, 480), (250, 250, 245))
        draw = ImageDraw.Draw(image)
        draw.text((60, 60), "Wi-Fi", font=latin, fill=(20, 20, 20))
        draw.text((60, 170), "CafeLuna-Guest", font=latin, fill=(20, 20, 20))
        draw.text((60, 280), "パスワード:" if same_line else "パスワード", font=kana, fill=(20, 20, 20))
        at = (60 + draw.textlength("パスワード: ", font=kana), 280) if same_line else (60, 390)
        draw.text(at, "Xq7!mZ2#pL", font=latin, fill=(20, 20, 20))
        reading = read_photo(recognizer, np.asarray(image))
        assert reading.password.reading.text == "Xq7!mZ2#pL"
        assert "パスワード" in reading.password.why


def test_a_detector_without_an_arena_gives_its_memory_back_after_a_large_photo():
    # onnxruntime's arena keeps a 1280-pixel photo's feature maps (over 300 MB): faster from one
    # photo to the next, which the default detector wants, but a server would hold them for good.
    assert default_detector().session.get_session_options().enable_cpu_mem_arena is True
    assert TextDetector(threads=1, arena=False).session.get_session_options().enable_cpu_mem_arena is False


@pytest.mark.parametrize(("kind", "seed"), [("pair_line", 21), ("label_after", 21), ("several_networks", 20)])
def test_pairs_on_one_line_labels_after_values_and_several_networks(recognizer, kind, seed):
    s = scene(kind, seed)
    reading = read_photo(recognizer, s.image, candidates=3)
    assert reading.password.reading.text in {s.password, *s.others}, reading.password.why
    assert {p.reading.text for p in reading.pairs} >= {s.password, *s.others}
    assert reading.pairs[0] == reading.password and all(p.network for p in reading.pairs)
    # Candidates are distinct and plausible: no beam deletion offered at 0.0%.
    texts = [c.text for c in reading.password.reading.candidates]
    assert len(set(texts)) == len(texts)


@pytest.fixture(scope="module")
def recognizer_without_features(tmp_path_factory) -> Recognizer:
    """The shipped model as a graph exported before its ``features`` output: PP-OCRv6 reads the crops again."""
    onnx = pytest.importorskip("onnx")
    from pwocr.checkpoints import resolve_checkpoint

    graph = onnx.load(str(resolve_checkpoint("default").with_suffix(".onnx")))
    del graph.graph.output[1:]
    path = tmp_path_factory.mktemp("graph") / "no-features.onnx"
    onnx.save(graph, str(path))
    return Recognizer(path, threads=1)


@pytest.mark.parametrize("features", [True, False], ids=["ctc-layer-on-features", "whole-recognizer"])
def test_every_line_reads_as_words_and_the_password_as_the_password_model_reads_it(
    recognizer, recognizer_without_features, features
):
    """``Bienvenidos a la cafetería`` keeps its spaces and its í (PP-OCRv6); the password keeps pwocr's reading.

    PP-OCRv6's words come from its CTC layer over pwocr's own features, or, for a graph without
    them, from PP-OCRv6's whole recognizer over the line: the same words either way."""
    recognizer = recognizer if features else recognizer_without_features
    font = load_font(fonts_for("eval")[0].path, 44)
    image = Image.new("RGB", (1000, 520), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), "Bienvenidos a la cafetería", font=font, fill=(20, 20, 20))
    draw.text((60, 200), "Contraseña", font=font, fill=(20, 20, 20))
    draw.text((60, 320), "Xq7!mZ2#pL", font=font, fill=(20, 20, 20))
    reading = read_photo(recognizer, np.asarray(image))
    assert reading.password.reading.text == "Xq7!mZ2#pL"
    title, label, value = reading.lines[0], reading.lines[1], reading.lines[reading.password.line]
    assert title.words == "Bienvenidos a la cafetería" and label.words == "Contraseña", (title.words, label.words)
    assert " " not in title.reading.text and "í" not in title.reading.text  # what the password model spells
    assert value.words == value.reading.text == "Xq7!mZ2#pL"  # never PP-OCRv6's reading of a password
    assert title.as_dict()["words"] == title.words and title.as_dict()["text"] == title.reading.text
    # Without PP-OCRv6's recognizer, the words are pwocr's reading with its word gaps as spaces.
    plain = read_photo(recognizer, np.asarray(image), label_reader=None)
    assert plain.lines[0].words.count(" ") == 3 and plain.lines[0].words.replace(" ", "") == plain.lines[0].reading.text


@pytest.mark.skipif(not JAPANESE_FONT.is_file(), reason="needs a system font with kana (VL Gothic)")
@pytest.mark.parametrize("seed", [24, 27])
def test_a_sign_in_a_script_pwocr_cannot_spell_with_its_labels_after_the_values(recognizer, seed):
    """``NAME → ネットワーク名``, ``password → パスワード``: PP-OCRv6 finds the labels, pwocr reads the value."""
    s = scene("foreign_sign", seed)
    assert any(line.role == "password" and "→" in line.text for line in s.lines)
    reading = read_photo(recognizer, s.image)
    assert reading.password.reading.text == s.password, reading.password.why
    assert "after it" in reading.password.why
    assert reading.lines[0].words == s.lines[0].text  # the title, in its own script


def test_a_fine_tune_s_format_prior_weighs_the_picked_value_and_leaves_the_lines_as_they_look(recognizer):
    """A photo's lines (their words, ink and the value's cut) stay aligned to what the glyphs read;
    the prior chooses among the picked value's candidates only."""
    from pwocr.decoding.formats import FormatPrior, shape_of

    photo = scene("wifi_card", 2)
    plain = read_photo(recognizer, photo.image, candidates=3)
    with_prior = Recognizer("default", threads=1)
    # A prior for the shapes of the lines' runners-up, weighted to move any line it were applied to.
    rivals = {shape_of(line.reading.candidates[1].text) for line in plain.lines if len(line.reading.candidates) > 1}
    rivals -= {shape_of(line.reading.text) for line in plain.lines}
    assert rivals
    with_prior.prior = FormatPrior(tuple((shape, 0.5) for shape in sorted(rivals)), 1e-9, 3.0)
    assert [line.reading.text for line in read_photo(with_prior, photo.image, candidates=3).lines] == [
        line.reading.text for line in plain.lines
    ]
    # One for the password's own shape: the value read through it is the same password, surer.
    with_prior.prior = FormatPrior(((shape_of(photo.password), 0.9),), 1e-6, 1.0)
    value = read_photo(with_prior, photo.image).password
    assert value is not None and plain.password is not None
    assert value.reading.text == plain.password.reading.text == photo.password
    assert value.reading.confidence >= plain.password.reading.confidence
