"""Next-token loss over assistant tokens, averaged per token or per sample.

Averaged over every labelled token of a batch (transformers' default), a long transcript
outweighs a one-word answer by its length: in a mix of ASR and closed-set tasks, the "Male" or
"Scottish" that a classification sample teaches is a few percent of the gradient. Averaged per
sample first, every sample counts the same, whatever the length of its answer.

Only positions whose next token is labelled need logits. With a 49k-word vocabulary and answers
a few tokens long, projecting every position onto the vocabulary is a large share of a small
LLM's step, so the recipe asks the LLM for logits at `next_token_mask(labels)` only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def next_token_mask(labels: torch.Tensor) -> torch.Tensor:
    """[B, L] labels -> [B, L] bool, True where the following token is labelled."""
    mask = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
    mask[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return mask


def labelled_token_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss of each labelled token [N], its row in the batch [N]).

    `logits` is [B, L, V] for every position, or [N, V] for the `next_token_mask` positions
    only (row-major order, as `logits_to_keep=mask` returns them).
    """
    mask = next_token_mask(labels)
    targets = labels[:, 1:][mask[:, :-1]]
    rows = mask.nonzero()[:, 0]
    if logits.dim() == 3:
        logits = logits[mask]
    if logits.shape[0] != targets.shape[0]:
        raise ValueError(f"{logits.shape[0]} logit rows for {targets.shape[0]} labelled tokens")
    return F.cross_entropy(logits.float(), targets, reduction="none"), rows


def per_sample_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B] mean loss per sample; NaN for a sample without labelled tokens."""
    losses, rows = labelled_token_losses(logits, labels)
    batch = labels.shape[0]
    sums = torch.zeros(batch, dtype=losses.dtype, device=losses.device).index_add(0, rows, losses)
    counts = torch.zeros(batch, dtype=losses.dtype, device=losses.device).index_add(0, rows, torch.ones_like(losses))
    return sums / counts


def lm_loss(logits: torch.Tensor, labels: torch.Tensor, average: str = "token") -> torch.Tensor:
    """The batch loss: mean over labelled tokens (`token`) or over samples (`sample`).
    A batch without labelled tokens gives zero (still attached to the graph)."""
    if average not in ("token", "sample"):
        raise ValueError(f"average must be 'token' or 'sample', got {average!r}")
    if average == "token":
        losses, _ = labelled_token_losses(logits, labels)
        return losses.mean() if losses.numel() else logits.sum() * 0.0
    per_sample = per_sample_lm_loss(logits, labels)
    present = ~per_sample.isnan()
    if not bool(present.any()):
        return logits.sum() * 0.0
    return per_sample[present].mean()
