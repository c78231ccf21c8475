"""The look-alike refiner: a second, local look at each glyph, to tell ``l`` from ``I`` and ``O`` from ``0``.

A CRNN whose conv stack was trained for words carries features that often do not separate glyphs
a word never needs told apart; training that stack on passwords moves it away from what real
photos need (MODEL_CARD, stages 7 and 8: the change that cost real words lay in the last conv
blocks). The refiner leaves the CRNN as it is and adds a small conv branch that reads what the
conv stack has computed by its seventh block (general stroke features, six rows high, so a glyph's
height against the line's stays visible), over about two glyphs' width. For every frame it gives
a bias to each character of a look-alike group; the frame's probability of that group is
redistributed among the group's characters by the CRNN's log-probabilities plus those biases.

What the refiner cannot do is as important: the blank's probability and each group's total are
the CRNN's, so it never adds or drops a character and never changes one outside its groups. The
share of the glyph's say starts at zero: a model with a fresh refiner reads exactly as without one.

Training (``pwocr train --refine_lookalikes``) teaches the branch twice over: as a classifier of
each glyph within its group, at the frames where the CTC alignment of the label places a
character (a signal on every look-alike character of every line), and, through the share, by the
CTC loss of the refined readings (how far the glyph's say should move the CRNN's).
"""

from __future__ import annotations

import torch
from torch import nn

from pwocr.lookalikes import disjoint_groups

#: The branch's widths: a 1x1 conv over the tapped features, a conv of stride 2 across the line to
#: the CRNN's frame rate, one more at that rate, the rows of a frame mixed into one vector, then one
#: conv across neighbouring frames.
_CHANNELS = 64
_FRAME_CHANNELS = 96
#: How far a bias may move a character's log-probability within its group.
_MAX_BIAS = 12.0


class LookalikeRefiner(nn.Module):
    """Redistributes each look-alike group's per-frame probability by a local look at the glyph.

    ``forward(tapped, log_probs)`` takes the features the CRNN's conv stack has computed by its tap
    (``(N, channels, rows, 2T)``: PP-LCNetV4's, a column every 4 px) and its ``(T, N, classes)``
    log-probabilities (class 0 the blank, class ``i + 1`` the alphabet's ``i``-th character) and
    returns log-probabilities of the same shape, each group's total and every other class unchanged.
    """

    def __init__(self, alphabet: str, channels: int, rows: int) -> None:
        super().__init__()
        groups = disjoint_groups(alphabet)
        refined = [alphabet.index(c) + 1 for group in groups for c in group]
        classes = len(alphabet) + 1
        # (refined, classes): a refined character's bias to its class; (classes, groups): membership.
        scatter = torch.zeros(len(refined), classes)
        scatter[torch.arange(len(refined)), torch.tensor(refined)] = 1.0
        membership = torch.zeros(classes, len(groups))
        for g, group in enumerate(groups):
            for c in group:
                membership[alphabet.index(c) + 1, g] = 1.0
        self.register_buffer("scatter", scatter, persistent=False)
        self.register_buffer("membership", membership, persistent=False)
        self.convs = nn.Sequential(
            nn.Conv2d(channels, _CHANNELS, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(_CHANNELS, _CHANNELS, 3, (1, 2), 1),  # a frame every 8 px, as the CRNN's
            nn.ReLU(inplace=True),
            nn.Conv2d(_CHANNELS, _CHANNELS, 3, 1, 1),
            nn.ReLU(inplace=True),
        )
        self.rows = nn.Conv2d(_CHANNELS, _FRAME_CHANNELS, (rows, 1))
        self.context = nn.Conv1d(_FRAME_CHANNELS, _FRAME_CHANNELS, 3, padding=1)
        self.glyph = nn.Conv1d(_FRAME_CHANNELS, len(refined), 1)
        # How much of the glyph's log-odds the CRNN's log-probabilities take: zero, so a fresh
        # refiner is silent; learnt by the CTC loss of the refined readings.
        self.share = nn.Parameter(torch.zeros(()))
        self.groups_of_refined: list[list[int]] = []
        start = 0
        for group in groups:
            self.groups_of_refined.append(list(range(start, start + len(group))))
            start += len(group)

    def glyph_logits(self, tapped: torch.Tensor, frames: int) -> torch.Tensor:
        """``(frames, N, refined)``: what the glyph alone says each frame is, as logits within each group
        (trained as a classifier by ``pwocr.training.loss``; only differences inside a group count)."""
        x = torch.relu(self.rows(self.convs(tapped))).squeeze(2)
        x = torch.relu(self.context(x))
        return self.glyph(x)[:, :, :frames].permute(2, 0, 1)

    def forward(self, tapped: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
        biases = _MAX_BIAS * torch.tanh(self.share * self.glyph_logits(tapped, log_probs.shape[0]) / _MAX_BIAS)
        shifted = log_probs + biases @ self.scatter
        # Each group's mass, before and after the biases; the quotient restores the group's total.
        before = log_probs.exp() @ self.membership
        after = shifted.exp() @ self.membership
        restore = (torch.log(before + 1e-30) - torch.log(after + 1e-30)) @ self.membership.t()
        return shifted + restore
