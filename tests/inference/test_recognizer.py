import dataclasses
import io
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import torch
from conftest import TINY_LABELS, draw_line
from PIL import Image

from pwocr.checkpoints import CONFIG_KEY, load_model, save_weights
from pwocr.decoding.confidence import string_probability
from pwocr.decoding.constraints import Constraints
from pwocr.decoding.formats import FormatPrior
from pwocr.decoding.policy import decode_table
from pwocr.inference.engine import OnnxEngine
from pwocr.inference.onnx import export_onnx
from pwocr.inference.recognizer import Recognizer, equal_width_batches, tempered_probabilities


def test_reads_path_bytes_pil_and_array_alike(tiny_checkpoint, tmp_path):
    image = draw_line(TINY_LABELS[1])
    image.save(tmp_path / "x.png")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    recognizer = Recognizer(tiny_checkpoint, backend="torch")
    texts = {recognizer.read(s).text for s in (tmp_path / "x.png", buffer.getvalue(), image, np.asarray(image))}
    assert texts == {TINY_LABELS[1]}


def test_exported_onnx_runs_alone_and_matches_torch(tiny_checkpoint, tmp_path):
    model = load_model(tiny_checkpoint)
    export_onnx(model, tmp_path / "tiny.onnx")
    engine = OnnxEngine(tmp_path / "tiny.onnx")
    assert CONFIG_KEY in engine.metadata
    assert engine.config == model.config  # alphabet, preprocessing and temperature travel with the graph
    for width in (40, 96, 160):
        images = torch.randn(3, 1, 32, width)
        with torch.inference_mode():
            expected = model(images).numpy()
        assert np.allclose(engine(images.numpy()), expected, atol=1e-4)
        log_probs, features = engine.with_features(images.numpy())
        with torch.inference_mode():
            expected_features = model.forward_with_features(images)[1].numpy()
        assert np.allclose(log_probs, expected, atol=1e-4) and np.allclose(features, expected_features, atol=1e-4)
    onnx_reading = Recognizer(tmp_path / "tiny.onnx").read(draw_line("Zz9"))
    assert onnx_reading.text == "Zz9"


def test_onnx_graph_is_exported_once_and_cached(tiny_checkpoint):
    first = Recognizer(tiny_checkpoint)
    second = Recognizer(tiny_checkpoint)
    assert first.engine.path == second.engine.path and first.engine.path.suffix == ".onnx"


def test_a_damaged_cached_graph_is_exported_again_not_blamed(tiny_checkpoint):
    """The cache is pwocr's: a graph cut short (or cached by an older pwocr) is mended, never the user's error."""
    cached = Recognizer(tiny_checkpoint).engine.path
    cached.write_bytes(cached.read_bytes()[:100])
    again = Recognizer(tiny_checkpoint)
    assert again.engine.path == cached and again.read(draw_line("Zz9")).text == "Zz9"


def _mixed_lines(n: int) -> list[Image.Image]:
    rng = np.random.default_rng(5)
    lines = []
    for _ in range(n):
        text = "".join(rng.choice(list(TINY_LABELS[int(rng.integers(0, 6))] + "ab1"), int(rng.integers(2, 9))))
        lines.append(draw_line(text, size=int(rng.integers(18, 40)), min_width=int(rng.integers(20, 200))))
    return lines


def test_a_reading_never_depends_on_its_batch_mates(tiny_checkpoint):
    lines = _mixed_lines(220)
    recognizer = Recognizer(tiny_checkpoint, batch_size=16)
    batched = recognizer.read_batch(lines)
    shuffled_order = np.random.default_rng(1).permutation(len(lines))
    shuffled = recognizer.read_batch([lines[i] for i in shuffled_order])
    single = [recognizer.read(line) for line in lines]
    widths = {recognizer.preprocess(np.asarray(line.convert("L"))).shape[1] for line in lines}
    assert len(widths) > 10  # the set mixes many widths
    for i, reading in enumerate(batched):
        assert reading.text == single[i].text == shuffled[int(np.flatnonzero(shuffled_order == i)[0])].text
        assert reading.confidence == pytest.approx(single[i].confidence, rel=1e-4, abs=1e-6)


def test_equal_width_batches_never_mix_widths():
    widths = [40, 80, 40, 120, 80, 40, 40]
    batches = equal_width_batches(widths, batch_size=2)
    assert sorted(i for b in batches for i in b) == list(range(len(widths)))
    assert all(len({widths[i] for i in b}) == 1 and len(b) <= 2 for b in batches)


def test_reading_structure_and_candidates(tiny_checkpoint):
    reading = Recognizer(tiny_checkpoint).read(draw_line("Zz9"), candidates=4)
    assert reading.text == "Zz9" == reading.candidates[0].text
    assert len({c.text for c in reading.candidates}) == len(reading.candidates) <= 4
    assert 0 < reading.confidence <= 1
    assert len(reading.chars) == 3
    assert reading.as_dict()["chars"][0]["char"] == "Z"


def test_top_k_is_listed_beside_the_reading_not_instead_of_it(tiny_checkpoint):
    recognizer = Recognizer(tiny_checkpoint)
    for line in _mixed_lines(30):
        one, five = recognizer.read(line), recognizer.read(line, candidates=5)
        assert one.text == five.text == five.candidates[0].text
        assert one.confidence == pytest.approx(five.confidence)


def test_a_format_prior_kept_in_a_checkpoint_reads_the_same_in_both_backends(tiny_checkpoint, tmp_path):
    """The prior rides in the checkpoint's config and in its exported graph; each backend decodes through it."""
    model = load_model(tiny_checkpoint)
    # A shape none of the tiny labels has, so the prior must pull the reading off the glyphs' best.
    prior = FormatPrior((("aa0", 0.9),), 1e-6, 2.0)
    model.config = dataclasses.replace(model.config, **prior.as_config())
    save_weights(model, tmp_path / "formats.safetensors")
    gray = np.asarray(draw_line("Zz9").convert("L"))
    texts = set()
    for backend in ("onnx", "torch"):
        recognizer = Recognizer(tmp_path / "formats.safetensors", backend=backend)
        assert recognizer.prior == prior
        (probs,) = recognizer.probabilities([gray])
        expected = decode_table(probs, recognizer.alphabet, 3, prior=prior)
        reading = recognizer.read(gray, candidates=3)
        assert [c.text for c in reading.candidates] == [c.text for c in expected.candidates]
        texts.add(reading.text)
    plain = Recognizer(tiny_checkpoint).read(gray).text
    assert plain == "Zz9" and texts == {expected.best.text} and expected.best.text != plain


def test_constrained_reading_obeys_length(tiny_checkpoint):
    reading = Recognizer(tiny_checkpoint).read(draw_line("M#m"), candidates=3, constraints=Constraints.exact_length(2))
    assert reading.candidates and all(len(c.text) == 2 for c in reading.candidates)


def test_constrained_confidence_is_the_models_own_probability(tiny_checkpoint):
    recognizer = Recognizer(tiny_checkpoint)
    gray = np.asarray(draw_line("a1!").convert("L"))
    (probs,) = recognizer.probabilities([gray])
    reading = recognizer.read(gray, candidates=3, constraints=Constraints(allowed="abc"))
    assert set(reading.text) <= set("abc")
    labels = [recognizer.alphabet.index(c) for c in reading.text]
    assert reading.confidence == pytest.approx(string_probability(probs, labels), rel=1e-6)
    assert reading.confidence < 0.05  # not renormalised over the three allowed characters


def test_temperature_changes_confidence_not_the_argmax():
    logits = np.log(np.random.default_rng(0).dirichlet(np.ones(5), size=7))
    for t in (0.5, 1.0, 2.0):
        assert np.array_equal(tempered_probabilities(logits, t).argmax(-1), logits.argmax(-1))


def test_streaming_keeps_memory_bounded(tiny_checkpoint, tmp_path):
    # 40 photos of 1600x1200: held whole they would take 77 MB of gray pixels.
    photo = np.full((1200, 1600), 255, np.uint8)
    photo[500:700, 100:1500] = 0
    for i in range(40):
        Image.fromarray(photo).save(tmp_path / f"p{i:02d}.png")
    recognizer = Recognizer(tiny_checkpoint)
    files = sorted(tmp_path.glob("*.png"))
    tracemalloc.start()
    count = sum(1 for _ in recognizer.read_stream(files, chunk=4))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 40
    assert peak < 30e6


def test_reading_imports_no_torch(tiny_checkpoint):
    code = (
        "import sys, pwocr; from pwocr import Recognizer; "
        f"r = Recognizer({str(tiny_checkpoint)!r}); "
        "import numpy as np; r.read(np.full((32, 96), 255, np.uint8)); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    Recognizer(tiny_checkpoint)  # the graph is in the cache now
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_onnx_whose_metadata_alphabet_is_shorter_than_its_output_is_refused_at_load(tiny_checkpoint, tmp_path):
    import json

    import onnx

    from pwocr.errors import PwocrError

    export_onnx(load_model(tiny_checkpoint), tmp_path / "tiny.onnx")
    graph = onnx.load(tmp_path / "tiny.onnx")
    entry = next(e for e in graph.metadata_props if e.key == CONFIG_KEY)
    config = json.loads(entry.value)
    config["alphabet"] = config["alphabet"][:10]  # the graph still outputs all 95 classes
    entry.value = json.dumps(config)
    onnx.save(graph, tmp_path / "short.onnx")
    with pytest.raises(
        PwocrError, match=r"short.onnx: its graph outputs 95 classes, but the alphabet in its metadata has 10"
    ):
        Recognizer(tmp_path / "short.onnx")


def test_lines_of_one_width_bucket_share_a_forward_pass(tiny_checkpoint):
    lines = _mixed_lines(120)
    recognizer = Recognizer(tiny_checkpoint, batch_size=256)
    widths = [recognizer.preprocess(np.asarray(line.convert("L"))).shape[1] for line in lines]
    buckets = {recognizer.preprocess.padded_width(w) for w in widths}
    engine, passes = recognizer.engine, []
    recognizer.engine = lambda batch: passes.append(batch.shape[-1]) or engine(batch)
    tables = recognizer.log_probabilities([np.asarray(line) for line in lines])
    assert len(buckets) < len(set(widths))  # the set has several widths in one bucket
    assert sorted(passes) == sorted(buckets)
    alone = Recognizer(tiny_checkpoint, batch_size=1)
    for line, table in zip(lines, tables):
        np.testing.assert_allclose(table, alone.log_probabilities([np.asarray(line)])[0], atol=1e-4)


def test_a_folder_with_a_bad_file_logs_it_by_name_and_reads_the_rest(tiny_checkpoint, tmp_path, caplog):
    draw_line("Zz9").save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    with caplog.at_level("WARNING", logger="pwocr"):
        readings = Recognizer(tiny_checkpoint).read_folder(tmp_path)
    assert [r.text for r in readings] == ["Zz9"]
    assert len(caplog.records) == 1 and "b.png" in caplog.records[0].getMessage()
    assert caplog.records[0].getMessage().endswith("skipped")


def test_features_come_only_from_a_model_whose_features_are_ppocrv6s(tiny_checkpoint):
    """The shipped crnn-svtr gives each line's PP-OCRv6 features over its own frames; a VGG model none."""
    line = np.asarray(draw_line("Zz9"))
    shipped = Recognizer("default", threads=1)
    lines = [line, line[:, : line.shape[1] // 2]]
    probs, features = shipped.probabilities_and_features(lines)
    assert [f.shape for f in features] == [(shipped.line_frames(x.shape), 120) for x in lines]
    assert all(len(p) >= len(f) for p, f in zip(probs, features))  # the tables keep their padding's frames
    tiny = Recognizer(tiny_checkpoint)
    assert not tiny.config.ppocr_features and tiny.probabilities_and_features([line])[1] is None
