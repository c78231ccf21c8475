"""Colour (RGB) input and PP-OCRv6-style padding: config, preprocessing, weights, training and reading."""

import dataclasses
import logging

import numpy as np
import pytest
import torch
from conftest import TINY_LABELS, draw_line, make_labelled_folder

from pwocr.alphabet import Alphabet
from pwocr.checkpoints import build_model, load_state, save_weights
from pwocr.data.images import colour_to_gray, load
from pwocr.data.preprocess import LinePreprocessor
from pwocr.errors import PwocrError
from pwocr.inference.recognizer import Recognizer
from pwocr.model.config import ModelConfig
from pwocr.model.surgery import with_input_channels
from pwocr.synth.render import PasswordSynthesizer, SynthConfig
from pwocr.training.datasets import Collate, pad_batch, prepare_line
from pwocr.training.trainer import TrainConfig, train


def _red_on_green(width: int = 60, height: int = 20) -> np.ndarray:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[...] = (0, 160, 0)
    rgb[5:15, 10:50] = (200, 0, 0)
    return rgb


def test_config_checks_channels_and_padding():
    assert ModelConfig("ab").in_channels == 1 and ModelConfig("ab").pad_width == 0
    with pytest.raises(PwocrError, match="in_channels 2"):
        ModelConfig("ab", in_channels=2)
    with pytest.raises(PwocrError, match="pad_width 12 must be 0 or a multiple of width_step 8"):
        ModelConfig("ab", pad_width=12)
    with pytest.raises(PwocrError, match="up to max_width 800"):
        ModelConfig("ab", pad_width=808)
    # Old checkpoints (no such fields in their metadata) read as gray and unpadded.
    saved = {k: v for k, v in ModelConfig("ab").to_dict().items() if k not in ("in_channels", "pad_width")}
    assert ModelConfig.from_dict(saved) == ModelConfig("ab")


def test_load_image_keeps_colour_only_when_asked(tmp_path):
    from PIL import Image

    rgb = _red_on_green()
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "g.png")
    assert np.array_equal(load(tmp_path / "c.png", colour=True), rgb)
    assert np.array_equal(load(tmp_path / "c.png"), colour_to_gray(rgb))
    # A gray file stays 2-D even for a colour model: the preprocessor repeats it over the channels.
    assert load(tmp_path / "g.png", colour=True).ndim == 2
    assert np.array_equal(load(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), colour=True), rgb)
    Image.fromarray(rgb).convert("LA").save(tmp_path / "la.png")  # gray with alpha stays gray
    assert load(tmp_path / "la.png", colour=True).ndim == 2


def test_preprocessor_turns_any_image_into_the_models_channels_and_pads_with_mid_gray():
    rgb, gray = _red_on_green(), colour_to_gray(_red_on_green())
    colour = LinePreprocessor.for_model(ModelConfig("ab", in_channels=3, pad_width=96))
    mono = LinePreprocessor.for_model(ModelConfig("ab"))
    assert colour(rgb).shape == (32, 96, 3)
    assert np.array_equal(colour(gray)[..., 0], colour(gray)[..., 2])  # gray repeated over R, G, B
    assert np.array_equal(mono(rgb), mono(gray))  # a gray model reads colour along its main axis
    narrow = colour(rgb[:, :20])
    batch = colour.batch([narrow, narrow])
    assert batch.shape == (2, 3, 32, 96) and narrow.shape[1] < 96
    assert np.all(batch[..., narrow.shape[1] :] == 0)  # 0 is mid-gray in [-1, 1]
    assert np.allclose(batch[0, :, :, : narrow.shape[1]], narrow.transpose(2, 0, 1) / 127.5 - 1)
    assert mono.batch([mono(gray)]).shape == (1, 1, 32, 96)  # wide enough: no padding
    # Gray for a colour model: resized once, then repeated (never a full-size three-channel copy).
    assert np.array_equal(colour(gray), np.repeat(mono(gray)[..., None], 3, axis=2))


def test_training_batches_pad_like_inference_and_ctc_reads_the_padding():
    config = ModelConfig("abc", arch="crnn-tiny", in_channels=3, pad_width=96)
    lines = [prepare_line(np.full((20, w), 200, np.uint8), "ab", config) for w in (20, 40)]
    images, widths = pad_batch(lines, config.pad_width)
    assert images.shape[1:] == (3, 32, 96) and torch.all(images[0, :, :, widths[0] :] == 0)
    batch = Collate(Alphabet("abc"), config)([(line, "ab", "x") for line in lines])
    assert batch.output_lengths.tolist() == [config.output_length(96)] * 2
    # Without a pad_width, a short line is stretched by its last column, as before.
    gray = [prepare_line(np.full((20, w), 200, np.uint8), "ab", ModelConfig("abc", arch="crnn-tiny")) for w in (20, 40)]
    images, widths = pad_batch(gray)
    last_column = images[0, :, :, widths[0] - 1 : widths[0]]
    assert torch.equal(images[0, :, :, widths[0] :], last_column.expand(-1, -1, images.shape[-1] - widths[0]))


def test_evaluate_keeps_lines_not_photos_and_takes_any_array(tiny_checkpoint):
    from pwocr.evaluation.evaluate import evaluate

    recognizer = Recognizer(tiny_checkpoint)
    rgba = np.asarray(draw_line("Zz9").convert("RGBA"))
    report = evaluate(recognizer, [(rgba, "Zz9"), (np.asarray(draw_line("a1!")), "a1!")])
    assert report.metrics.word_accuracy == 1.0


def test_synthetic_lines_render_in_colour_for_a_colour_model():
    image, _ = PasswordSynthesizer(3, config=SynthConfig(colour=True)).sample()
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    gray, _ = PasswordSynthesizer(3).sample()
    assert gray.ndim == 2


@pytest.mark.parametrize("size", ["crnn-tiny", "crnn-svtr"])
def test_a_gray_model_widened_to_colour_reads_gray_lines_as_before(size):
    gray_config = ModelConfig("ab1", arch=size)
    model = build_model(gray_config).eval()
    colour_config = dataclasses.replace(gray_config, in_channels=3)
    weights = with_input_channels(model.state_dict(), colour_config)
    widened = build_model(colour_config, weights).eval()
    x = torch.rand(2, 1, gray_config.height, 64) * 2 - 1
    with torch.inference_mode():
        assert torch.allclose(model(x), widened(x.repeat(1, 3, 1, 1)), atol=1e-4)
    back = with_input_channels(weights, gray_config)
    with torch.inference_mode():
        assert torch.allclose(build_model(gray_config, back).eval()(x), model(x), atol=1e-4)


def test_ppocr_first_conv_is_recovered_exactly_from_its_gray_sum():
    from pwocr.model.pretrained import _conv_parameters, colour_first_conv, rapidocr_rec_path

    bgr = torch.tensor(np.asarray(_conv_parameters(rapidocr_rec_path())[0][0], np.float32))
    # Stored in half precision, as the shipped weights are.
    rgb = colour_first_conv(bgr.sum(1, keepdim=True).half())
    assert torch.equal(rgb, bgr.flip(1))  # PP-OCR reads BGR; pwocr hands its model RGB
    other = torch.randn(bgr.shape[0], 1, 3, 3)
    assert torch.allclose(colour_first_conv(other), other.repeat(1, 3, 1, 1) / 3)


def test_colour_fine_tune_of_a_gray_checkpoint_reads_and_exports(tiny_checkpoint, tmp_path, caplog):
    csv = make_labelled_folder(tmp_path / "d", TINY_LABELS)
    out = tmp_path / "c"
    caplog.set_level(logging.INFO, logger="pwocr")
    train(
        TrainConfig(
            imgs_folder=str(csv.parent),
            train_file=str(csv),
            weights_file=str(tiny_checkpoint),
            soup=1,
            colour=True,
            pad_width=96,
            out=str(out),
            logs=str(tmp_path / "l"),
            epochs=1,
            steps_per_epoch=1,
            synth_ratio=0.0,
            n_workers=0,
            lr=1e-9,
            seed=0,
            calibrate=False,
        ),
        progress=False,
    )
    assert any("widened to three channels" in m for m in caplog.messages)
    config, weights = load_state(out / "last.safetensors")
    assert config.in_channels == 3 and config.pad_width == 96
    assert weights["cnn.0.weight"].shape[1] == 3
    # Barely trained (lr 1e-9): it reads its set as the gray model did, through ONNX and torch.
    for backend in ("onnx", "torch"):
        recognizer = Recognizer(out / "last.safetensors", backend=backend)
        assert recognizer.preprocess.colour
        line = draw_line("Zz9").convert("RGB")
        reading = recognizer.read(line)
        assert reading.text == "Zz9"
        table = recognizer.probabilities([np.asarray(line)])[0]
        assert recognizer.line_frames(np.asarray(line).shape) <= len(table) == config.output_length(96)


def test_a_gray_checkpoint_saved_as_colour_keeps_its_config(tiny_checkpoint, tmp_path):
    config, weights = load_state(tiny_checkpoint)
    colour = dataclasses.replace(config, in_channels=3, pad_width=128)
    weights = with_input_channels(weights, colour)
    save_weights(build_model(colour, weights), tmp_path / "c.safetensors")
    assert load_state(tmp_path / "c.safetensors")[0] == colour


def test_a_fresh_colour_lcnet_starts_from_ppocr_colour_filters_in_rgb_order():
    """PP-OCR reads BGR: a colour model's first conv is its filters with the channels reversed, so a
    gray line (R = G = B) reads exactly as in the gray model, and blue ink weighs what PP-OCR gives it."""
    from pwocr.model.lcnet import LCNetFeatures
    from pwocr.model.pretrained import _conv_parameters, load_pretrained_features, rapidocr_rec_path

    gray, colour = LCNetFeatures(1).eval(), LCNetFeatures(3).eval()
    load_pretrained_features(gray)
    load_pretrained_features(colour)
    bgr = torch.tensor(np.asarray(_conv_parameters(rapidocr_rec_path())[0][0], np.float32))
    assert torch.equal(colour.stem.conv1.weight, bgr.flip(1))
    x = torch.rand(1, 1, 48, 64) * 2 - 1
    with torch.inference_mode():
        assert torch.allclose(gray(x), colour(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_train_refuses_a_pad_width_the_model_cannot_take():
    with pytest.raises(PwocrError, match="--pad_width 100: must be a multiple of 8"):
        TrainConfig(synth_ratio=1.0, steps_per_epoch=1, pad_width=100).check()
