"""A PP-LCNetV4 conv feature extractor (the recognition backbone of PP-OCRv6 small), in deploy form.

Deploy form means every conv already has its batch norm folded in (conv + bias), which is how the
weights ship in ``rapidocr``'s ``PP-OCRv6_rec_small.onnx`` (Apache-2.0). ``pwocr.model.pretrained``
copies those weights in; training then fine-tunes them like any other conv stack. The layout
follows PaddleOCR's ``rec_lcnetv4.py`` (``NET_CONFIG_REC["small"]``): a two-branch stem of total
stride 4, then depthwise-separable blocks (3x3 depthwise conv, optional squeeze-and-excitation,
1x1 expand, GELU, 1x1 compress, residual), two of them halving the height only. A 48-pixel line
leaves a 3-pixel-high map, which a 3x2 average pool turns into one feature column per 8 pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (in channels, out channels, stride, squeeze-excite) for each block, PP-OCRv6 rec "small".
_SMALL_BLOCKS: tuple[tuple[int, int, tuple[int, int], bool], ...] = (
    (96, 96, (1, 1), True),
    (96, 96, (1, 1), False),
    (96, 96, (1, 1), False),
    (96, 192, (2, 1), False),
    (192, 192, (1, 1), True),
    (192, 192, (1, 1), False),
    (192, 192, (1, 1), True),
    (192, 192, (1, 1), False),
    (192, 192, (1, 1), True),
    (192, 192, (1, 1), False),
    (192, 384, (2, 1), False),
    (384, 384, (1, 1), True),
    (384, 384, (1, 1), False),
)
_STEM_MID, _STEM_OUT = 48, 96
#: Channels of the feature columns the backbone hands to the sequence model.
LCNET_CHANNELS = _SMALL_BLOCKS[-1][1]
#: The input height the backbone is built for: 48 / 16 leaves the 3 rows the final pool averages.
LCNET_HEIGHT = 48


def _block_outputs() -> tuple[tuple[int, int], ...]:
    rows = LCNET_HEIGHT // 4  # the stem's stride
    outputs = [(_STEM_OUT, rows)]
    for _, c_out, (stride_rows, _), _ in _SMALL_BLOCKS:
        rows //= stride_rows
        outputs.append((c_out, rows))
    return tuple(outputs)


#: (channels, rows) of the stem's output (0) and of each block's: a column every 4 px throughout.
BLOCK_OUTPUTS = _block_outputs()


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.hardsigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True)))))
        return x * scale


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: tuple[int, int], squeeze_excite: bool) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in)
        self.squeeze_excite = _SqueezeExcite(c_in) if squeeze_excite else nn.Identity()
        self.expand = nn.Conv2d(c_in, 2 * c_in, 1)
        self.compress = nn.Conv2d(2 * c_in, c_out, 1)
        self.residual = c_in == c_out and stride == (1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_excite(self.depthwise(x))
        y = self.compress(F.gelu(self.expand(x)))
        return x + y if self.residual else y


class _Stem(nn.Module):
    """Stride-4 stem: a strided conv, then a max-pool branch beside a two-conv branch, merged."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, _STEM_MID, 3, 2, 1)
        self.conv2a = nn.Conv2d(_STEM_MID, _STEM_MID // 2, 2)
        self.conv2b = nn.Conv2d(_STEM_MID // 2, _STEM_MID, 2)
        self.conv3 = nn.Conv2d(2 * _STEM_MID, _STEM_MID, 3, 2, 1)
        self.conv4 = nn.Conv2d(_STEM_MID, _STEM_OUT, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        # Paddle's "SAME" padding for even kernels pads right and bottom only.
        branch = F.relu(self.conv2b(F.pad(F.relu(self.conv2a(F.pad(x, (0, 1, 0, 1)))), (0, 1, 0, 1))))
        pooled = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, 1)
        return F.relu(self.conv4(F.relu(self.conv3(torch.cat([pooled, branch], 1)))))


class LCNetFeatures(nn.Module):
    """``(N, in_channels, 48, W)`` to ``(N, 384, 1, T)`` feature columns, ``T = ceil(ceil(W/2)/2)/2`` rounded down."""

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = _Stem(in_channels)
        self.blocks = nn.Sequential(*(_Block(*spec) for spec in _SMALL_BLOCKS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.blocks(self.stem(x)), (3, 2))

    def after_blocks(self, blocks: int) -> nn.Module:
        """The module whose output is the stem's and the first ``blocks`` blocks' (0: the stem's)."""
        return self.blocks[blocks - 1] if blocks > 0 else self.stem

    def forward_after_blocks(self, x: torch.Tensor, blocks: int) -> torch.Tensor:
        """:meth:`forward` from the output of :meth:`after_blocks` on: the remaining blocks and the pooling."""
        return F.avg_pool2d(self.blocks[blocks:](x), (3, 2))

    def prefix_parameters(self, blocks: int) -> list[torch.Tensor]:
        """The weights of the stem and the first ``blocks`` blocks, in order."""
        return [p for module in (self.stem, *self.blocks[:blocks]) for p in module.parameters()]

    def convs_in_order(self) -> list[nn.Conv2d]:
        """Every conv in the order PP-OCR's exported graph runs them (how pretrained weights are matched)."""
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)]
