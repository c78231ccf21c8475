"""The web app's files, its static export and how pwocr serve serves them (no browser, no npm: a stand-in runtime)."""

import dataclasses
import json
import re

import numpy as np
import onnxruntime as ort
import pytest
from live_server import running

from pwocr.decoding.confidence import DEFAULT_FLAGS
from pwocr.decoding.formats import POOL
from pwocr.lookalikes import LOOKALIKE_GROUPS
from pwocr.serving.app import create_app
from pwocr.serving.settings import ServeSettings
from pwocr.serving.webapp import LARGE_FILE, ORT_FILES, WebApp, export_web, half_stored_graph


@pytest.fixture
def runtime(tmp_path):
    """A stand-in for the onnxruntime-web folder: the app only copies its files."""
    folder = tmp_path / "ort"
    folder.mkdir()
    for name in (*ORT_FILES, "LICENSE"):
        (folder / name).write_bytes(b"x" * (2 * LARGE_FILE if name.endswith(".wasm") else 10))
    return folder


def _listed(service_worker: bytes, name: str) -> list[str]:
    return json.loads(re.search(rf"const {name} = (\[.*?\]);", service_worker.decode()).group(1))


def test_the_service_worker_lists_the_site_and_precaches_only_the_small_files(tiny_checkpoint, runtime):
    app = WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime)
    worker = app.read("sw.js")
    files, shell = _listed(worker, "FILES"), _listed(worker, "SHELL")
    assert set(files) == {"./", *app.files} - {"sw.js"}  # the browser keeps the worker itself
    assert "ort/ort-wasm-simd-threaded.wasm" in files and "ort/ort-wasm-simd-threaded.wasm" not in shell
    assert {"./", "index.html", "app.js", "reader/worker.js", "site.json", "model/model.json"} <= set(shell)
    assert json.loads(app.read("site.json")) == {"in_page": True, "server": False}


def test_the_whole_photo_reader_is_listed_and_cached_when_first_fetched(tiny_checkpoint, runtime):
    from pwocr.serving.webapp import PHOTO_FILES

    app = WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime)
    worker = app.read("sw.js")
    files, shell = _listed(worker, "FILES"), _listed(worker, "SHELL")
    for name in PHOTO_FILES.values():
        assert name in files and name not in shell  # offline once read, never a cost of the first visit
    model = json.loads(app.read("model/model.json"))
    assert model["photo"] == {
        **PHOTO_FILES,
        "rules_bytes": len(app.read("model/photo.json")),
        "detector_bytes": len(app.read("model/detector.onnx")),
        "labels_bytes": len(app.read("model/labels.onnx")),
        "angles_bytes": len(app.read("model/angles.onnx")),
        "labels_from": "line",  # a VGG model's features are not PP-OCRv6's: its whole recognizer reads the words
    }
    assert model["lcnet_frames"] is (app.model.config.arch in ("crnn-lcnet", "crnn-svtr"))
    assert "model/PP-OCRv6-LICENSE.txt" in app.files and "model/PP-OCRv6-MODIFICATIONS.md" in app.files


def test_the_shipped_models_site_reads_a_photos_words_from_its_features(runtime):
    """PP-OCRv6's CTC layer (4.6 MB) over the model's features output, as Python reads them, instead
    of PP-OCRv6's whole recognizer (10.7 MB)."""
    from pwocr.inference.engine import OnnxEngine
    from pwocr.rapidocr_models import HEAD_FILE, RECOGNIZER_FILE, rapidocr_model_path

    app = WebApp.for_checkpoint(None, runtime=runtime)
    assert json.loads(app.read("model/model.json"))["photo"]["labels_from"] == "features"
    assert app.read("model/labels.onnx") == rapidocr_model_path(HEAD_FILE).read_bytes()
    assert len(app.read("model/labels.onnx")) < 0.5 * rapidocr_model_path(RECOGNIZER_FILE).stat().st_size
    assert OnnxEngine(app.files["model/recognizer.onnx"]).has_features  # the graph the page reads gives them


def test_the_whole_photo_rules_are_pythons(tiny_checkpoint, runtime):
    from pwocr.layout import clues, geometry, ink, photo
    from pwocr.layout.labels import default_label_reader
    from pwocr.layout.password import DEFAULT_WEIGHTS

    rules = json.loads(WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime).read("model/photo.json"))
    assert rules["detector"] == {
        "max_side": 960,
        "min_side": 640,
        "threshold": 0.3,
        "box_threshold": 0.55,
        "unclip_ratio": 1.6,
    }
    assert (rules["decode_side"], rules["line_read_height"]) == (photo.DECODE_SIDE, photo.LINE_READ_HEIGHT)
    assert rules["surely_upright"] == photo.SURELY_UPRIGHT
    assert (rules["word_gap_ratio"], rules["median_gaps"]) == (ink.WORD_GAP_RATIO, ink.MEDIAN_GAPS)
    assert (rules["space_gap"], rules["join_gap"], rules["side_margin"]) == (
        ink.SPACE_GAP,
        geometry.JOIN_GAP,
        geometry.SIDE_MARGIN,
    )
    assert rules["weights"] == dataclasses.asdict(DEFAULT_WEIGHTS)
    assert rules["clues"]["labels"] == [list(pair) for pair in clues._LABELS]
    assert dict(rules["clues"]["password_labels"]) == clues.PASSWORD_LABELS
    assert set(rules["digit_lookalikes"]) == set(photo._DIGIT_LOOKALIKES)
    reader = default_label_reader()
    assert reader is not None and ["", *rules["dictionary"], " "] == reader.classes


def test_a_site_that_reads_on_its_server_only_has_no_whole_photo_reader(tiny_checkpoint, runtime):
    server_only = WebApp(WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime).model, None)
    assert not {"model/detector.onnx", "model/labels.onnx", "model/photo.json"} & set(server_only.files)
    assert json.loads(server_only.read("model/model.json"))["photo"] is None


def test_the_version_changes_with_the_model(tiny_checkpoint, runtime):
    tiny = WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime).read("sw.js")
    shipped = WebApp.for_checkpoint(None, runtime=runtime).read("sw.js")
    version = re.compile(rb'const VERSION = "([0-9a-f]{16})"')
    assert version.search(tiny).group(1) != version.search(shipped).group(1)


def test_the_model_description_carries_the_config_and_the_decoders_data(tiny_checkpoint, runtime):
    app = WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime)
    model = json.loads(app.read("model/model.json"))
    assert model["config"] == app.model.config.to_dict()
    assert model["named_charsets"]["digits"] == "0123456789"
    assert model["format_pool"] == POOL  # the format prior's candidates, as decoding.formats counts them
    assert model["lookalike_groups"] == LOOKALIKE_GROUPS  # one table for both decoders
    assert model["flag_policy"] == dataclasses.asdict(DEFAULT_FLAGS)
    assert model["graph_bytes"] == len(app.read("model/recognizer.onnx"))


def test_the_shipped_graph_goes_to_the_browser_in_half_the_bytes_and_reads_the_same(tmp_path):
    pytest.importorskip("onnx", reason="the onnx package (the train extra) rewrites the graph")
    app = WebApp.for_checkpoint(None, runtime=None)
    assert app.graph.stat().st_size < 0.55 * app.model.path.stat().st_size
    lines = np.random.default_rng(0).uniform(-1, 1, (2, 3, 48, 200)).astype(np.float32)
    full = ort.InferenceSession(str(app.model.path)).run(None, {"images": lines})[0]
    half = ort.InferenceSession(str(app.graph)).run(None, {"images": lines})[0]
    assert np.array_equal(full, half)
    assert half_stored_graph(app.model.path, app.model.source_sha256) == app.graph  # cached, not rebuilt


def test_export_writes_every_file(tiny_checkpoint, runtime, tmp_path):
    app = export_web(tmp_path / "site", tiny_checkpoint, runtime=runtime)
    for name in app.files:
        assert (tmp_path / "site" / name).read_bytes() == app.read(name)


def test_export_refuses_a_file_in_place_of_the_folder(tiny_checkpoint, runtime, tmp_path):
    from pwocr.errors import PwocrError

    (tmp_path / "site").write_text("not a folder")
    with pytest.raises(PwocrError, match="not a folder"):
        export_web(tmp_path / "site", tiny_checkpoint, runtime=runtime)


def test_serve_serves_the_same_files_cross_origin_isolated(tiny_checkpoint, runtime):
    requests = pytest.importorskip("requests")
    web = WebApp.for_checkpoint(tiny_checkpoint, runtime=runtime)
    settings = ServeSettings(threads=1)
    with running(create_app(tiny_checkpoint, settings=settings, web=web), settings) as url:
        page = requests.get(f"{url}/")
        assert page.status_code == 200 and page.content == web.read("index.html")
        assert page.headers["cross-origin-embedder-policy"] == "require-corp"
        assert page.headers["cross-origin-opener-policy"] == "same-origin"
        assert "'wasm-unsafe-eval'" in page.headers["content-security-policy"]
        wasm = requests.get(f"{url}/ort/ort-wasm-simd-threaded.wasm")
        assert wasm.headers["content-type"] == "application/wasm"
        assert wasm.content == web.read("ort/ort-wasm-simd-threaded.wasm")
        assert requests.get(f"{url}/site.json").json() == {"in_page": True, "server": True}
        assert requests.get(f"{url}/health").json()["status"] == "ok"  # the API keeps its routes
        assert requests.get(f"{url}/no-such-file.js").status_code == 404
