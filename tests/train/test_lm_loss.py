"""Token- vs sample-averaged next-token loss."""

import pytest
import torch
import torch.nn.functional as F

from llaso.train.lm_loss import IGNORE_INDEX, lm_loss, per_sample_lm_loss


def _batch(answer_lengths: list[int], length: int = 12, vocab: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    logits = torch.randn(len(answer_lengths), length, vocab)
    labels = torch.full((len(answer_lengths), length), IGNORE_INDEX)
    for row, n in enumerate(answer_lengths):
        if n:
            labels[row, -n:] = torch.randint(0, vocab, (n,))
    return logits, labels


def test_token_average_is_transformers_causal_lm_loss():
    logits, labels = _batch([1, 8, 3])
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, 7), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX)
    assert torch.allclose(lm_loss(logits, labels, "token"), expected)


def test_sample_average_weighs_a_one_token_answer_like_a_long_one():
    logits, labels = _batch([1, 8])
    per_sample = per_sample_lm_loss(logits, labels)
    for row in range(2):
        alone = lm_loss(logits[row : row + 1], labels[row : row + 1], "token")
        assert torch.allclose(per_sample[row], alone)
    assert torch.allclose(lm_loss(logits, labels, "sample"), per_sample.mean())
    # Under token averaging the one-token answer is 1/9 of the loss; per sample it is half.
    logits.requires_grad_(True)
    lm_loss(logits, labels, "sample").backward()
    short_grad = logits.grad[0].abs().sum()
    logits.grad = None
    lm_loss(logits, labels, "token").backward()
    assert short_grad > 3 * logits.grad[0].abs().sum()


def test_samples_without_answer_tokens_are_left_out_and_an_empty_batch_is_zero():
    logits, labels = _batch([0, 4])
    assert torch.allclose(lm_loss(logits, labels, "sample"), per_sample_lm_loss(logits, labels)[1])
    logits, labels = _batch([0, 0])
    assert lm_loss(logits, labels, "sample").item() == 0.0
    with pytest.raises(ValueError, match="average"):
        lm_loss(logits, labels, "batch")
