"""Token- vs sample-averaged next-token loss."""

import pytest
import torch
import torch.nn.functional as F

from llaso.train.lm_loss import IGNORE_INDEX, lm_loss, next_token_mask, per_sample_lm_loss


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


@pytest.mark.parametrize("average", ["token", "sample"])
def test_logits_at_answer_positions_only_give_the_same_loss_and_gradient(average):
    logits, labels = _batch([1, 8, 0, 3])
    logits.requires_grad_(True)
    full = lm_loss(logits, labels, average)
    full.backward()
    full_grad = logits.grad.clone()
    logits.grad = None
    mask = next_token_mask(labels)
    assert int(mask.sum()) == 1 + 8 + 3
    kept = logits[mask]  # what `logits_to_keep=mask` hands back: [N, V], row-major
    part = lm_loss(kept, labels, average)
    part.backward()
    assert torch.allclose(part, full)
    assert torch.allclose(logits.grad, full_grad)
    with pytest.raises(ValueError, match="labelled tokens"):
        lm_loss(kept[:-1], labels, average)


def test_a_real_llm_returns_the_kept_logits_in_mask_order(tiny_parts):
    """transformers' boolean `logits_to_keep` is what the recipe relies on."""
    from transformers import AutoModelForCausalLM

    tiny_llm = AutoModelForCausalLM.from_pretrained(tiny_parts["llm"]).eval()
    torch.manual_seed(0)
    ids = torch.randint(0, tiny_llm.config.vocab_size, (2, 9))
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[0, 6:] = ids[0, 6:]
    labels[1, 3:5] = ids[1, 3:5]
    mask = next_token_mask(labels)
    with torch.no_grad():
        full = tiny_llm(input_ids=ids).logits
        kept = tiny_llm(input_ids=ids, logits_to_keep=mask).logits
    assert kept.shape == (int(mask.sum()), full.shape[-1])
    assert torch.allclose(kept, full[mask], atol=1e-5)
    assert torch.allclose(lm_loss(kept, labels, "sample"), lm_loss(full, labels, "sample"), atol=1e-5)
