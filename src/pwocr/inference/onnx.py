"""ONNX export of a CRNN and an onnxruntime session for fast CPU inference."""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import torch

from pwocr.model.crnn import CRNN


def export_onnx(model: CRNN, path: str | os.PathLike[str] | io.BytesIO) -> None:
    """Write ``model`` as ONNX with dynamic batch size and width: ``images (N,1,32,W) -> log_probs (T,N,C)``."""
    model = model.eval()
    example = torch.zeros(2, 1, model.config.height, 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the LSTM batch-size warning does not apply: no initial state is exported
        torch.onnx.export(
            model,
            (example,),
            path,
            input_names=["images"],
            output_names=["log_probs"],
            dynamic_axes={"images": {0: "batch", 3: "width"}, "log_probs": {0: "steps", 1: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def onnx_session(model: CRNN, threads: int | None = None) -> Any:
    """An onnxruntime CPU session for ``model``, exported in memory."""
    import onnxruntime as ort

    buffer = io.BytesIO()
    export_onnx(model, buffer)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
