"""The one loss of training and validation: CTC per character, with optional distillation from a
teacher, and, for a look-alike refiner trained alone, its glyph classifier's loss."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from pwocr.model.crnn import CRNN
from pwocr.training.datasets import Batch
from pwocr.training.teacher import Teacher

#: The weight of the refiner's glyph loss beside the CTC loss (``GlyphWatch``).
GLYPH_WEIGHT = 1.0


def model_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    # channels_last runs the conv stack 20-25% faster on a CPU, forward and backward.
    return images.to(device).contiguous(memory_format=torch.channels_last)


def ctc_per_character(
    log_probs: torch.Tensor, targets: torch.Tensor, output_lengths: torch.Tensor, target_lengths: torch.Tensor
) -> torch.Tensor:
    """Each line's CTC loss divided by its label's length: the one loss of training and validation.

    Training reports their mean over a batch, validation over the set, so the two curves are on
    one scale (per character) and a gap between them means what it seems to.
    """
    loss = torch.nn.functional.ctc_loss(
        log_probs.float(), targets, output_lengths, target_lengths, blank=0, reduction="none", zero_infinity=True
    )
    return loss / target_lengths.to(loss.device).clamp(min=1)


def ctc_occupancy(
    log_probs: torch.Tensor, targets: torch.Tensor, output_lengths: torch.Tensor, target_lengths: torch.Tensor
) -> torch.Tensor:
    """``(T, N, C)``: how much of each frame the labels' CTC alignments give each class (their posterior;
    each frame of a line sums to 1), zero past a line's frames and for a line no alignment fits."""
    with torch.enable_grad():
        table = log_probs.detach().float().requires_grad_()
        losses = torch.nn.functional.ctc_loss(
            table, targets, output_lengths, target_lengths, blank=0, reduction="none", zero_infinity=False
        )
        fits = torch.isfinite(losses)
        (gradient,) = torch.autograd.grad(losses[fits].sum(), table, allow_unused=True)
    if gradient is None:
        return torch.zeros_like(table)
    # For normalised log-probabilities, CTC's gradient is each frame's distribution less the alignments'.
    occupancy = (table.detach().exp() - gradient).clamp(min=0)
    steps = torch.arange(table.shape[0], device=table.device)[:, None]
    inside = (steps < output_lengths.to(table.device)[None, :]) & fits[None, :]
    return torch.where(inside[..., None], occupancy, torch.zeros(()))  # (an unfit line's gradient may be nan)


class GlyphWatch:
    """The glyph classifier's loss of a look-alike refiner trained alone (``--refine_lookalikes``).

    The CTC loss of the refined readings teaches the refiner only where the model misreads, a few
    frames a batch. Beside it, the branch learns as a classifier: at every frame the labels' CTC
    alignment gives a look-alike character, the cross-entropy of the glyph's logits within that
    character's group. A hook keeps the logits of the model's own forward pass.
    """

    def __init__(self, model: CRNN) -> None:
        if model.refiner is None:
            raise ValueError("a GlyphWatch needs a model with a look-alike refiner")
        self.refiner = model.refiner
        self._logits: torch.Tensor | None = None
        self.refiner.glyph.register_forward_hook(self._keep)

    def _keep(self, module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
        self._logits = output

    def loss(self, log_probs: torch.Tensor, batch: Batch, device: torch.device) -> torch.Tensor:
        """Occupancy-weighted cross-entropy of the glyph within its group, per look-alike frame."""
        logits, self._logits = self._logits, None
        assert logits is not None, "the model's forward pass did not run its refiner"
        logits = logits[:, :, : log_probs.shape[0]].permute(2, 0, 1).float()  # (T, N, refined)
        within = torch.cat(
            [logits[..., g] - logits[..., g].logsumexp(-1, keepdim=True) for g in self.refiner.groups_of_refined], -1
        )
        occupancy = ctc_occupancy(
            log_probs, batch.targets.to(device), batch.output_lengths.to(device), batch.target_lengths.to(device)
        )
        weights = occupancy @ self.refiner.scatter.t()  # (T, N, refined): each refined character's share
        return -(weights * within).sum() / weights.sum().clamp(min=1)


def ctc_loss(
    model: torch.nn.Module,
    batch: Batch,
    device: torch.device,
    teacher: Teacher | None = None,
    distill: float = 0.0,
    distill_every_line: bool = False,
    glyphs: GlyphWatch | None = None,
) -> torch.Tensor:
    """Mean per-character CTC loss of a training batch; with a ``teacher``, plus ``distill`` times the
    mean per-frame KL divergence of the model's distribution from the teacher's (learning without forgetting).

    The teacher reads the batch's synthetic lines only, unless ``distill_every_line`` (a run without
    a synthetic share): what the model must keep is how it reads passwords, while the user's own
    images teach by their labels alone (the starting model misreads them; holding it to those
    readings would hold back what they teach). A batch of the user's images alone has no KL term.
    With ``glyphs``, plus the look-alike refiner's glyph loss.
    """
    images = model_input(batch.images, device)
    with teacher.watching() if teacher is not None else nullcontext():
        log_probs = model(images)
    loss = ctc_per_character(
        log_probs, batch.targets.to(device), batch.output_lengths.to(device), batch.target_lengths.to(device)
    ).mean()
    if glyphs is not None:
        loss = loss + GLYPH_WEIGHT * glyphs.loss(log_probs, batch, device)
    if teacher is None or distill <= 0:
        return loss
    kept = torch.ones(len(batch.labels), dtype=torch.bool) if distill_every_line else batch.synthetic
    kept = kept.to(device)
    if not kept.any():
        return loss
    target = teacher.read(images, kept)
    kl = torch.nn.functional.kl_div(log_probs[:, kept].float(), target, log_target=True, reduction="none").sum(-1)
    # Frames past a line's own output length read padding shared with wider batch-mates: not the line's.
    steps = torch.arange(kl.shape[0], device=kl.device)[:, None]
    inside = (steps < batch.output_lengths.to(kl.device)[kept][None, :]).float()
    return loss + distill * (kl * inside).sum() / inside.sum().clamp(min=1)
