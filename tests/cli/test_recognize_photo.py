"""``pwocr recognize`` on whole photos: the lines, the password picked, --layout, --draw, every format."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pwocr.cli.main import main
from pwocr.synth.scenes import compose_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A composed phone-settings screen whose password line sits below its label."""
    folder = tmp_path_factory.mktemp("scene")
    composed = compose_scene(np.random.default_rng(3), kind="phone_settings")
    Image.fromarray(np.asarray(composed.image)).save(folder / "settings.png")
    return folder / "settings.png", composed


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_whole_photo_gives_its_lines_and_the_password(capsys, scene, tmp_path):
    path, composed = scene
    drawn = tmp_path / "drawn.png"
    code, out, err = run(capsys, "recognize", path, "--format", "jsonl", "--draw", drawn, "--candidates", "2")
    assert code == 0
    obj = json.loads(out)
    assert set(obj) == {"image", "turned", "lines", "password", "pairs"}
    assert obj["pairs"][0] == obj["password"]
    assert obj["password"]["text"] == composed.password
    assert obj["lines"][obj["password"]["line"]]["text"] == composed.password
    assert "Password" in obj["password"]["why"] or "label" in obj["password"]["why"]
    assert len(obj["lines"]) >= len(composed.lines) - 1
    assert all(len(line["box"]) == 4 for line in obj["lines"])
    assert Image.open(drawn).size == Image.open(path).size and f"drew {drawn}" in err


def test_quiet_csv_and_text_print_the_password_first(capsys, scene):
    path, composed = scene
    code, out, _ = run(capsys, "recognize", path, "--layout", "photo", "-q")
    assert code == 0 and out == composed.password + "\n"
    code, out, _ = run(capsys, "recognize", path, "--format", "csv")
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["password"] == composed.password and row["status"] == "ok"
    code, out, _ = run(capsys, "recognize", path)
    first, *rest = out.splitlines()
    assert first.startswith(f"{path}: {composed.password}  (")
    assert any(line.endswith("<- the password") and composed.password in line for line in rest)


def test_layout_line_reads_the_image_as_one_line(capsys, scene):
    path, _ = scene
    code, out, _ = run(capsys, "recognize", path, "--layout", "line", "--format", "jsonl")
    assert code == 0 and "lines" not in json.loads(out)  # the whole picture squeezed into one line


def test_synth_scenes_writes_photos_and_their_truth(capsys, tmp_path):
    assert main(["synth", "--scenes", "--count", "2", "--out", str(tmp_path / "s"), "--seed", "1"]) == 0
    truth = json.loads((tmp_path / "s" / "scenes.json").read_text())
    assert sorted(truth) == ["scene0000.jpg", "scene0001.jpg"]
    for name, scene in truth.items():
        assert Image.open(tmp_path / "s" / name).format == "JPEG"
        assert any(line["role"] == "password" and scene["password"] in line["text"] for line in scene["lines"])
        assert all(np.array(line["points"]).shape == (4, 2) for line in scene["lines"])
        assert scene["condition"] in ("plain", "small", "glare") and isinstance(scene["others"], list)
    rows = list(csv.DictReader(open(tmp_path / "s" / "labels.csv")))
    assert [r["label"] for r in rows] == [truth[r["filename"]]["password"] for r in rows]


def test_synth_scenes_draws_in_the_fonts_of_a_folder(tmp_path):
    """``--fonts`` was ignored with ``--scenes``: two folders of one font each gave the same photo."""
    import shutil

    import pwocr

    photos = []
    for font in ("DejaVuSans.ttf", "LiberationMono-Regular.ttf"):
        folder = tmp_path / Path(font).stem
        folder.mkdir()
        shutil.copy(Path(pwocr.__file__).parent / "fonts" / font, folder)
        out = tmp_path / f"scenes-{font}"
        assert (
            main(["synth", "--scenes", "--count", "1", "--out", str(out), "--seed", "3", "--fonts", str(folder)]) == 0
        )
        photos.append(np.asarray(Image.open(out / "scene0000.jpg")))
    assert not np.array_equal(*photos)


def test_a_photo_without_text_exits_1_and_says_so(capsys, tmp_path):
    Image.new("RGB", (640, 480), (200, 210, 220)).save(tmp_path / "wall.png")
    code, out, err = run(capsys, "recognize", tmp_path / "wall.png", "--layout", "photo")
    assert code == 1
    assert "no password found among 0 lines" in err and "no password found" in out


def test_read_images_keeps_input_order_and_reads_crops_without_the_detector(scene, tmp_path):
    from conftest import draw_line

    from pwocr.inference.recognizer import Reading, Recognizer, Skipped
    from pwocr.layout import PhotoReading
    from pwocr.reader import read_images

    class NoDetector:
        def __call__(self, gray):
            raise AssertionError("a crop went to the detector")

    path, composed = scene
    draw_line("a1!").save(tmp_path / "crop.png")  # 28 px tall, not 4x wider than tall: a line by its height
    (tmp_path / "junk.png").write_bytes(b"junk")
    recognizer = Recognizer("default", threads=1)
    crops = [tmp_path / "crop.png", tmp_path / "junk.png", tmp_path / "crop.png"]
    results = list(read_images(recognizer, crops, detector=NoDetector()))
    assert [type(r) for r in results] == [Reading, Skipped, Reading]
    results = list(read_images(recognizer, [tmp_path / "crop.png", path, tmp_path / "junk.png"]))
    assert [type(r) for r in results] == [Reading, PhotoReading, Skipped]
    assert results[1].password.reading.text == composed.password


def test_the_text_listing_shows_every_network_and_numbers_lines_from_0():
    from pwocr.cli.output import format_photo
    from pwocr.decoding.beam import Candidate
    from pwocr.inference.recognizer import Reading
    from pwocr.layout import PhotoLine, PhotoPassword, PhotoReading, TextBox

    def reading(text: str) -> Reading:
        return Reading("sign.jpg", text, text, 0.9, (Candidate(text, 0.9),), ())

    box = TextBox(np.float32([[0, 0], [9, 0], [9, 9], [0, 9]]), 1.0)
    texts = ["FREEWIFI", "1F:Luna/k3!Qz8Lp", "2F:Sol/9Xw#e2Rt"]
    first = PhotoPassword(reading("k3!Qz8Lp"), 1, "after 'Luna'", None, "Luna")
    second = PhotoPassword(reading("9Xw#e2Rt"), 2, "after 'Sol'", None, "Sol")
    photo = PhotoReading("sign.jpg", (9, 9), tuple(PhotoLine(box, reading(t)) for t in texts), first, (first, second))
    out = format_photo(photo)
    assert "picked line 1" in out and "also line 2 (Sol): 9Xw#e2Rt" in out
    assert "[0] FREEWIFI" in out and "[2] 2F:Sol/9Xw#e2Rt" in out and "another network's password" in out


def test_an_upside_down_photo_reads_upright_and_says_it_was_turned(capsys, scene, tmp_path):
    path, composed = scene
    Image.open(path).rotate(180).save(tmp_path / "upside-down.png")
    code, out, _ = run(capsys, "recognize", tmp_path / "upside-down.png", "--format", "jsonl")
    assert code == 0
    obj = json.loads(out)
    assert obj["turned"] == 180 and obj["password"]["text"] == composed.password
    code, out, _ = run(capsys, "recognize", tmp_path / "upside-down.png")
    assert "read turned 180 degrees counterclockwise" in out


def test_a_drawing_is_never_written_over_a_photo_read(capsys, scene, tmp_path):
    import shutil

    path = tmp_path / "settings.png"
    shutil.copy(scene[0], path)
    before = path.read_bytes()
    code, _, err = run(capsys, "recognize", path, "--draw", path, "-q")
    assert code == 2 and path.read_bytes() == before
    assert f"{path}: one of the images read; not drawn over" in err
