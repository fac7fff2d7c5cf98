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


def per_sample_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """logits [B, L, V], labels [B, L] (IGNORE_INDEX where not learned) -> [B] mean loss per
    sample; NaN for a sample without labelled tokens."""
    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:]
    token_loss = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
        ignore_index=IGNORE_INDEX, reduction="none",
    ).view(shift_labels.shape)
    counted = (shift_labels != IGNORE_INDEX).float()
    return (token_loss * counted).sum(-1) / counted.sum(-1)


def lm_loss(logits: torch.Tensor, labels: torch.Tensor, average: str = "token") -> torch.Tensor:
    """The batch loss: mean over labelled tokens (`token`) or over samples (`sample`)."""
    if average == "token":
        shift_labels = labels[:, 1:].reshape(-1)
        return F.cross_entropy(logits[:, :-1, :].float().reshape(-1, logits.shape[-1]), shift_labels,
                               ignore_index=IGNORE_INDEX)
    if average == "sample":
        per_sample = per_sample_lm_loss(logits, labels)
        present = ~per_sample.isnan()
        if not bool(present.any()):
            return logits.sum() * 0.0
        return per_sample[present].mean()
    raise ValueError(f"average must be 'token' or 'sample', got {average!r}")
