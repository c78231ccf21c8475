import io

import numpy as np
import pytest
import torch
from conftest import TINY_LABELS, draw_line

from pwocr.checkpoints import load_model
from pwocr.decoding.beam import Constraints
from pwocr.inference.onnx import onnx_session
from pwocr.inference.recognizer import Recognizer


def test_reads_path_bytes_pil_and_array_alike(tiny_checkpoint, tmp_path):
    image = draw_line(TINY_LABELS[1])
    image.save(tmp_path / "x.png")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    recognizer = Recognizer(tiny_checkpoint, backend="torch")
    texts = {recognizer.read(s).text for s in (tmp_path / "x.png", buffer.getvalue(), image, np.asarray(image))}
    assert texts == {TINY_LABELS[1]}


def test_onnx_backend_matches_torch(tiny_checkpoint):
    model = load_model(tiny_checkpoint)
    session = onnx_session(model)
    for width in (40, 97, 160):
        images = torch.randn(3, 1, 32, width)
        with torch.inference_mode():
            expected = model(images).numpy()
        got = session.run(None, {"images": images.numpy()})[0]
        assert np.allclose(got, expected, atol=1e-4)


def test_batch_reading_matches_single_reading(tiny_checkpoint):
    images = [draw_line(t) for t in TINY_LABELS]
    recognizer = Recognizer(tiny_checkpoint, backend="onnx", batch_size=4)
    batch = recognizer.read_batch(images)
    single = [recognizer.read(i) for i in images]
    assert [r.text for r in batch] == [r.text for r in single] == TINY_LABELS
    for a, b in zip(batch, single):
        assert a.confidence == pytest.approx(b.confidence, rel=1e-3)


def test_reading_structure_and_candidates(tiny_checkpoint):
    reading = Recognizer(tiny_checkpoint).read(draw_line("Zz9"), candidates=4)
    assert reading.text == "Zz9" == reading.candidates[0].text
    assert len({c.text for c in reading.candidates}) == len(reading.candidates) <= 4
    assert 0 < reading.confidence <= 1
    assert len(reading.chars) == 3
    assert reading.as_dict()["chars"][0]["char"] == "Z"


def test_constrained_reading_obeys_length(tiny_checkpoint):
    reading = Recognizer(tiny_checkpoint).read(draw_line("M#m"), candidates=3, constraints=Constraints.exact_length(2))
    assert reading.candidates and all(len(c.text) == 2 for c in reading.candidates)
