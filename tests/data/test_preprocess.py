import numpy as np
import pytest
import torch

from pwocr.alphabet import Alphabet
from pwocr.data.preprocess import LinePreprocessor, normalise, padded_width
from pwocr.model.config import ModelConfig
from pwocr.training.datasets import Collate


@pytest.mark.parametrize(
    ("width", "expected"), [(40, 128), (128, 128), (136, 160), (160, 160), (168, 192), (1000, 1024)]
)
def test_a_line_is_padded_to_pad_width_or_its_bucket(width, expected):
    assert padded_width(width, 128, 32) == expected
    assert padded_width(torch.tensor([width]), 128, 32).tolist() == [expected]


def test_without_buckets_a_wide_line_keeps_its_width():
    assert padded_width(136, 128, 0) == 136


def test_lines_of_one_bucket_batch_as_they_read_alone():
    preprocess = LinePreprocessor(48, 32, 1024, 8, in_channels=3, pad_width=128, pad_multiple=32)
    rng = np.random.default_rng(0)
    lines = [rng.integers(0, 256, (48, w, 3), dtype=np.uint8) for w in (136, 152, 160)]
    batch = preprocess.batch(lines)
    assert batch.shape == (3, 3, 48, 160)
    for line, row in zip(lines, batch):
        np.testing.assert_array_equal(row, preprocess.batch([line])[0])
        assert not row[:, :, line.shape[1] :].any()  # mid-gray padding is 0 after normalising
    np.testing.assert_allclose(batch[0, :, :, :136], lines[0].transpose(2, 0, 1) / 127.5 - 1, atol=1e-6)


def test_lines_of_different_buckets_are_refused_one_batch():
    preprocess = LinePreprocessor(48, 32, 1024, 8, pad_width=128, pad_multiple=32)
    with pytest.raises(ValueError, match="buckets"):
        preprocess.batch([np.zeros((48, 136), np.uint8), np.zeros((48, 200), np.uint8)])


def test_gray_lines_normalise_to_one_channel():
    assert normalise([np.full((48, 40), 255, np.uint8)], 64).shape == (1, 1, 48, 64)


def test_training_batches_give_each_line_the_frames_of_its_bucket():
    config = ModelConfig("ab", arch="crnn-svtr", pad_width=128, pad_multiple=32)
    lines = [(torch.zeros(3, 48, w), "ab", f"{w}.png") for w in (136, 48)]
    batch = Collate(Alphabet("ab"), config)(lines)
    assert batch.images.shape[-1] == 160
    assert batch.output_lengths.tolist() == [config.output_length(160), config.output_length(128)]


def test_validation_reads_each_line_as_recognize_pads_it_without_a_pad_width():
    config = ModelConfig("ab", arch="crnn-tiny", pad_width=0, pad_multiple=32)
    preprocess = LinePreprocessor.for_model(config)
    lines = [np.full((32, w), 200, np.uint8) for w in (40, 104)]
    batch = Collate(Alphabet("ab"), config)([(torch.from_numpy(normalise([x])[0]), "ab", "x.png") for x in lines])
    # The 40-px line's bucket is 64 px: mid-gray to there, as inference pads it alone.
    assert np.array_equal(batch.images[0, :, :, :64].numpy(), preprocess.batch([lines[0]])[0])
