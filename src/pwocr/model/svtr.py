"""PP-OCRv6 small's light SVTR mixer, in deploy form: context for the conv feature columns.

It takes the PP-LCNetV4 feature columns (``N, 384, 1, T``) to 120-channel columns: a 1x1 conv
skip path beside a 1x1 conv, a 1x7 depthwise conv and two pre-norm transformer blocks over the
columns. PaddleOCR trained it with the backbone on real and synthetic text; in ``crnn-svtr`` it is
the last stage of the feature extractor, before pwocr's BiLSTM and CTC layer. Batch norms are
folded into their convs, as in the exported ONNX whose weights ``pwocr.model.pretrained`` copies.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Channels of a feature column after the mixer.
SVTR_CHANNELS = 120
_HEADS = 8
_MLP_RATIO = 2


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        weights = torch.softmax((q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1), dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(n, t, c))


class _Block(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attention = _Attention(dim, _HEADS)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, _MLP_RATIO * dim)
        self.fc2 = nn.Linear(_MLP_RATIO * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.fc2(F.silu(self.fc1(self.norm2(x))))


class LightSVTRMixer(nn.Module):
    """``(N, in_channels, 1, T)`` feature columns to ``(N, 120, 1, T)``."""

    def __init__(self, in_channels: int, dim: int = SVTR_CHANNELS, depth: int = 2) -> None:
        super().__init__()
        self.skip = nn.Conv2d(in_channels, dim, 1)
        self.reduce = nn.Conv2d(in_channels, dim, 1)
        self.local = nn.Conv2d(dim, dim, (1, 7), padding=(0, 3), groups=dim)
        self.blocks = nn.ModuleList(_Block(dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.silu(self.skip(x))
        z = F.silu(self.reduce(x))
        z = z + F.silu(self.local(z))
        n, c, h, w = z.shape
        tokens = z.flatten(2).transpose(1, 2)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens).transpose(1, 2).reshape(n, c, h, w) + skip
