"""Anchoring the conv stack to where it started (decoupled L2-SP), so that it learns new glyphs and keeps real photos.

Training the conv stack on rendered passwords teaches it look-alikes, but its features drift away
from what PP-OCRv6 learnt on real photos, and real words are read worse (MODEL_CARD, stages 6 and
7). Distillation holds the outputs on the rendered lines only; the anchor holds the weights
themselves: after every optimiser step each learning conv weight moves back toward its starting
value by ``lr x strength`` of the distance (Li, Grandvalet & Davoine, "Explicit inductive bias for
transfer learning with convolutional networks", ICML 2018, applied decoupled from the gradient as
AdamW applies weight decay). A weight that the look-alikes keep pushing still moves; one that
drifts without a reason returns. Under Adam, whose steps are about ``lr`` per weight, a weight
settles at most about ``1 / strength`` from its start.
"""

from __future__ import annotations

import torch

from pwocr.model.crnn import CRNN


class Anchor:
    """The starting values of ``model``'s learning conv weights, and the pull back toward them."""

    def __init__(self, model: CRNN, start: CRNN, strength: float) -> None:
        starting = dict(start.cnn.named_parameters())
        self.strength = strength
        self.pairs = [
            (param, starting[name].detach().clone().to(param.device))
            for name, param in model.cnn.named_parameters()
            if param.requires_grad
        ]

    def pull(self, lr: float) -> None:
        """Move every anchored weight ``lr x strength`` of the way back to its start (at most all the way)."""
        share = min(1.0, lr * self.strength)
        with torch.no_grad():
            for param, start in self.pairs:
                param.lerp_(start, share)

    def distance(self) -> float:
        """The root-mean-square distance of the anchored weights from their start (logged per epoch)."""
        if not self.pairs:
            return 0.0
        with torch.no_grad():
            squares = sum(float((param - start).pow(2).sum()) for param, start in self.pairs)
            count = sum(param.numel() for param, _ in self.pairs)
        return (squares / count) ** 0.5
