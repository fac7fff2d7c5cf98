from __future__ import annotations

from pathlib import Path

from llaso.train.dataset import LengthGroupedBatchSampler, task_and_layout


def test_length_grouped_batches_cover_everything_and_repeat_per_seed_epoch() -> None:
    lengths = [(i * 37) % 101 for i in range(203)]
    sampler = LengthGroupedBatchSampler(lengths, batch_size=8, seed=1, group=4)
    batches = sampler.batches(0)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(203))
    assert batches == sampler.batches(0) and batches != sampler.batches(1)
    # grouping: the spread of lengths inside a batch is small compared with random batches
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    plain = LengthGroupedBatchSampler(lengths, batch_size=8, seed=1, by_length=False).batches(0)
    plain_spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in plain) / len(plain)
    assert spread < plain_spread / 2


def test_task_and_layout_from_file_name_or_sample() -> None:
    # One spelling of layouts everywhere (llaso.data.layout): "t,a", "a,t", "a".
    assert task_and_layout(Path("ASR_ta_train.json"), {}) == ("ASR", "t,a")
    assert task_and_layout(Path("AQA_a_test.jsonl"), {}) == ("AQA", "a")
    assert task_and_layout(Path("x.json"), {"task": "SGC", "layout": "at"}) == ("SGC", "a,t")
