"""The Python API refuses what it cannot read in one clear line, instead of a deep traceback or a silent ''."""

import io
import subprocess
import sys

import pytest
from conftest import draw_line

import pwocr
from pwocr import Constraints, PwocrError, Recognizer


@pytest.fixture(scope="module")
def recognizer(tiny_checkpoint):
    return Recognizer(tiny_checkpoint)


@pytest.fixture
def line(tmp_path):
    draw_line("Zz9").save(tmp_path / "line.png")
    return tmp_path / "line.png"


@pytest.mark.parametrize("method", ["read_batch", "read_fused"])
def test_one_path_given_for_many_images_is_a_type_error_not_one_reading_per_character(recognizer, line, method):
    with pytest.raises(TypeError, match=f"{method} takes a list of images, not one str; read one with read"):
        getattr(recognizer, method)(str(line))


def test_read_images_given_one_path_is_a_type_error(recognizer, line):
    with pytest.raises(TypeError, match="read_images takes a list of images"):
        next(pwocr.read_images(recognizer, line))


def test_a_file_object_is_refused_with_the_way_to_pass_it(recognizer, line):
    with pytest.raises(TypeError, match=r"not BytesIO \(pass its bytes: \.read\(\) or \.getvalue\(\)\)"):
        recognizer.read(io.BytesIO(line.read_bytes()))
    assert recognizer.read(io.BytesIO(line.read_bytes()).getvalue()).text == "Zz9"


@pytest.mark.parametrize("candidates", [0, 2.5, "3", None, True, 51, 10**6])
def test_candidates_outside_the_cli_s_bounds_are_one_line(recognizer, line, candidates):
    with pytest.raises(PwocrError, match=r"candidates must be a whole number from 1 to 50, got "):
        recognizer.read(line, candidates=candidates)
    with pytest.raises(PwocrError, match=r"candidates must be a whole number"):
        pwocr.read_image(recognizer, line, candidates=candidates)


def test_numpy_integers_are_whole_numbers(recognizer, line):
    import numpy as np

    reading = recognizer.read(line, candidates=np.int64(3), constraints=Constraints(min_length=np.int32(2)))
    assert reading.text == "Zz9" and len(reading.candidates) <= 3


def test_constraints_of_another_type_or_outside_the_alphabet_are_refused(recognizer, line):
    with pytest.raises(TypeError, match=r"constraints must be a pwocr\.Constraints, not dict"):
        recognizer.read(line, constraints={"allowed": "0123456789"})
    with pytest.raises(PwocrError, match="constraints: none of its characters are in the model's alphabet"):
        recognizer.read(line, constraints=Constraints(allowed="€"))


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"allowed": ""}, "allowed must be a non-empty string"),
        ({"allowed": "digits"}, "is a charset's name: pass resolve_charset('digits')"),
        ({"min_length": -2}, "min_length must be a whole number of at least 0"),
        ({"max_length": 0}, "max_length must be a whole number of at least 1"),
        ({"max_length": 2.5}, "max_length must be a whole number"),
        ({"min_length": 5, "max_length": 3}, "min_length 5 is above max_length 3"),
    ],
)
def test_constraints_that_would_read_nothing_are_refused_when_made(kwargs, said):
    with pytest.raises(PwocrError, match=said.replace("(", r"\(").replace(")", r"\)")):
        Constraints(**kwargs)
    assert Constraints(allowed=pwocr.resolve_charset("digits"), min_length=3, max_length=8).active


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"threads": 0}, "threads must be a whole number from 1 to 256, got 0"),
        ({"threads": 10**6}, "threads must be a whole number from 1 to 256"),
        ({"batch_size": "8"}, "batch_size must be a whole number of at least 1, got '8'"),
        ({"device": "gpu", "backend": "torch"}, "device 'gpu': expected cpu, cuda or cuda:N"),
    ],
)
def test_recognizer_settings_out_of_range_are_one_line(tiny_checkpoint, kwargs, said):
    with pytest.raises(PwocrError, match=said):
        Recognizer(tiny_checkpoint, **kwargs)


def test_the_library_prints_nothing_when_it_skips_a_file(tiny_checkpoint, tmp_path, line):
    """Python's last-resort handler wrote pwocr's warnings to stderr in an application without logging set up."""
    (tmp_path / "broken.png").write_bytes(b"not an image")
    script = (
        "import sys; from pwocr import Recognizer\n"
        f"readings = Recognizer({str(tiny_checkpoint)!r}).read_batch({[str(line), str(tmp_path / 'broken.png')]!r},"
        " skip_errors=True)\n"
        "print(len(readings))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "1\n" and done.stderr == "", done.stderr
