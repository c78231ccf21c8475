import numpy as np
import pytest
import torch

from pwocr.model.lcnet import LCNET_HEIGHT, LCNetFeatures
from pwocr.model.pretrained import load_pretrained_features, rapidocr_rec_path

onnx = pytest.importorskip("onnx")


def test_pretrained_conv_stack_reproduces_ppocr_backbone_on_gray_lines():
    """The copied weights give PP-OCRv6 small's own backbone features (its graph cut at the final pool)."""
    import onnxruntime as ort
    from onnx import helper

    graph = onnx.load(str(rapidocr_rec_path()))
    pool = next(n for n in graph.graph.node if n.op_type == "AveragePool")
    graph.graph.output.append(helper.make_tensor_value_info(pool.output[0], onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    features = LCNetFeatures(in_channels=1).eval()
    load_pretrained_features(features)
    for width in (96, 161, 320):
        gray = np.random.default_rng(width).uniform(-1, 1, (2, 1, LCNET_HEIGHT, width)).astype(np.float32)
        (expected,) = session.run([pool.output[0]], {"x": np.repeat(gray, 3, axis=1)})
        with torch.inference_mode():
            got = features(torch.from_numpy(gray)).numpy()
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-3


def test_freezing_blocks_stops_their_gradients():
    from pwocr.alphabet import PRINTABLE_94
    from pwocr.model.crnn import CRNN, ModelConfig
    from pwocr.model.surgery import freeze_conv_stack

    model = CRNN(ModelConfig(PRINTABLE_94, "crnn-lcnet"))
    freeze_conv_stack(model, 10)
    model(torch.randn(2, 1, 48, 64)).sum().backward()
    assert all(p.grad is None for p in model.cnn.stem.parameters())
    assert all(p.grad is None for b in model.cnn.blocks[:10] for p in b.parameters())
    assert all(p.grad is not None for p in model.cnn.blocks[10:].parameters())


def test_crnn_svtr_starts_as_ppocr_restricted_to_its_alphabet():
    """With PP-OCRv6's mixer and CTC layer copied in, the untrained BiLSTM adds nothing: the model's
    probabilities are PP-OCRv6's over the blank and the 94 characters, renormalised."""
    import onnxruntime as ort

    from pwocr.alphabet import PRINTABLE_94
    from pwocr.model.crnn import CRNN, ModelConfig
    from pwocr.model.pretrained import load_pretrained_mixer_and_head, ppocr_characters

    model = CRNN(ModelConfig(PRINTABLE_94, "crnn-svtr")).eval()
    load_pretrained_features(model.cnn[0])
    load_pretrained_mixer_and_head(model)
    session = ort.InferenceSession(str(rapidocr_rec_path()), providers=["CPUExecutionProvider"])
    characters = ppocr_characters(rapidocr_rec_path())
    columns = [0] + [characters.index(c) + 1 for c in PRINTABLE_94]
    gray = np.random.default_rng(0).uniform(-1, 1, (2, 1, LCNET_HEIGHT, 200)).astype(np.float32)
    (theirs,) = session.run(None, {"x": np.repeat(gray, 3, axis=1)})
    theirs = theirs[:, :, columns]
    theirs /= theirs.sum(-1, keepdims=True)
    with torch.inference_mode():
        ours = model(torch.from_numpy(gray)).exp().numpy().transpose(1, 0, 2)
    assert np.abs(ours - theirs).max() < 1e-4
