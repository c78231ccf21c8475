"""ONNX export of a CRNN: a graph that carries its own config, so the file reads alone."""

from __future__ import annotations

import io
import json
import os
import warnings

import torch

from pwocr.checkpoints import CONFIG_KEY, SOURCE_KEY
from pwocr.io import atomic_write
from pwocr.model.crnn import CRNN


class _WithFeatures(torch.nn.Module):
    """The model's log-probabilities and its features, as the graph's two outputs."""

    def __init__(self, model: CRNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_with_features(images)


def export_onnx(model: CRNN, path: str | os.PathLike[str], source_sha256: str | None = None) -> None:
    """Write ``model`` as ONNX, dynamic batch and width, atomically: ``images (N,C,H,W)`` to
    ``log_probs (T,N,classes)`` and ``features (T,N,C)``, what the sequence model reads (for a
    ``crnn-svtr``, what PP-OCRv6's CTC layer reads too: ``pwocr.layout.labels``).

    The file's metadata holds the ``ModelConfig`` (alphabet, preprocessing, temperature) and, when
    given, the hash of the checkpoint it was exported from.
    """
    import onnx

    model = model.eval()
    example = torch.zeros(2, model.config.in_channels, model.config.height, 128)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the LSTM batch-size warning does not apply: no initial state is exported
        torch.onnx.export(
            _WithFeatures(model).eval(),
            (example,),
            buffer,
            input_names=["images"],
            output_names=["log_probs", "features"],
            dynamic_axes={
                "images": {0: "batch", 3: "width"},
                "log_probs": {0: "steps", 1: "batch"},
                "features": {0: "steps", 1: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    graph = onnx.load_from_string(buffer.getvalue())
    metadata = {CONFIG_KEY: json.dumps(model.config.to_dict())}
    if source_sha256:
        metadata[SOURCE_KEY] = source_sha256
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    atomic_write(path, graph.SerializeToString())
