"""Training data positions are pure functions of seed, epoch, rank and batch: a resumed run skips, never re-draws."""

import itertools

import pytest
import torch

from pwocr.alphabet import Alphabet
from pwocr.data.labels import LabelledImage, check_labels
from pwocr.errors import PwocrError
from pwocr.model.config import ModelConfig
from pwocr.synth.fonts import fonts_for
from pwocr.synth.render import SynthConfig
from pwocr.training.datasets import StreamSpec, SyntheticStream, epoch_batches


def _take(iterator, n):
    return list(itertools.islice(iterator, n))


def test_epoch_batches_start_where_the_skipped_ones_end():
    full = _take(epoch_batches(10, 3, seed=1, epoch=2), 12)  # four passes of three batches
    assert all(len(b) == 3 for b in full)
    for start in (0, 1, 3, 7):
        assert _take(epoch_batches(10, 3, seed=1, epoch=2, start=start), 12 - start) == full[start:]
    assert full[:3] != _take(epoch_batches(10, 3, seed=1, epoch=3), 3)


def test_ranks_take_disjoint_shards_of_each_pass():
    shards = [_take(epoch_batches(10, 5, seed=0, epoch=0, rank=r, world=2), 1)[0] for r in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(10))
    # Fewer items than ranks: every rank still gets a batch.
    assert all(_take(epoch_batches(1, 4, seed=0, epoch=0, rank=r, world=3), 1) == [[0]] for r in range(3))


def test_synthetic_stream_restarts_at_any_batch():
    config = ModelConfig("0123456789", "crnn-tiny")
    spec = StreamSpec(seed=3, synth=SynthConfig(alphabet="0123456789", max_length=8), fonts=fonts_for("train")[:2])

    def batches(start):
        samples = iter(SyntheticStream(spec, config, batch_size=2, buckets=2, start=start))
        return [[s[1] for s in _take(samples, 2)] for _ in range(5 - start)]

    full = batches(0)
    assert batches(3) == full[3:]
    other = StreamSpec(**{**spec.__dict__, "rank": 1})
    assert [s[1] for s in _take(iter(SyntheticStream(other, config, 2, 2)), 2)] != full[0]
    assert isinstance(next(iter(SyntheticStream(spec, config, 2, 2)))[0], torch.Tensor)


def test_check_labels_names_the_line_and_hints_at_a_stray_space():
    items = [LabelledImage("a.png", "ab", "l.csv:2"), LabelledImage("b.png", "ab ", "l.csv:3")]
    with pytest.raises(
        PwocrError, match=r"^l.csv:3: label has character ' ' \(character 3 of 3\) .*space after the comma"
    ):
        check_labels(items, Alphabet("ab"))
    check_labels(items[:1], Alphabet("ab"))
