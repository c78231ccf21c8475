"""Model surgery for fine-tuning: a pretrained output layer fitted to another alphabet, the first conv
turned between gray and colour input, a look-alike refiner added, and a PP-LCNetV4 conv stack
partly frozen (or all but the refiner).

Each works on a model or its weights alone and says nothing: the trainer reports what was done.
"""

from __future__ import annotations

import torch

from pwocr.errors import PwocrError
from pwocr.lookalikes import disjoint_groups
from pwocr.model.config import ModelConfig
from pwocr.model.crnn import CRNN, REFINER_TAP
from pwocr.model.lcnet import BLOCK_OUTPUTS, LCNetFeatures
from pwocr.model.refiner import LookalikeRefiner


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


def freeze_all_but_refiner(model: CRNN) -> None:
    """Fix every weight but the look-alike refiner's: the model reads as before wherever the refiner is silent."""
    if model.refiner is None:
        raise PwocrError(f"{model.config.arch} model has no look-alike refiner to train")
    model.requires_grad_(False)
    model.refiner.requires_grad_(True)


def with_fresh_refiner(weights: dict[str, torch.Tensor], model_config: ModelConfig) -> dict[str, torch.Tensor]:
    """``weights`` with a fresh look-alike refiner's added: it starts silent, so the model reads as before."""
    fresh = LookalikeRefiner(model_config.alphabet, *BLOCK_OUTPUTS[REFINER_TAP])
    return {**weights, **{f"refiner.{name}": value for name, value in fresh.state_dict().items()}}


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

    Output rows of characters both alphabets have are kept (the blank's too), and so are the look-alike
    refiner's rows of characters both refine; rows of new characters start fresh. Every other weight
    must fit as it is.
    """
    model = CRNN(model_config)
    per_character = ("head.", "refiner.glyph.")
    missing, unexpected = model.load_state_dict(
        {k: v for k, v in weights.items() if not k.startswith(per_character)}, strict=False
    )
    if unexpected or any(not k.startswith(per_character) for k in missing):
        raise PwocrError(f"{source}: its weights do not fit a {model_config.arch} CRNN")
    old = {c: i + 1 for i, c in enumerate(old_alphabet)}
    rows = [(0, 0)] + [(i + 1, old[c]) for i, c in enumerate(model_config.alphabet) if c in old]  # (new, old)
    with torch.no_grad():
        for new, previous in rows:
            model.head.weight[new] = weights["head.weight"][previous]
            model.head.bias[new] = weights["head.bias"][previous]
        if model.refiner is not None:
            _keep_refiner_rows(model.refiner, weights, old_alphabet, model_config.alphabet)
    return model, len(rows) - 1


def _keep_refiner_rows(
    refiner: LookalikeRefiner, weights: dict[str, torch.Tensor], old_alphabet: str, alphabet: str
) -> None:
    """Copy the old refiner's glyph rows of the characters both alphabets refine (the rest start fresh)."""
    if "refiner.glyph.weight" not in weights:
        return
    old = "".join(disjoint_groups(old_alphabet))
    for row, char in enumerate("".join(disjoint_groups(alphabet))):
        if char in old:
            refiner.glyph.weight[row] = weights["refiner.glyph.weight"][old.index(char)]
            refiner.glyph.bias[row] = weights["refiner.glyph.bias"][old.index(char)]
