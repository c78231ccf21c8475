"""CRNN of Shi, Bai & Yao (arXiv 1507.05717): conv features, map-to-sequence, two BiLSTMs, CTC.

The conv feature extractor is the paper's VGG stack (``crnn`` and its narrower ``-small`` and
``-tiny``) or, in ``crnn-lcnet``, PP-LCNetV4 (``pwocr.model.lcnet``), a depthwise-separable stack
that can start from PP-OCRv6's openly licensed weights; the sequence model and CTC are the same.
"""

from __future__ import annotations

import torch
from torch import nn

from pwocr.model.config import MODEL_SIZES, VGG_WIDTHS, ModelConfig
from pwocr.model.lcnet import BLOCK_OUTPUTS, LCNET_CHANNELS, LCNetFeatures
from pwocr.model.refiner import LookalikeRefiner
from pwocr.model.svtr import LightSVTRMixer

#: The PP-LCNetV4 blocks (after the stem) whose output the look-alike refiner reads: general stroke
#: features, before the last blocks where training on passwords cost real words (MODEL_CARD, stage 8).
REFINER_TAP = 7

__all__ = ["CRNN", "MODEL_SIZES", "VGG_WIDTHS", "ModelConfig"]


def _conv(c_in: int, c_out: int, kernel: int, padding: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, 1, padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return layers


def _vgg(c: tuple[int, ...], in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        *_conv(in_channels, c[0], 3, 1, False),
        nn.MaxPool2d(2, 2),  # 16 x W/2
        *_conv(c[0], c[1], 3, 1, False),
        nn.MaxPool2d(2, 2),  # 8 x W/4
        *_conv(c[1], c[2], 3, 1, True),
        *_conv(c[2], c[3], 3, 1, False),
        nn.MaxPool2d((2, 2), (2, 1), (0, 1)),  # 4 x W/4+1
        *_conv(c[3], c[4], 3, 1, True),
        *_conv(c[4], c[5], 3, 1, False),
        nn.MaxPool2d((2, 2), (2, 1), (0, 1)),  # 2 x W/4+2
        *_conv(c[5], c[6], 2, 0, True),  # 1 x W/4+1
    )


class CRNN(nn.Module):
    """Maps a batch of gray or RGB lines to per-time-step log-probabilities over blank + alphabet.

    Input ``(N, config.in_channels, H, W)`` in ``[-1, 1]`` with ``H = config.height``; output ``(T, N, C)``
    log-softmax with ``T = config.output_length(W)``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        if config.arch == "crnn-lcnet":
            self.cnn: nn.Module = LCNetFeatures(config.in_channels)
        elif config.arch == "crnn-svtr":
            self.cnn = nn.Sequential(LCNetFeatures(config.in_channels), LightSVTRMixer(LCNET_CHANNELS))
        else:
            self.cnn = _vgg(c, config.in_channels)
        self.rnn = nn.LSTM(c[-1], config.hidden, num_layers=2, bidirectional=True)
        # crnn-svtr's CTC layer reads the BiLSTM output beside the features it was given (a skip).
        self.skip = config.arch == "crnn-svtr"
        self.head = nn.Linear(2 * config.hidden + (c[-1] if self.skip else 0), config.num_classes)
        # The look-alike refiner reads the conv stack's features after its REFINER_TAP-th block.
        self.refiner = (
            LookalikeRefiner(config.alphabet, *BLOCK_OUTPUTS[REFINER_TAP]) if config.lookalike_refiner else None
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_with_features(images)[0]

    def forward_with_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward`'s log-probabilities and the ``(T, N, C)`` features the sequence model reads
        (for a ``crnn-svtr``, PP-OCRv6's mixer output: what PP-OCRv6's own CTC layer reads)."""
        columns, tapped = self._columns(images)
        features = columns.squeeze(2).permute(2, 0, 1)
        log_probs = self._read_sequence(features)
        if self.refiner is not None:
            log_probs = self.refiner(tapped, log_probs)
        return log_probs, features

    def forward_after_blocks(self, x: torch.Tensor, blocks: int) -> torch.Tensor:
        """:meth:`forward` from the output of the PP-LCNetV4 stack's stem and first ``blocks`` blocks
        (``LCNetFeatures.after_blocks``) on: what a teacher computes past layers it shares with its
        student (one without a look-alike refiner, which reads from inside the stack)."""
        assert self.refiner is None
        return self._read_columns(self._columns_after_blocks(x, blocks))

    def _columns(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The conv stack's ``(N, C, 1, T)`` columns, and the features the refiner reads (None without one)."""
        if self.refiner is None:
            return self.cnn(images), None
        lcnet = self.cnn if isinstance(self.cnn, LCNetFeatures) else self.cnn[0]
        tapped = lcnet.blocks[:REFINER_TAP](lcnet.stem(images))
        return self._columns_after_blocks(tapped, REFINER_TAP), tapped

    def _columns_after_blocks(self, x: torch.Tensor, blocks: int) -> torch.Tensor:
        if isinstance(self.cnn, LCNetFeatures):
            return self.cnn.forward_after_blocks(x, blocks)
        lcnet, *rest = self.cnn
        features = lcnet.forward_after_blocks(x, blocks)
        for module in rest:
            features = module(features)
        return features

    def _read_columns(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, C, 1, T)`` conv features to ``(T, N, classes)`` log-probabilities."""
        return self._read_sequence(features.squeeze(2).permute(2, 0, 1))

    def _read_sequence(self, sequence: torch.Tensor) -> torch.Tensor:
        """``(T, N, C)`` features to ``(T, N, classes)`` log-probabilities."""
        context, _ = self.rnn(sequence)
        if self.skip:
            context = torch.cat([context, sequence], -1)
        return self.head(context).log_softmax(-1)
