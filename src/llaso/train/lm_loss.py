"""Next-token loss over assistant tokens, averaged per token or per sample.

Averaged over every labelled token of a batch (transformers' default), a long transcript
outweighs a one-word answer by its length: in a mix of ASR and closed-set tasks, the "Male" or
"Scottish" that a classification sample teaches is a few percent of the gradient. Averaged per
sample first, every sample counts the same, whatever the length of its answer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """logits [B, L, V], labels [B, L] -> (next-token loss [B, L-1], 1.0 where labelled [B, L-1])."""
    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:]
    loss = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
        ignore_index=IGNORE_INDEX, reduction="none",
    ).view(shift_labels.shape)
    return loss, (shift_labels != IGNORE_INDEX).float()


def per_sample_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B] mean loss per sample; NaN for a sample without labelled tokens."""
    loss, counted = token_losses(logits, labels)
    return (loss * counted).sum(-1) / counted.sum(-1)


def lm_loss(logits: torch.Tensor, labels: torch.Tensor, average: str = "token") -> torch.Tensor:
    """The batch loss: mean over labelled tokens (`token`) or over samples (`sample`)."""
    if average == "token":
        loss, counted = token_losses(logits, labels)
        return (loss * counted).sum() / counted.sum()
    if average == "sample":
        per_sample = per_sample_lm_loss(logits, labels)
        present = ~per_sample.isnan()
        if not bool(present.any()):
            return logits.sum() * 0.0
        return per_sample[present].mean()
    raise ValueError(f"average must be 'token' or 'sample', got {average!r}")
