"""Model surgery for fine-tuning: a pretrained output layer fitted to another alphabet, the first conv
turned between gray and colour input, and a PP-LCNetV4 conv stack partly frozen.

Each works on a model or its weights alone and says nothing: the trainer reports what was done.
"""

from __future__ import annotations

import torch

from pwocr.errors import PwocrError
from pwocr.model.config import ModelConfig
from pwocr.model.crnn import CRNN
from pwocr.model.lcnet import LCNetFeatures


def lcnet_of(model: CRNN) -> LCNetFeatures:
    """The PP-LCNetV4 conv stack of a crnn-lcnet or crnn-svtr."""
    found = [m for m in model.cnn.modules() if isinstance(m, LCNetFeatures)]
    if not found:
        raise PwocrError(f"{model.config.arch} has no PP-LCNetV4 conv stack (crnn-lcnet and crnn-svtr have)")
    return found[0]


def freeze_conv_stack(model: CRNN, blocks: int) -> None:
    """Fix a crnn-lcnet's stem and first ``blocks`` blocks (no gradients, no updates, no backward pass through them)."""
    lcnet = lcnet_of(model)
    if blocks > len(lcnet.blocks):
        raise PwocrError(f"--freeze_blocks {blocks}: the conv stack has {len(lcnet.blocks)} blocks")
    for module in (lcnet.stem, *lcnet.blocks[:blocks]):
        module.requires_grad_(False)


def with_input_channels(weights: dict[str, torch.Tensor], model_config: ModelConfig) -> dict[str, torch.Tensor]:
    """``weights`` with their first conv turned to ``model_config.in_channels`` (gray to RGB or back).

    Gray to RGB takes PP-OCRv6's colour filters where the gray ones are theirs summed, else a third
    of each on every channel; RGB to gray sums the channels. Either way a gray line reads as before.
    """
    from pwocr.model.pretrained import colour_first_conv

    first = next(name for name, m in CRNN(model_config).named_modules() if isinstance(m, torch.nn.Conv2d))
    key = f"{first}.weight"
    weights = dict(weights)
    if model_config.colour:
        weights[key] = colour_first_conv(weights[key])
    else:
        weights[key] = weights[key].sum(1, keepdim=True)
    return weights


def with_head_fitted(
    model_config: ModelConfig, weights: dict[str, torch.Tensor], old_alphabet: str, source: str
) -> tuple[CRNN, int]:
    """A model for ``model_config`` from ``weights`` of a model that read ``old_alphabet``; and how many
    characters kept their output rows.

    Output rows of characters both alphabets have are kept (the blank's too); rows of new
    characters start fresh. Every other weight must fit as it is.
    """
    model = CRNN(model_config)
    missing, unexpected = model.load_state_dict(
        {k: v for k, v in weights.items() if not k.startswith("head.")}, strict=False
    )
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise PwocrError(f"{source}: its weights do not fit a {model_config.arch} CRNN")
    old = {c: i + 1 for i, c in enumerate(old_alphabet)}
    rows = [(0, 0)] + [(i + 1, old[c]) for i, c in enumerate(model_config.alphabet) if c in old]  # (new, old)
    with torch.no_grad():
        for new, previous in rows:
            model.head.weight[new] = weights["head.weight"][previous]
            model.head.bias[new] = weights["head.bias"][previous]
    return model, len(rows) - 1
