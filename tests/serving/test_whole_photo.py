"""A whole photo over HTTP: the same structure as ``recognize --json`` and the Python API."""

import io

import numpy as np
import pytest
import requests
from live_server import running
from PIL import Image

from pwocr.inference.recognizer import Recognizer
from pwocr.reader import read_image
from pwocr.serving.app import create_app
from pwocr.synth.scenes import compose_scene


@pytest.fixture(scope="module")
def photo():
    composed = compose_scene(np.random.default_rng(3), kind="phone_settings")
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(composed.image)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue(), composed.password


def test_the_server_reads_a_whole_photo_as_the_library_does(photo):
    data, password = photo
    recognizer = Recognizer("default", threads=1)
    with running(create_app(recognizer=recognizer)) as url:
        body = requests.post(f"{url}/v1/read", files={"file": ("card.jpg", data)}, timeout=120).json()
        as_line = requests.post(f"{url}/v1/read?layout=line", data=data, timeout=120).json()
    assert body["password"]["text"] == password
    assert body["lines"][body["password"]["line"]]["text"] == password and body["image"] == "card.jpg"
    expected = read_image(recognizer, data, "auto").as_dict()
    assert body["lines"] == expected["lines"] and body["password"] == expected["password"]
    assert "lines" not in as_line and "text" in as_line  # layout=line: the old single-line answer
