"""Datasets that feed the trainer: labelled images from a CSV, and an endless synthetic stream."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, Sampler, get_worker_info

from pwocr.alphabet import Alphabet
from pwocr.data.augment import augment_line
from pwocr.data.images import load, probe
from pwocr.data.labels import LabelledImage, SkippedRow
from pwocr.data.preprocess import LinePreprocessor, normalise, padded_width
from pwocr.errors import PwocrError
from pwocr.model.config import ModelConfig
from pwocr.synth.fonts import FontSpec
from pwocr.synth.render import PasswordSynthesizer, SynthConfig

logger = logging.getLogger(__name__)

#: A training sample: the ``C x H x W`` line, its label, and where it came from.
Sample = tuple[torch.Tensor, str, str]

#: The source of a line the synthetic stream drew (every other source names a file).
SYNTHETIC_SOURCE = "<synthetic>"


def ctc_steps_needed(label: str) -> int:
    """Fewest CTC time steps that can spell ``label``: one per character, plus a blank between repeats."""
    return len(label) + sum(a == b for a, b in itertools.pairwise(label))


def min_width_for(label: str, config: ModelConfig) -> int:
    """Narrowest input width whose CRNN output is long enough for ``label``."""
    steps = ctc_steps_needed(label)
    width = config.width_step
    while config.output_length(width) < steps:
        width += config.width_step
    return width


def prepare_line(gray: np.ndarray, label: str, config: ModelConfig, width_scale: float = 1.0) -> torch.Tensor:
    """The inference preprocessing, widened just enough when CTC could not otherwise spell the label."""
    line = LinePreprocessor.for_model(config)(gray, width_scale, min_width_for(label, config))
    return torch.from_numpy(normalise([line])[0])


def pad_batch(
    lines: Sequence[torch.Tensor], pad_width: int = 0, pad_multiple: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``C x H x W_i`` lines into ``N x C x H x W``, padded on the right to the widest line's ``padded_width``.

    Each line is first padded with 0 (mid-gray) to its own ``padded_width``, as inference pads it
    (``LinePreprocessor.batch``), so validation, which cuts each line back to its ``padded_width``,
    reads exactly what recognize reads. A training batch then pads a short line on to its widest
    line's width: with 0 for a model with a ``pad_width``, else by repeating the last column.
    Returns the batch and the widths before padding (CTC reads the frames of each line's ``padded_width``).
    """
    widths = torch.tensor([t.shape[-1] for t in lines])
    buckets = padded_width(widths, pad_width, pad_multiple)
    max_width = int(buckets.max())
    mode = "constant" if pad_width else "replicate"
    batch = torch.stack(
        [
            torch.nn.functional.pad(
                torch.nn.functional.pad(t, (0, int(bucket) - t.shape[-1])), (0, max_width - int(bucket)), mode=mode
            )
            for t, bucket in zip(lines, buckets)
        ]
    )
    return batch, widths


def check_labelled_images(
    items: Sequence[LabelledImage], alphabet: Alphabet, config: ModelConfig
) -> list[LabelledImage]:
    """Keep the items that can be trained on; report each one that cannot, with its file and reason.

    A label with a character outside the alphabet is an error (never dropped silently); a missing
    or corrupt image, or a label too long for its image to be spelled by CTC, is reported and skipped.
    """
    kept = []
    for item in items:
        alphabet.encode(item.label, source=item.where)
        try:
            probe(item.path, verify=True)
        except PwocrError as e:
            logger.warning("%s; skipped", SkippedRow(item.where, str(e)))  # the CSV line, as evaluate names it
            continue
        # prepare_line widens a line that is too narrow for its label, up to the model's max width.
        if min_width_for(item.label, config) > config.max_width:
            # The label's length, not the label: a password's characters stay out of logs.
            logger.warning(
                "%s: %s: its %d-character label is too long for CTC to spell within %d px; skipped",
                item.where,
                item.path,
                len(item.label),
                config.max_width,
            )
            continue
        kept.append(item)
    if not kept:
        raise PwocrError("no usable labelled images: every one was reported above")
    return kept


class LabelledImages(Dataset[Sample]):
    """Images and labels from a seed-format CSV; augmented when training."""

    def __init__(
        self, items: Sequence[LabelledImage], config: ModelConfig, augment: bool = False, seed: int = 0
    ) -> None:
        self.items = list(items)
        self.config = config
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        item = self.items[index]
        image = load(item.path, colour=self.config.colour)
        width_scale = 1.0
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            image = augment_line(image, rng)
            width_scale = float(rng.uniform(0.85, 1.15))
        return prepare_line(image, item.label, self.config, width_scale), item.label, str(item.path)


class PreparedLines(Dataset[Sample]):
    """In-memory ``(image, label)`` pairs (gray or RGB), prepared once: a fixed synthetic validation set.

    Held in order of width, so that a batch of them spans few width buckets (one forward pass each).
    """

    def __init__(self, samples: Sequence[tuple[np.ndarray, str]], config: ModelConfig, name: str = "synthetic") -> None:
        lines = [(prepare_line(g, label, config), label, f"<{name} {i}>") for i, (g, label) in enumerate(samples)]
        self.lines = sorted(lines, key=lambda line: line[0].shape[-1])

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> Sample:
        return self.lines[index]


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1, start: int = 0
) -> Iterator[list[int]]:
    """The batches of indices one process trains on in one epoch, from its ``start``-th batch on, endlessly.

    The epoch is a sequence of passes over the data; pass ``p`` is a permutation seeded by
    ``(seed, epoch, p)``, the same on every process, padded by repetition to a multiple of
    ``world`` and dealt out so that process ``rank`` takes every ``world``-th index (its shard).
    A shard is cut into batches, the last partial one dropped when the shard holds more than one
    batch. Everything depends on those numbers alone, so a resumed run skips to batch ``start``
    without loading an image, and trains on exactly the batches the interrupted run would have.
    """
    per_pass = None
    skipped = 0
    for p in itertools.count():
        if per_pass is not None and skipped + per_pass <= start:
            skipped += per_pass  # a whole pass before the start: skip it without drawing it
            continue
        order = np.random.default_rng((seed, epoch, p)).permutation(n)
        shard = np.resize(order, math.ceil(n / world) * world)[rank::world].tolist()
        batches = [shard[i : i + batch_size] for i in range(0, len(shard), batch_size)]
        if len(batches) > 1 and len(batches[-1]) < batch_size:
            batches.pop()
        per_pass = len(batches)
        for batch in batches:
            if skipped >= start:
                yield batch
            skipped += 1


class EpochBatches(Sampler[list[int]]):
    """``epoch_batches`` as a DataLoader batch sampler (endless: the trainer takes as many as it needs)."""

    def __init__(
        self, n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1, start: int = 0
    ) -> None:
        self.args = (n, batch_size, seed, epoch, rank, world, start)

    def __iter__(self) -> Iterator[list[int]]:
        return epoch_batches(*self.args)


@dataclass(frozen=True)
class StreamSpec:
    """An endless training stream: fresh synthetic lines, optionally mixed with a user's labelled images."""

    seed: int
    synth: SynthConfig
    fonts: tuple[FontSpec, ...]
    real: tuple[LabelledImage, ...] = ()
    synth_ratio: float = 1.0  # share of synthetic samples when ``real`` is given
    rank: int = 0  # each process of a distributed run draws its own stream


class SyntheticStream(IterableDataset[Sample]):
    """Fresh samples forever, in batches; restartable at any batch.

    Samples are drawn in pools of ``buckets`` batches, sorted by width, cut into batches and
    shuffled: padding a batch to its widest line then costs little, which about doubles training
    speed on a CPU. Pool ``p`` is drawn from generators seeded by ``(seed, rank, p)`` alone, and
    DataLoader worker ``w`` of ``W`` draws pools ``w, w + W, ...`` (the loader takes their batches
    in turn), so a resumed run starts at batch ``start`` by drawing only the pool it falls in.
    """

    def __init__(
        self, spec: StreamSpec, config: ModelConfig, batch_size: int = 1, buckets: int = 8, start: int = 0
    ) -> None:
        self.spec = spec
        self.config = config
        self.batch_size = batch_size
        self.buckets = buckets
        self.start = start

    def _pool(self, pool: int) -> list[Sample]:
        spec = self.spec
        key = (spec.seed, spec.rank, pool)
        synthesizer = PasswordSynthesizer(seed=0, config=spec.synth, fonts=spec.fonts)
        synthesizer.rng = np.random.default_rng((*key, 0))
        rng = np.random.default_rng((*key, 1))
        real = LabelledImages(spec.real, self.config, augment=True, seed=spec.seed) if spec.real else None
        samples = []
        for i in range(self.batch_size * self.buckets):
            if real is not None and rng.random() >= spec.synth_ratio:
                real.epoch = pool * self.batch_size * self.buckets + i  # a fresh augmentation each draw
                samples.append(real[int(rng.integers(0, len(real)))])
                continue
            gray, label = synthesizer.sample()
            width_scale = float(rng.uniform(0.8, 1.2))
            samples.append((prepare_line(gray, label, self.config, width_scale), label, SYNTHETIC_SOURCE))
        return sorted(samples, key=lambda s: s[0].shape[-1])

    def __iter__(self) -> Iterator[Sample]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        # Batches the loader already took from this worker: it takes one from each worker in turn.
        local = max(0, (self.start - worker + workers - 1) // workers)
        size = self.batch_size
        for q in itertools.count(local // self.buckets):
            pool_index = worker + workers * q
            pool = self._pool(pool_index)
            order = np.random.default_rng((self.spec.seed, self.spec.rank, pool_index, 2)).permutation(self.buckets)
            skip = local % self.buckets if q == local // self.buckets else 0
            for b in order[skip:]:
                yield from pool[b * size : (b + 1) * size]


@dataclass
class Batch:
    images: torch.Tensor  # N x C x H x W
    widths: torch.Tensor  # N, before padding
    targets: torch.Tensor  # concatenated class indices
    target_lengths: torch.Tensor  # N
    labels: list[str]
    sources: list[str]
    config: ModelConfig  # how many CTC steps a width gives

    @property
    def output_lengths(self) -> torch.Tensor:
        """CTC frames of each line: over its ``padded_width``, the frames inference decodes."""
        return self.config.output_length(padded_width(self.widths, self.config.pad_width, self.config.pad_multiple))

    @property
    def synthetic(self) -> torch.Tensor:
        """Which lines the synthetic stream drew (the others are the user's images)."""
        return torch.tensor([source == SYNTHETIC_SOURCE for source in self.sources], dtype=torch.bool)

    def targets_of(self, i: int) -> torch.Tensor:
        """The class indices of sample ``i``'s label."""
        start = int(self.target_lengths[:i].sum())
        return self.targets[start : start + int(self.target_lengths[i])]


class Collate:
    """Pads a list of samples into a ``Batch`` with CTC targets (a class, so it pickles into workers)."""

    def __init__(self, alphabet: Alphabet, config: ModelConfig) -> None:
        self.alphabet = alphabet
        self.config = config

    def __call__(self, samples: Sequence[Sample]) -> Batch:
        lines, labels, sources = zip(*samples)
        images, widths = pad_batch(lines, self.config.pad_width, self.config.pad_multiple)
        encoded = [self.alphabet.encode(label, source) for label, source in zip(labels, sources)]
        targets = torch.tensor([i for e in encoded for i in e], dtype=torch.long)
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        return Batch(images, widths, targets, lengths, list(labels), list(sources), self.config)
