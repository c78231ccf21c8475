"""The web app as static files: the page, its in-page reader (onnxruntime-web in a Web Worker), the model, fonts, licences.

``WebApp.files`` maps every path of the site to its bytes' source; ``export_web`` writes them to a
folder that any static host serves (``pwocr export-web``), and ``pwocr serve`` serves the same
map. The photo is read in the browser: the page never uploads it unless the user asks the server.
A whole photo too: the site carries PP-OCRv6's detector and label reader and ``model/photo.json``
(the whole-photo reader's rules, written here from the Python that defines them), which the page
fetches in the background once its line reader is ready, and the service worker keeps, so that
after one visit whole photos read offline too.

onnxruntime-web is not in pwocr's wheel: its WebAssembly alone is 15 MB (4 MB compressed), which
every reader install would carry for the few who publish the page. ``onnxruntime_web`` fetches the
pinned package once with npm, checks it against the pinned integrity hash and keeps the three files
the app needs in pwocr's cache.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import inspect
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from pwocr.alphabet import NAMED_CHARSETS
from pwocr.decoding.confidence import DEFAULT_FLAGS
from pwocr.decoding.formats import POOL as FORMAT_POOL
from pwocr.errors import PwocrError
from pwocr.inference.engine import EXPORT_VERSION, OnnxEngine, cache_dir, onnx_engine_for_checkpoint
from pwocr.io import atomic_write, file_sha256
from pwocr.lookalikes import LOOKALIKE_GROUPS
from pwocr.model.config import LCNET_MODELS
from pwocr.rapidocr_models import ANGLE_FILE, DETECTOR_FILE, HEAD_FILE, RECOGNIZER_FILE, rapidocr_model_path
from pwocr.reader import LINE_MAX_HEIGHT, LINE_MAX_WIDE_HEIGHT, LINE_MIN_ASPECT

log = logging.getLogger(__name__)

#: onnxruntime-web from the npm registry, pinned: the version and the tarball's integrity (``npm view``'s dist.integrity).
ORT_VERSION = "1.31.1"
ORT_INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
#: The WebAssembly build with SIMD and threads, and its two loaders: all the app runs (no WebGPU, no WebGL).
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")

STATIC = Path(__file__).parent / "static"

#: The page's font: DejaVu Sans Mono (bundled for training, with its licence) tells I l 1 | 0 O apart.
PAGE_FONT = "DejaVuSansMono.ttf"
PAGE_FONT_LICENSE = "licenses/fonts-dejavu-core.txt"

#: What the page may load: its own files only (no CDN), WebAssembly compiled from them.
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; "
    "img-src 'self' blob: data:; style-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

#: Headers that make the page cross-origin isolated, so onnxruntime-web may run on several threads.
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}

#: Files generated from templates in static/: the service worker lists the site and its version.
SERVICE_WORKER = "sw.js"
#: Files above this size (the model, the WebAssembly) are cached as the reader first fetches them
#: rather than when the service worker installs: fetched at install too, they would cross the network twice.
LARGE_FILE = 1_000_000
#: The whole-photo reader's files: fetched (and cached) in the background once the line reader is ready.
PHOTO_FILES = {
    "rules": "model/photo.json",
    "detector": "model/detector.onnx",
    "labels": "model/labels.onnx",
    "angles": "model/angles.onnx",
}


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def onnxruntime_web(fetch: bool = True, cache: Path | None = None) -> Path | None:
    """The folder of the pinned onnxruntime-web files the app needs, fetched once with npm into pwocr's cache.

    Returns ``None`` when they are not cached and ``fetch`` is false; raises a one-line
    ``PwocrError`` when they cannot be fetched (no npm, no network, a tarball that fails its hash).
    ``cache`` overrides pwocr's cache folder (``inference.engine.cache_dir``).
    """
    folder = (cache or cache_dir()) / f"onnxruntime-web-{ORT_VERSION}"
    if all((folder / name).is_file() for name in (*ORT_FILES, "LICENSE")):
        return folder
    if not fetch:
        return None
    npm = shutil.which("npm")
    if npm is None:
        raise PwocrError(f"the in-page reader needs onnxruntime-web {ORT_VERSION} from the npm registry: install npm")
    with tempfile.TemporaryDirectory(prefix="pwocr-npm-") as tmp:
        spec = f"onnxruntime-web@{ORT_VERSION}"
        done = subprocess.run(
            [npm, "pack", spec, "--pack-destination", tmp, "--silent"], capture_output=True, text=True, cwd=tmp
        )
        tarball = Path(tmp) / f"onnxruntime-web-{ORT_VERSION}.tgz"
        if done.returncode != 0 or not tarball.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise PwocrError(f"npm pack {spec} failed: {last}")
        data = tarball.read_bytes()
        if _integrity(data) != ORT_INTEGRITY:
            raise PwocrError(f"npm pack {spec}: the tarball does not match the pinned integrity hash")
        _unpack(data, folder)
    log.info("onnxruntime-web %s fetched into %s", ORT_VERSION, folder)
    return folder


def _unpack(tarball: bytes, folder: Path) -> None:
    """The app's files from the npm tarball, and the project's MIT licence beside them, into ``folder`` at once."""
    staging = Path(tempfile.mkdtemp(prefix=".onnxruntime-web-", dir=folder.parent if folder.parent.exists() else None))
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in ORT_FILES:
                member = archive.extractfile(f"package/dist/{name}")
                if member is None:
                    raise PwocrError(f"onnxruntime-web {ORT_VERSION}: dist/{name} is missing from the tarball")
                (staging / name).write_bytes(member.read())
        # The npm package names its licence (MIT) without shipping the text; the onnxruntime
        # wheel pwocr reads with is the same project and carries it.
        (staging / "LICENSE").write_bytes((resources.files("onnxruntime") / "LICENSE").read_bytes())
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def half_stored_graph(graph: Path, source_sha256: str | None = None) -> Path:
    """``graph`` with every float weight that fp16 holds exactly stored as fp16 and cast back at load, cached.

    The shipped weights are fp16 values (``default.safetensors`` stores them so), so the browser
    downloads half the graph and computes exactly what Python computes: measured by
    ``bench/web_budgets.py``, the same readings and confidences. A weight fp16 cannot hold stays fp32.
    Without the ``onnx`` package (the ``train`` extra) the graph is sent as it is.
    """
    import numpy as np

    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        log.info("the onnx package is not installed: the page downloads the model's graph at full size")
        return graph

    key = source_sha256 or file_sha256(graph)
    cached = cache_dir() / f"{key}.v{EXPORT_VERSION}.half-stored.onnx"
    if cached.is_file():
        return cached
    model = onnx.load(str(graph))
    casts = []
    for weight in list(model.graph.initializer):
        if weight.data_type != onnx.TensorProto.FLOAT or int(np.prod(weight.dims)) < 1024:
            continue
        values = numpy_helper.to_array(weight)
        half = values.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), values):
            continue
        model.graph.initializer.remove(weight)
        model.graph.initializer.append(numpy_helper.from_array(half, f"{weight.name}.fp16"))
        casts.append(helper.make_node("Cast", [f"{weight.name}.fp16"], [weight.name], to=onnx.TensorProto.FLOAT))
    for node in reversed(casts):
        model.graph.node.insert(0, node)
    atomic_write(cached, model.SerializeToString())
    return cached


def _code_point_ranges(test: Callable[[str], object]) -> list[list[int]]:
    """``[first, last]`` runs of the code points for which ``test(character)`` holds."""
    ranges: list[list[int]] = []
    for point in range(sys.maxunicode + 1):
        if test(chr(point)):
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])
    return ranges


def photo_rules(dictionary: list[str]) -> dict[str, Any]:
    """What the page's whole-photo reader (``static/reader/photo.js`` and the modules it imports) takes from Python.

    The detector's settings, the layout's constants, the picker's weights and label tables, and
    two Unicode facts JavaScript has no test for (``str.isdigit`` beyond decimal digits, and
    ``unicodedata.combining``), each from the module that defines it, so the two readers read one
    table; and PP-OCRv6's dictionary as ``LabelReader`` splits it from the model's metadata.
    """
    from pwocr.layout import clues, geometry, ink, orientation, photo
    from pwocr.layout.detector import TextDetector
    from pwocr.layout.password import DEFAULT_WEIGHTS

    defaults = inspect.signature(TextDetector.__init__).parameters
    detector = {k: defaults[k].default for k in ("max_side", "min_side", "threshold", "box_threshold", "unclip_ratio")}
    digits = "".join(chr(p) for p in range(sys.maxunicode + 1) if chr(p).isdigit() and not chr(p).isdecimal())
    return {
        "detector": detector,
        "decode_side": photo.DECODE_SIDE,
        "line_read_height": photo.LINE_READ_HEIGHT,
        "angle_input": [orientation.ANGLE_HEIGHT, orientation.ANGLE_WIDTH],
        "label_reader_below": photo.LABEL_READER_BELOW,
        "surely_upright": photo.SURELY_UPRIGHT,
        "number_prior": photo.NUMBER_PRIOR,
        "plausible": photo.PLAUSIBLE,
        "digit_lookalikes": "".join(sorted(photo._DIGIT_LOOKALIKES)),
        "space_gap": ink.SPACE_GAP,
        "word_gap_ratio": ink.WORD_GAP_RATIO,
        "median_gaps": ink.MEDIAN_GAPS,
        "join_gap": geometry.JOIN_GAP,
        "side_margin": geometry.SIDE_MARGIN,
        "weights": dataclasses.asdict(DEFAULT_WEIGHTS),
        "clues": {
            "password_labels": list(clues.PASSWORD_LABELS.items()),
            "labels": [list(pair) for pair in clues._LABELS],
            "network_labels": sorted(clues.NETWORK_LABELS),
            "preface": list(clues._PREFACE),
            "digits_not_decimal": digits,
            "combining": _code_point_ranges(unicodedata.combining),
        },
        "dictionary": dictionary,
    }


def _label_dictionary(graph: Path) -> list[str]:
    """PP-OCRv6's characters as ``LabelReader`` reads them from the recognizer's metadata."""
    from pwocr.inference.engine import onnx_session

    metadata = onnx_session(graph, 1, "a recognizer").get_modelmeta().custom_metadata_map
    characters = metadata.get("character", "").splitlines()
    if not characters:
        raise PwocrError(f"{graph}: no character dictionary in its metadata (another PP-OCR model?)")
    return characters


def _font_folder() -> Path:
    return Path(str(resources.files("pwocr") / "fonts"))


def _model_graph(checkpoint: str | os.PathLike[str] | None) -> OnnxEngine:
    """The ONNX graph of a checkpoint (the shipped model by default), with its config."""
    from pwocr.checkpoints import resolve_checkpoint

    path = resolve_checkpoint(checkpoint)
    return OnnxEngine(path) if path.suffix == ".onnx" else onnx_engine_for_checkpoint(path)


@dataclass(frozen=True)
class WebApp:
    """The site's files for one model: ``files`` maps each path in the site to a file or to generated bytes.

    Args:
        model: the ONNX graph the page reads with (its config rides along in ``model/model.json``).
        runtime: the onnxruntime-web folder from ``onnxruntime_web``; ``None``: a page that reads on the server only.
        server: whether a pwocr server serves the site (``site.json`` tells the page, so that a static
            site never probes for an API that is not there).
        half_weights: send the graph with its weights stored as fp16 where fp16 holds them exactly
            (``half_stored_graph``); false sends the model's graph as it is.
    """

    model: OnnxEngine
    runtime: Path | None
    server: bool = False
    half_weights: bool = True

    @classmethod
    def for_checkpoint(
        cls, checkpoint: str | os.PathLike[str] | None = None, fetch: bool = True, runtime: Path | None = None
    ) -> WebApp:
        """The app for a checkpoint, with ``runtime`` or else the cached onnxruntime-web (fetched if ``fetch``)."""
        return cls(_model_graph(checkpoint), runtime or onnxruntime_web(fetch))

    @property
    def in_page(self) -> bool:
        return self.runtime is not None

    @property
    def labels_from_features(self) -> bool:
        """Whether the page reads a photo's words with PP-OCRv6's CTC layer over the model's features
        (``LabelReader.from_features``), as Python does, rather than with PP-OCRv6's whole recognizer."""
        return bool(self.model.config.ppocr_features and self.model.has_features)

    @cached_property
    def photo_graphs(self) -> dict[str, Path] | None:
        """PP-OCRv6's detector, its label reader (its CTC layer alone where the model's features are
        PP-OCRv6's, else its whole recognizer) and PP-OCR's text-angle classifier, for reading whole
        photos in the page; ``None`` where pwocr lacks them."""
        if self.runtime is None:
            return None
        try:
            return {
                "detector": rapidocr_model_path(DETECTOR_FILE),
                "labels": rapidocr_model_path(HEAD_FILE if self.labels_from_features else RECOGNIZER_FILE),
                "angles": rapidocr_model_path(ANGLE_FILE),
            }
        except PwocrError:
            log.info("PP-OCRv6's models are missing: the page reads line crops only")
            return None

    @cached_property
    def photo_json(self) -> bytes | None:
        """``model/photo.json``: the whole-photo reader's rules and PP-OCRv6's dictionary."""
        if self.photo_graphs is None:
            return None
        rules = photo_rules(_label_dictionary(self.photo_graphs["labels"]))
        return json.dumps(rules, ensure_ascii=False, separators=(",", ":")).encode()

    @cached_property
    def graph(self) -> Path:
        """The graph the browser downloads: the model's, its weights stored in half the bytes where that loses nothing."""
        return half_stored_graph(self.model.path, self.model.source_sha256) if self.half_weights else self.model.path

    def _model_json(self) -> bytes:
        """What the reader needs besides the graph: the config, and the decoder's data from the Python that defines it
        (look-alike groups, the flag policy, named charsets), so the two decoders read one table."""
        files = {"graph": "model/recognizer.onnx", "graph_bytes": self.graph.stat().st_size}
        if self.runtime is not None:
            files["wasm_bytes"] = (self.runtime / "ort-wasm-simd-threaded.wasm").stat().st_size
        info = {
            "config": self.model.config.to_dict(),
            "lookalike_groups": LOOKALIKE_GROUPS,
            "flag_policy": dataclasses.asdict(DEFAULT_FLAGS),
            # What `recognize --layout auto` reads as a line crop from its size alone (reader._line_sized);
            # any other image goes to the detector (the whole-photo reader, "photo" below).
            "line_sized": {
                "max_height": LINE_MAX_HEIGHT,
                "min_aspect": LINE_MIN_ASPECT,
                "max_wide_height": LINE_MAX_WIDE_HEIGHT,
            },
            "named_charsets": NAMED_CHARSETS,
            # How many candidates a fine-tune's format prior chooses among (decoding.formats.POOL).
            "format_pool": FORMAT_POOL,
            # ModelConfig.output_length's formula: how many frames a line of a given width spans.
            "lcnet_frames": self.model.config.arch in LCNET_MODELS,
            "photo": self._photo_files(),
            **files,
        }
        return json.dumps(info, indent=1).encode()

    def _photo_files(self) -> dict[str, str | int] | None:
        """The whole-photo reader's files and their sizes (for the page's progress bar), or ``None`` without it."""
        if self.photo_graphs is None or self.photo_json is None:
            return None
        sizes = {
            "rules_bytes": len(self.photo_json),
            "detector_bytes": self.photo_graphs["detector"].stat().st_size,
            "labels_bytes": self.photo_graphs["labels"].stat().st_size,
            "angles_bytes": self.photo_graphs["angles"].stat().st_size,
        }
        # "features": model/labels.onnx is PP-OCRv6's CTC layer, run on the model's features output;
        # "line": it is PP-OCRv6's whole recognizer, run on the line's gray crop.
        return {**PHOTO_FILES, **sizes, "labels_from": "features" if self.labels_from_features else "line"}

    @cached_property
    def files(self) -> dict[str, Path | bytes]:
        """Every file of the site, by its path in the site (``index.html`` at the root)."""
        out: dict[str, Path | bytes] = {
            str(path.relative_to(STATIC)): path
            for path in sorted(STATIC.rglob("*"))
            if path.is_file() and path.name != SERVICE_WORKER and "__pycache__" not in path.parts
        }
        out["site.json"] = json.dumps({"in_page": self.in_page, "server": self.server}).encode()
        out["model/recognizer.onnx"] = self.graph
        out["model/model.json"] = self._model_json()
        fonts = _font_folder()
        out["fonts/page-mono.ttf"] = fonts / PAGE_FONT
        out["fonts/LICENSE.txt"] = fonts / PAGE_FONT_LICENSE
        if self.runtime is not None:
            for name in (*ORT_FILES, "LICENSE"):
                out[f"ort/{name}"] = self.runtime / name
        if self.photo_graphs is not None and self.photo_json is not None:
            out[PHOTO_FILES["rules"]] = self.photo_json
            out[PHOTO_FILES["detector"]] = self.photo_graphs["detector"]
            out[PHOTO_FILES["labels"]] = self.photo_graphs["labels"]
            out[PHOTO_FILES["angles"]] = self.photo_graphs["angles"]
            licences = self.photo_graphs["detector"].parent
            out["model/PP-OCRv6-LICENSE.txt"] = licences / "LICENSE"
            out["model/PP-OCRv6-MODEL_LICENSES.md"] = licences / "MODEL_LICENSES.md"
            out["model/PP-OCRv6-MODIFICATIONS.md"] = licences / "MODIFICATIONS.md"
        out[SERVICE_WORKER] = self._service_worker(out)
        return out

    def _service_worker(self, files: dict[str, Path | bytes]) -> bytes:
        """``static/sw.js`` with the site's file list and a version that changes with any file's bytes."""
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode())
            source = files[name]
            digest.update(source if isinstance(source, bytes) else bytes.fromhex(file_sha256(source)))
        template = (STATIC / SERVICE_WORKER).read_text(encoding="utf-8")
        listed = ["./", *sorted(files)]
        # The shell is cached at install; the large files and the whole-photo reader's as the page first fetches them.
        lazy = set(PHOTO_FILES.values())
        shell = [name for name in listed if name == "./" or (_size(files[name]) <= LARGE_FILE and name not in lazy)]
        return (
            template.replace('"__VERSION__"', json.dumps(digest.hexdigest()[:16]))
            .replace("[] /* __SHELL__ */", json.dumps(shell))
            .replace("[] /* __FILES__ */", json.dumps(listed))
            .encode()
        )

    def read(self, name: str) -> bytes:
        source = self.files[name]
        return source if isinstance(source, bytes) else source.read_bytes()


def _size(source: Path | bytes) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def export_web(
    out_dir: str | os.PathLike[str], checkpoint: str | os.PathLike[str] | None = None, runtime: Path | None = None
) -> WebApp:
    """Write the whole app (page, reader, onnxruntime-web, model, font, licences) into ``out_dir``; each file atomically.

    ``runtime`` is an onnxruntime-web folder from ``onnxruntime_web``; by default the cached one, fetched if missing.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PwocrError(f"{out}: exists and is not a folder")
    app = WebApp.for_checkpoint(checkpoint, runtime=runtime)
    for name, source in app.files.items():
        if isinstance(source, bytes):
            atomic_write(out / name, source)
        else:
            atomic_write(out / name, source.read_bytes())
    return app
