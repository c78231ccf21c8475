"""Openly licensed pretrained weights for the conv feature extractor: PP-OCRv6 small's backbone.

pwocr ships PaddleOCR's PP-OCRv6 small recognizer (Apache-2.0) from the ``rapidocr`` 3.10 wheel,
its large weights stored as float16, ``weights/ppocrv6/PP-OCRv6_rec_small.onnx``
(``pwocr.rapidocr_models``). Its backbone, trained by PaddleOCR on millions of real and
synthetic text lines, is the part of a recognizer that transfers to real photos; we copy its conv
weights into ``LCNetFeatures`` and leave its transformer neck and 18,710-class head behind: the
pwocr model puts its own BiLSTM and 95-class CTC layer on top and is trained by ``pwocr train``.
The ONNX file is only read for its weights (``onnx.numpy_helper``); no graph is executed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from pwocr.errors import PwocrError
from pwocr.model.lcnet import LCNetFeatures
from pwocr.rapidocr_models import RECOGNIZER_FILE, rapidocr_model_path


def rapidocr_rec_path() -> Path:
    """Where pwocr keeps PP-OCRv6 small's recognizer."""
    return rapidocr_model_path(RECOGNIZER_FILE)


class _Graph:
    """An ONNX graph's weights by name, and a way back from a derived tensor to the weight it came from."""

    def __init__(self, onnx_path: Path) -> None:
        import onnx
        from onnx import numpy_helper

        self.path = onnx_path
        self.graph = onnx.load(str(onnx_path)).graph
        self.nodes = list(self.graph.node)
        self.tensors = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        # pwocr ships the large weights stored as float16, each cast back to float32 by a node
        # (``pwocr.rapidocr_models.store_weights_as_fp16``): the cast's output is the weight.
        for node in self.nodes:
            if node.op_type == "Cast" and node.input[0] in self.tensors:
                self.tensors[node.output[0]] = self.tensors[node.input[0]].astype(np.float32)
        self.producer = {out: node for node in self.nodes for out in node.output}
        self.consumers: dict[str, list] = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def constant(self, name: str) -> np.ndarray:
        """The weight behind ``name``: Paddle's exporter reaches biases and norms through Reshape/Identity."""
        from onnx import numpy_helper

        while name not in self.tensors:
            node = self.producer.get(name)
            if node is not None and node.op_type == "Constant":
                return numpy_helper.to_array(node.attribute[0].t)
            if node is None or node.op_type not in ("Reshape", "Identity", "Unsqueeze"):
                raise PwocrError(f"{self.path}: cannot trace {name} back to a weight (another PP-OCR model?)")
            name = node.input[0]
        return self.tensors[name]


def _conv_parameters(onnx_path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) of each conv before the backbone's final average pool, in graph order."""
    g = _Graph(onnx_path)
    tensors, consumers, constant = g.tensors, g.consumers, g.constant
    graph = g.graph

    params = []
    for node in graph.node:
        if node.op_type == "AveragePool":
            break
        if node.op_type != "Conv":
            continue
        weight = tensors[node.input[1]]
        if len(node.input) > 2:
            bias = tensors[node.input[2]]
        else:
            (add,) = [n for n in consumers[node.output[0]] if n.op_type == "Add"]
            other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
            bias = constant(other).reshape(-1)
        params.append((weight, bias))
    return params


def load_pretrained_features(features: LCNetFeatures, onnx_path: str | os.PathLike[str] | None = None) -> None:
    """Copy PP-OCRv6 small's backbone weights into ``features`` (in place).

    A grayscale model sees the same image in all three of PP-OCR's input channels, so its first
    conv is the sum of PP-OCR's over the colour channels: identical outputs on gray input. A
    colour model takes RGB; PP-OCR's first conv reads BGR (OpenCV's order), so its input channels
    are reversed.
    """
    path = Path(onnx_path) if onnx_path is not None else rapidocr_rec_path()
    params = _conv_parameters(path)
    convs = features.convs_in_order()
    if len(params) != len(convs):
        raise PwocrError(f"{path}: {len(params)} backbone convs, expected {len(convs)} (another PP-OCR model?)")
    with torch.no_grad():
        for i, (conv, (weight, bias)) in enumerate(zip(convs, params)):
            w = torch.tensor(np.asarray(weight, dtype=np.float32))
            if i == 0:
                w = w.flip(1) if conv.in_channels == 3 else w.sum(1, keepdim=True)
            if w.shape != conv.weight.shape or bias.shape != tuple(conv.bias.shape):
                raise PwocrError(f"{path}: conv {i} is {tuple(w.shape)}, expected {tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            conv.bias.copy_(torch.tensor(np.asarray(bias, dtype=np.float32)))


def colour_first_conv(gray_weight: torch.Tensor, onnx_path: str | os.PathLike[str] | None = None) -> torch.Tensor:
    """RGB weights for a first conv trained on gray lines (``out x 1 x k x k``), for a colour model.

    When the gray weights are PP-OCRv6's first conv summed over its channels (a PP-LCNetV4 stack
    whose stem stayed frozen, as in the shipped model), PP-OCRv6's own colour weights are the
    exact answer; otherwise each channel gets a third, which reads a gray line exactly as before.
    """
    if gray_weight.shape[1] != 1:
        raise PwocrError(f"a first conv with {gray_weight.shape[1]} input channels is not a gray one")
    try:
        path = Path(onnx_path) if onnx_path is not None else rapidocr_rec_path()
    except PwocrError:  # an installation without it: the weights cannot be PP-OCRv6's to recover
        path = Path()
    if path.is_file():
        weight = torch.tensor(np.asarray(_conv_parameters(path)[0][0], np.float32)).flip(1)
        if weight.shape[0] == gray_weight.shape[0] and torch.allclose(
            weight.sum(1, keepdim=True), gray_weight.float(), rtol=1e-2, atol=2e-3
        ):
            return weight
    return gray_weight.float().repeat(1, 3, 1, 1) / 3


def _mixer_parameters(onnx_path: Path) -> dict:
    """The light SVTR mixer's and the CTC layer's weights, in graph order, batch norms folded into convs."""
    g = _Graph(onnx_path)
    tensors, constant = g.tensors, g.constant

    nodes = g.nodes
    start = next(i for i, n in enumerate(nodes) if n.op_type == "AveragePool") + 1
    convs, linears, norms = [], [], []
    for i, node in enumerate(nodes[start:], start):
        if node.op_type == "Conv":
            bn = nodes[i + 1]
            scale, shift, mean, var = (constant(name) for name in bn.input[1:5])
            eps = next(a.f for a in bn.attribute if a.name == "epsilon")
            factor = scale / np.sqrt(var + eps)
            weight = tensors[node.input[1]] * factor[:, None, None, None]
            convs.append((weight, shift - mean * factor))
        elif node.op_type == "MatMul" and node.input[1] in tensors:
            bias_name = next(n.input[1] for n in nodes[i + 1 : i + 3] if n.op_type == "Add")
            linears.append((tensors[node.input[1]].T, tensors[bias_name]))
        elif node.op_type == "Div" and nodes[i + 1].op_type == "Mul" and nodes[i - 1].op_type == "Sqrt":
            norms.append((constant(nodes[i + 1].input[1]), constant(nodes[i + 2].input[1])))
    return {"convs": convs, "linears": linears, "norms": norms}


def ppocr_characters(onnx_path: Path) -> list[str]:
    """PP-OCRv6's CTC classes after the blank: its dictionary, then the space rapidocr appends."""
    import onnx

    metadata = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    return [*metadata["character"].splitlines(), " "]


def load_pretrained_mixer_and_head(model: torch.nn.Module, onnx_path: str | os.PathLike[str] | None = None) -> None:
    """Copy PP-OCRv6 small's light SVTR mixer into a ``crnn-svtr``, and its CTC layer into the head's skip part.

    The head reads ``[BiLSTM output ; mixer features]``: its BiLSTM columns start at zero and its
    feature columns are PP-OCRv6's own CTC layer restricted to the model's alphabet (and the
    blank), so training starts from PP-OCRv6's readings and learns what the BiLSTM adds.
    """
    path = Path(onnx_path) if onnx_path is not None else rapidocr_rec_path()
    params = _mixer_parameters(path)
    mixer = model.cnn[1]
    with torch.no_grad():
        for conv, (w, b) in zip((mixer.skip, mixer.reduce, mixer.local), params["convs"], strict=True):
            conv.weight.copy_(torch.tensor(np.asarray(w, np.float32)))
            conv.bias.copy_(torch.tensor(np.asarray(b, np.float32)))
        blocks_linears = [(b.attention.qkv, b.attention.proj, b.fc1, b.fc2) for b in mixer.blocks]
        linears = [layer for group in blocks_linears for layer in group]
        *mixer_linears, (head_w, head_b) = params["linears"]
        for layer, (w, b) in zip(linears, mixer_linears, strict=True):
            layer.weight.copy_(torch.tensor(np.asarray(w, np.float32)))
            layer.bias.copy_(torch.tensor(np.asarray(b, np.float32)))
        norms = [n for b in mixer.blocks for n in (b.norm1, b.norm2)] + [mixer.norm]
        for norm, (w, b) in zip(norms, params["norms"], strict=True):
            norm.weight.copy_(torch.tensor(np.asarray(w, np.float32)))
            norm.bias.copy_(torch.tensor(np.asarray(b, np.float32)))
        classes = {c: i + 1 for i, c in enumerate(ppocr_characters(path))}
        rows = [0] + [classes.get(c, -1) for c in model.config.alphabet]
        features = head_w.shape[1]
        head = model.head
        head.weight.zero_()
        head.bias.zero_()
        for target, source in enumerate(rows):
            if source >= 0:
                head.weight[target, -features:] = torch.tensor(np.asarray(head_w[source], np.float32))
                head.bias[target] = float(head_b[source])
            else:  # a character PP-OCRv6 never learnt: unlikely until training teaches it
                head.bias[target] = -10.0
