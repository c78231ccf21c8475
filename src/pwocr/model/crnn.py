"""CRNN of Shi, Bai & Yao (arXiv 1507.05717): VGG-style convs, map-to-sequence, two BiLSTMs, CTC."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from pwocr.errors import PwocrError

#: Width multipliers by name: ``crnn`` is the paper's network.
MODEL_SIZES: dict[str, float] = {"crnn": 1.0, "crnn-small": 0.5, "crnn-tiny": 0.25}

# The paper's seven conv layers (Table 4) and where batch norm follows them.
_PAPER_CHANNELS = (64, 128, 256, 256, 512, 512, 512)
_PAPER_HIDDEN = 256


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model and its preprocessing; saved inside every checkpoint."""

    alphabet: str
    size: str = "crnn"
    height: int = 32
    min_width: int = 32
    max_width: int = 800
    # Softmax temperature for confidences, fitted after training by ``pwocr calibrate``; the
    # best reading never depends on it, only how sure the model says it is.
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.size not in MODEL_SIZES:
            raise PwocrError(f"unknown model size {self.size!r}; choose one of {', '.join(MODEL_SIZES)}")
        if self.temperature <= 0:
            raise PwocrError(f"temperature {self.temperature} must be positive")
        if self.height != 32:
            raise PwocrError(f"height {self.height} is not supported: the CRNN conv stack needs 32-pixel lines")

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(max(8, int(c * MODEL_SIZES[self.size])) for c in _PAPER_CHANNELS)

    @property
    def hidden(self) -> int:
        return max(16, int(_PAPER_HIDDEN * MODEL_SIZES[self.size]))

    @property
    def num_classes(self) -> int:
        return len(self.alphabet) + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def output_length(width: int | torch.Tensor) -> int | torch.Tensor:
    """Number of CTC time steps the CRNN produces for an input ``width`` pixels wide."""
    return width // 4 + 1


def _conv(c_in: int, c_out: int, kernel: int, padding: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, 1, padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return layers


class CRNN(nn.Module):
    """Maps a batch of 1x32xW grayscale lines to per-time-step log-probabilities over blank + alphabet.

    Input ``(N, 1, 32, W)`` in ``[-1, 1]``; output ``(T, N, C)`` log-softmax with ``T = W // 4 + 1``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.cnn = nn.Sequential(
            *_conv(1, c[0], 3, 1, False),
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
        self.rnn = nn.LSTM(c[6], config.hidden, num_layers=2, bidirectional=True)
        self.head = nn.Linear(2 * config.hidden, config.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.cnn(images)  # N, C, 1, T
        sequence = features.squeeze(2).permute(2, 0, 1)  # T, N, C
        sequence, _ = self.rnn(sequence)
        return self.head(sequence).log_softmax(-1)
