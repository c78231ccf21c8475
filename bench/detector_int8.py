"""An int8 copy of PP-OCRv6's text detector, for ``bench/photos.py --also_detector`` (not shipped).

The detector is most of a whole photo's time. This quantises rapidocr 3.10's float32 detector
with onnxruntime's static quantisation: QDQ nodes, int8 weights per output channel, uint8
activations whose ranges are calibrated (min/max) on 32 composed scenes in the *training* fonts, at
the detector's input size, so that ``bench/photos.py``'s held-out scenes stay a test. The graph is
first optimised as onnxruntime's ``quant_pre_process`` does, then lifted to opset 17 (per-channel
``DequantizeLinear`` needs 13). Needs the peer (``pip install -e ".[bench]"``) for rapidocr's file.

    python bench/detector_int8.py --out /tmp/det_int8.onnx
    python bench/photos.py --count 300 --no_rapidocr --detector_side 960 --also_detector int8=/tmp/det_int8.onnx \\
        --out bench/results/photos_detector_960.json
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pwocr.layout.detector import detector_input
from pwocr.layout.photo import load_photo, luminance
from pwocr.rapidocr_models import DETECTOR_FILE, installed_rapidocr_file
from pwocr.synth.dataset_writer import write_scene_set

#: Not the seed of ``bench/photos.py``'s scenes (20261126).
CALIBRATION_SEED = 11


def detector_inputs(folder: Path, count: int, side: int, min_side: int = 640) -> Iterator[np.ndarray]:
    """``count`` scenes composed in the training fonts, written as ``pwocr synth --scenes --fonts_split
    train`` writes them (JPEG), as the detector reads them (``detector_input``)."""
    write_scene_set(folder, count, CALIBRATION_SEED, "train")
    for path in sorted(folder.glob("*.jpg")):
        yield detector_input(luminance(load_photo(path)), side, min_side)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the int8 detector")
    parser.add_argument("--count", type=int, default=32, help="calibration scenes")
    parser.add_argument("--side", type=int, default=960, help="detector input's long side for calibration")
    args = parser.parse_args()

    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = installed_rapidocr_file(DETECTOR_FILE)
    name = onnx.load(str(source)).graph.input[0].name

    class Scenes(CalibrationDataReader):
        def __init__(self, folder: Path) -> None:
            self.inputs = detector_inputs(folder, args.count, args.side)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.inputs, None)
            return None if x is None else {name: x}

    with tempfile.TemporaryDirectory() as scratch:
        prepared, lifted = Path(scratch) / "prepared.onnx", Path(scratch) / "opset17.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)  # onnxruntime's fusions first
        onnx.save(version_converter.convert_version(onnx.load(str(prepared)), 17), str(lifted))
        quantize_static(
            str(lifted),
            str(args.out),
            Scenes(Path(scratch) / "scenes"),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
