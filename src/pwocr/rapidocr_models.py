"""The PP-OCRv6 small models pwocr ships (Apache-2.0), as released in the ``rapidocr`` 3.10 wheel.

pwocr uses three of rapidocr's model files and none of its code: the text detector finds the lines
of a whole photo; the text-angle classifier (PP-OCR's ``ch_ppocr_mobile_v2.0_cls``, also
Apache-2.0, shipped unmodified) says which way up they read; the recognizer reads labels in
scripts pwocr cannot spell and starts ``crnn-svtr`` and ``crnn-lcnet``. They ship in
``pwocr/weights/ppocrv6`` (with rapidocr's licence and model notice) instead of coming with a
``rapidocr`` dependency: rapidocr brings 13 packages and 55 MB for these 32 MB of files, and a
later rapidocr may bundle other models under other names. Torch-free, so reading a photo never
imports torch.

The detector and the recognizer ship with their large weights stored as float16 (``store_weights_as_fp16``) and onnxruntime
still computes in float32. The recognizer so that rapidocr's 21.2 MB keeps the project's rule of no
file over 20 MB; the detector (9.9 MB to 5.1) so that the web page can carry the whole-photo reader
on its first visit within its 25 MB budget, with Python reading the very graph the page reads.
``python -m pwocr.rapidocr_models`` derives the three files again from an installed ``rapidocr`` 3.10;
``bench/ppocrv6_fp16.py`` measures what the float16 storage changes in each model's outputs.
"""

from __future__ import annotations

import argparse
import hashlib
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from pwocr.errors import PwocrError

if TYPE_CHECKING:
    import onnx

#: The rapidocr release whose bundled model files pwocr ships, derived as ``derive_shipped_file`` says.
RAPIDOCR_VERSION = "3.10"
RECOGNIZER_FILE = "PP-OCRv6_rec_small.onnx"
DETECTOR_FILE = "PP-OCRv6_det_small.onnx"
#: PP-OCR's text-angle classifier (is a line upside down?), shipped as rapidocr bundles it: 0.6 MB.
ANGLE_FILE = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
#: The files as rapidocr 3.10 bundles them (``rapidocr/models/``; its MODEL_LICENSES.md lists the same).
RAPIDOCR_SHA256 = {
    DETECTOR_FILE: "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    RECOGNIZER_FILE: "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    ANGLE_FILE: "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
}
#: PP-OCRv6's CTC layer alone (its recognizer's last MatMul and Add: 120 features a frame to 18,710
#: classes), cut from the shipped recognizer: a photo's words from pwocr's own features (``pwocr.layout.labels``).
HEAD_FILE = "PP-OCRv6_rec_head.onnx"
#: Files pwocr ships as rapidocr bundles them, byte for byte.
UNMODIFIED = frozenset({ANGLE_FILE})
#: The files pwocr ships: rapidocr's, with float16-stored weights (the unmodified ones as they are).
SHA256 = {
    DETECTOR_FILE: "3c0294bc9f8c9f49fa41d5c5bd6e9022e694640ff609f76032cb6dac780c305d",
    RECOGNIZER_FILE: "eacb17a0a550175034e5111183aa4c4d6b28d08376f1b13fdc9a9134debb598e",
    ANGLE_FILE: RAPIDOCR_SHA256[ANGLE_FILE],
    HEAD_FILE: "d9402732b06132b78e58c53dbe919e459d8a029279812fb4c62bb45c872b1d0f",
}
LICENSE = "Apache-2.0 (PaddleOCR PP-OCRv6 small, as bundled in rapidocr 3.10; see weights/ppocrv6/)"
#: Weights of at least this many values are stored as float16. The smaller ones (biases, norms, the
#: 1e-5 and 1e-6 epsilons, which float16 rounds by up to 1%) stay float32: they are 80 KB in all.
FP16_MIN_VALUES = 1024
#: The notice Apache-2.0 asks a modified file to carry, in the recognizer's ONNX metadata.
MODIFICATION_KEY = "pwocr_modification"


def rapidocr_model_path(name: str) -> Path:
    """Where pwocr keeps the PP-OCRv6 model file ``name``; a one-line error if this installation lacks it."""
    path = Path(str(resources.files("pwocr") / "weights" / "ppocrv6" / name))
    if not path.is_file():
        raise PwocrError(f"{path}: the PP-OCRv6 model is missing from this installation of pwocr")
    return path


def store_weights_as_fp16(model: onnx.ModelProto, source: str | None = None) -> onnx.ModelProto:
    """A copy of ``model`` whose float32 weights of ``FP16_MIN_VALUES`` values or more are stored as float16.

    Each becomes an initializer ``<name>.fp16`` and a Cast node at the head of the graph that gives
    ``<name>`` back in float32, so every other node is unchanged, onnxruntime folds the casts when it
    loads the model and computes in float32 as before: only the weights' rounding differs.
    ``source`` names the rapidocr file ``model`` is (``DETECTOR_FILE`` or ``RECOGNIZER_FILE``): the
    copy then carries, in its metadata, the notice Apache-2.0 asks of a modified file.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    converted = onnx.ModelProto()
    converted.CopyFrom(model)
    casts = []
    for tensor in converted.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT or int(np.prod(tensor.dims)) < FP16_MIN_VALUES:
            continue
        name = tensor.name
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), f"{name}.fp16"))
        casts.append(helper.make_node("Cast", [tensor.name], [name], name=f"{name}.to_fp32", to=TensorProto.FLOAT))
    nodes = [*casts, *converted.graph.node]
    del converted.graph.node[:]
    converted.graph.node.extend(nodes)
    if source is None:
        return converted
    notice = converted.metadata_props.add()
    notice.key = MODIFICATION_KEY
    notice.value = (
        f"Modified by pwocr from rapidocr {RAPIDOCR_VERSION}'s {source} "
        f"(SHA-256 {RAPIDOCR_SHA256[source]}): its {len(casts)} float32 weights of "
        f"{FP16_MIN_VALUES} values or more are stored as float16 and cast back to float32 in the graph."
    )
    return converted


def derive_shipped_file(name: str, rapidocr_file: Path) -> bytes:
    """The bytes pwocr ships as ``name``, from rapidocr 3.10's file: its large weights float16-stored
    (the ``UNMODIFIED`` files as they are)."""
    data = rapidocr_file.read_bytes()
    if hashlib.sha256(data).hexdigest() != RAPIDOCR_SHA256[name]:
        raise PwocrError(f"{rapidocr_file}: not rapidocr {RAPIDOCR_VERSION}'s {name} (its SHA-256 differs)")
    if name in UNMODIFIED:
        return data
    import onnx

    return store_weights_as_fp16(onnx.load_from_string(data), name).SerializeToString()


def ctc_layer(recognizer: onnx.ModelProto) -> onnx.ModelProto:
    """The last layer of PP-OCRv6's (float16-stored) recognizer as a graph of its own: ``features``
    (steps x 120, what its mixer gives each frame) to ``logits`` (steps x classes, before the softmax),
    its weights stored as the recognizer stores them, with the recognizer's dictionary in its metadata."""
    import onnx
    from onnx import helper

    graph = recognizer.graph
    matmul = next(n for n in reversed(graph.node) if n.op_type == "MatMul")
    add = next(n for n in graph.node if n.op_type == "Add" and matmul.output[0] in n.input)
    weight, bias = matmul.input[1], next(i for i in add.input if i != matmul.output[0])
    casts = [n for n in graph.node if n.op_type == "Cast" and n.output[0] in (weight, bias)]
    stored = {i for n in casts for i in n.input} | {weight, bias}
    nodes = [
        *casts,
        helper.make_node("MatMul", ["features", weight], ["scores"], name="ctc_matmul"),
        helper.make_node("Add", ["scores", bias], ["logits"], name="ctc_add"),
    ]
    classes = next(int(t.dims[-1]) for t in graph.initializer if t.name in (bias, f"{bias}.fp16"))
    head = helper.make_graph(
        nodes,
        "ppocrv6_ctc_layer",
        [helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, ["steps", 120])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["steps", classes])],
        [t for t in graph.initializer if t.name in stored],
    )
    model = helper.make_model(head, opset_imports=list(recognizer.opset_import), ir_version=recognizer.ir_version)
    character = next(p.value for p in recognizer.metadata_props if p.key == "character")
    for key, value in (
        ("character", character),
        (
            MODIFICATION_KEY,
            f"Cut by pwocr from rapidocr {RAPIDOCR_VERSION}'s {RECOGNIZER_FILE} (SHA-256 "
            f"{RAPIDOCR_SHA256[RECOGNIZER_FILE]}): its last MatMul and Add alone (the CTC layer), their "
            f"weights stored as float16 and cast back to float32 in the graph.",
        ),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def installed_rapidocr_file(name: str) -> Path:
    """rapidocr's own copy of ``name`` (without importing rapidocr); a one-line error if it is not installed."""
    spec = find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise PwocrError(f"rapidocr is not installed: pip install rapidocr=={RAPIDOCR_VERSION}.0 for its {name}")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def main() -> None:
    """Write the PP-OCR files pwocr ships into its ``weights/ppocrv6``, derived from the installed rapidocr 3.10."""
    argparse.ArgumentParser(description=main.__doc__).parse_args()
    folder = Path(str(resources.files("pwocr") / "weights" / "ppocrv6"))
    import onnx

    for name in (DETECTOR_FILE, RECOGNIZER_FILE, ANGLE_FILE, HEAD_FILE):
        if name == HEAD_FILE:
            data = ctc_layer(onnx.load(str(folder / RECOGNIZER_FILE))).SerializeToString()
        else:
            data = derive_shipped_file(name, installed_rapidocr_file(name))
        (folder / name).write_bytes(data)
        print(f"{folder / name}: {len(data) / 1e6:.1f} MB, SHA-256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
