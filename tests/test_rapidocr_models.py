"""The PP-OCRv6 files pwocr ships: derived from rapidocr 3.10's, their large weights stored as float16."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pytest

from pwocr.errors import PwocrError
from pwocr.rapidocr_models import (
    ANGLE_FILE,
    DETECTOR_FILE,
    FP16_MIN_VALUES,
    HEAD_FILE,
    RECOGNIZER_FILE,
    ctc_layer,
    derive_shipped_file,
    installed_rapidocr_file,
    rapidocr_model_path,
    store_weights_as_fp16,
)

onnx = pytest.importorskip("onnx")
needs_rapidocr = pytest.mark.skipif(find_spec("rapidocr") is None, reason="rapidocr (pwocr[bench]) is not installed")


def linear_model(rows: int, columns: int) -> onnx.ModelProto:
    """``y = x @ W + b`` with random weights: W large enough to be stored as float16, b too small."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(size=(rows, columns)).astype(np.float32), "W")
    bias = numpy_helper.from_array(rng.normal(size=columns).astype(np.float32) * 1e-6, "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, rows])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, columns])],
        [weight, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_fp16_storage_halves_the_weights_and_computes_in_float32():
    import onnxruntime as ort

    model = linear_model(64, FP16_MIN_VALUES // 16)
    converted = store_weights_as_fp16(model)
    onnx.checker.check_model(converted)
    stored = {t.name: t.data_type for t in converted.graph.initializer}
    assert stored == {"W.fp16": onnx.TensorProto.FLOAT16, "b": onnx.TensorProto.FLOAT}
    assert len(converted.SerializeToString()) < 0.55 * len(model.SerializeToString())

    x = np.random.default_rng(1).normal(size=(3, 64)).astype(np.float32)
    expected, got = (
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        for m in (model, converted)
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=0.02)  # |x @ (W - fp16(W))| over 64 terms
    assert store_weights_as_fp16(model).SerializeToString() == converted.SerializeToString()


def test_a_file_that_is_not_rapidocrs_is_refused(tmp_path):
    other = tmp_path / RECOGNIZER_FILE
    other.write_bytes(b"another model")
    with pytest.raises(PwocrError, match=r"not rapidocr 3\.10's PP-OCRv6_rec_small\.onnx \(its SHA-256 differs\)$"):
        derive_shipped_file(RECOGNIZER_FILE, other)


@needs_rapidocr
@pytest.mark.parametrize("name", [DETECTOR_FILE, RECOGNIZER_FILE])
def test_the_shipped_files_are_derived_from_rapidocr_3_10s(name):
    """The same model, compared as parsed: another protobuf release may serialise it in other bytes."""
    derived = derive_shipped_file(name, installed_rapidocr_file(name))
    assert onnx.load_from_string(derived) == onnx.load(str(rapidocr_model_path(name)))


@needs_rapidocr
def test_the_text_angle_classifier_ships_as_rapidocr_bundles_it():
    original = installed_rapidocr_file(ANGLE_FILE).read_bytes()
    assert derive_shipped_file(ANGLE_FILE, installed_rapidocr_file(ANGLE_FILE)) == original
    assert rapidocr_model_path(ANGLE_FILE).read_bytes() == original


@needs_rapidocr
def test_the_shipped_recognizer_reads_rendered_lines_as_rapidocrs():
    """bench/ppocrv6_fp16.py measured at most 0.064 on 50 such lines and 50 real words, no reading changed."""
    from pwocr.layout.labels import LabelReader
    from pwocr.synth.render import render_set

    original = LabelReader(installed_rapidocr_file(RECOGNIZER_FILE), threads=1)
    shipped = LabelReader(rapidocr_model_path(RECOGNIZER_FILE), threads=1)
    for line, _ in render_set(8, seed=20261125, split="eval"):
        assert np.abs(shipped.probabilities(line) - original.probabilities(line)).max() < 0.1
        assert shipped(line) == original(line)


@needs_rapidocr
def test_the_shipped_detector_finds_the_lines_rapidocrs_finds():
    """bench/ppocrv6_fp16.py measured 40 of 40 composed photos with as many boxes, corners within 1.4 px."""
    from pwocr.layout.detector import TextDetector
    from pwocr.layout.photo import luminance
    from pwocr.synth.scenes import compose_scenes

    original = TextDetector(installed_rapidocr_file(DETECTOR_FILE), threads=1)
    shipped = TextDetector(rapidocr_model_path(DETECTOR_FILE), threads=1)
    for scene in compose_scenes(3, seed=20261125, split="eval"):
        gray = luminance(scene.image)
        theirs, ours = original(gray), shipped(gray)
        assert len(theirs) == len(ours) > 0
        for box in theirs:  # each of rapidocr's boxes has one of ours within 2 px at every corner
            assert min(float(np.abs(box.points - other.points).max()) for other in ours) < 2


def test_the_ctc_layer_is_cut_from_the_shipped_recognizer_and_computes_its_last_layer():
    """Over the features the whole recognizer computes, the cut layer gives the recognizer's own scores."""
    import onnxruntime as ort
    from onnx import helper

    from pwocr.layout.labels import LabelReader

    recognizer = onnx.load(str(rapidocr_model_path(RECOGNIZER_FILE)))
    head = onnx.load(str(rapidocr_model_path(HEAD_FILE)))
    assert ctc_layer(recognizer) == head
    assert {n.op_type for n in head.graph.node} == {"Cast", "MatMul", "Add"}
    features = next(n for n in reversed(recognizer.graph.node) if n.op_type == "MatMul").input[0]
    recognizer.graph.output.append(helper.make_tensor_value_info(features, onnx.TensorProto.FLOAT, None))
    whole = ort.InferenceSession(recognizer.SerializeToString(), providers=["CPUExecutionProvider"])
    line = np.random.default_rng(0).uniform(-1, 1, (1, 3, 48, 160)).astype(np.float32)
    probabilities, frames = whole.run(None, {whole.get_inputs()[0].name: line})
    reader = LabelReader(threads=1)
    logits = reader.head.run(None, {"features": frames[0]})[0]
    softmax = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(-1, keepdims=True), probabilities[0], atol=5e-4)
    assert reader.from_features(frames[0]) == reader.decode(probabilities[0])
    assert reader.classes[1:-1] == next(p.value for p in head.metadata_props if p.key == "character").splitlines()
