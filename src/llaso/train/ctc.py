"""A CTC head on the projector output, scored against the LLM's own embedding rows.

Why: an LLM-path step (forward and backward through the language model) is the expensive
part of alignment on small hardware. CTC needs only the projector: each projected audio
token is classified over the LLM's embedding rows (plus a learned blank), so the projector
learns to emit vectors that point at the embeddings of the words being said. It serves as a
cheap pre-alignment stage (`lm_weight: 0`) or as an auxiliary loss next to the LM loss.
The vocabulary is restricted to the tokens that occur in the targets, which keeps the
softmax small and the gradient focused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn


def ctc_vocabulary(targets: Iterable[Sequence[int]]) -> list[int]:
    """Sorted distinct LLM token ids over all CTC targets."""
    return sorted({int(t) for seq in targets for t in seq})


class CtcHead(nn.Module):
    """Projected audio [T, D] -> log-probabilities [T, 1 + V] over blank + vocabulary rows.

    The embedding table is read from the LLM at each call (not copied), so a head built on a
    LoRA- or fully-trained LLM follows its current embeddings; only the blank vector and a
    logit scale are parameters of the head.
    """

    def __init__(self, vocab_ids: Sequence[int], dim: int) -> None:
        super().__init__()
        self.register_buffer("vocab_ids", torch.tensor(list(vocab_ids), dtype=torch.long), persistent=True)
        self.blank = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(()))
        lookup = {int(t): i + 1 for i, t in enumerate(vocab_ids)}
        self._lookup = lookup

    def to_classes(self, token_ids: Sequence[int]) -> list[int]:
        """LLM token ids -> class indices (blank is 0); ids outside the vocabulary are dropped."""
        return [self._lookup[t] for t in token_ids if t in self._lookup]

    def log_probs(self, projected: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """projected [T, D], embedding [V_llm, D] -> [T, 1 + V] log-probabilities."""
        rows = embedding[self.vocab_ids].detach().to(projected.dtype)
        table = torch.cat([self.blank[None, :].to(projected.dtype), rows], dim=0)
        logits = projected @ table.T * self.log_scale.exp()
        return logits.float().log_softmax(-1)

    def loss(
        self,
        projected: Sequence[torch.Tensor],
        targets: Sequence[Sequence[int]],
        embedding: torch.Tensor,
    ) -> torch.Tensor:
        """Mean CTC loss (per target token) over (projected clip, target token ids) pairs."""
        log_probs = [self.log_probs(p, embedding) for p in projected]
        classes = [torch.tensor(self.to_classes(t), dtype=torch.long) for t in targets]
        keep = [i for i, c in enumerate(classes) if len(c) > 0]
        if not keep:
            return projected[0].sum() * 0.0
        lp = nn.utils.rnn.pad_sequence([log_probs[i] for i in keep])  # [T, B, C]
        input_lengths = torch.tensor([log_probs[i].shape[0] for i in keep])
        target_lengths = torch.tensor([len(classes[i]) for i in keep])
        flat = torch.cat([classes[i] for i in keep])
        return nn.functional.ctc_loss(
            lp, flat.to(lp.device), input_lengths, target_lengths,
            blank=0, reduction="mean", zero_infinity=True,
        )

    def greedy_decode(self, projected: torch.Tensor, embedding: torch.Tensor) -> list[int]:
        """Best path: argmax per frame, merge repeats, drop blanks -> LLM token ids."""
        best = self.log_probs(projected, embedding).argmax(-1).tolist()
        out: list[int] = []
        prev = 0
        for c in best:
            if c != prev and c != 0:
                out.append(int(self.vocab_ids[c - 1]))
            prev = c
        return out
