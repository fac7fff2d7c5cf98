"""What keeping llaso-tiny's LoRA apart from SmolLM2's weights costs at run time.

    .venv/bin/python benchmarks/bench_adapter.py [--threads 2]

llaso-tiny keeps its adapter apart so that text-only conversations run on the untouched base
LLM (llaso.model.adapter). Audio conversations then pay the adapter's extra matmuls on every
forward pass. This times prefill (5 s clip + instruction) and one KV-cached decode step at
batch 1 and 8, adapter apart vs merged into the weights, on the same loaded model.
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import five_second_clip, median_time  # noqa: E402
from machine import describe_machine  # noqa: E402


def step_times(model, processor, messages, batch: int) -> tuple[float, float]:
    """(prefill seconds, one cached decode step in seconds) for `batch` copies of `messages`."""
    from transformers import DynamicCache

    encoded = [processor.encode(messages, add_generation_prompt=True)] * batch
    inputs = processor.collate(encoded, padding_side="left")
    lm = model.language_model
    with torch.inference_mode():
        embeds = model.embed_inputs(inputs["input_ids"], inputs["input_features"], inputs["feature_attention_mask"])
        mask = inputs["attention_mask"]

        def prefill():
            cache = DynamicCache(config=lm.config)
            lm(inputs_embeds=embeds, attention_mask=mask, cache=cache, use_cache=True, logits_to_keep=1)
            return cache

        t_prefill = median_time(prefill, repeats=7)
        cache = prefill()
        token = model.get_input_embeddings()(torch.zeros(batch, 1, dtype=torch.long))
        step_mask = torch.cat([mask, mask.new_ones(batch, 1)], dim=1)

        def decode_step():
            lm(inputs_embeds=token, attention_mask=step_mask, cache=cache, use_cache=True, logits_to_keep=1)
            cache.crop(-1)  # every timed step decodes the same position

        return t_prefill, median_time(decode_step, repeats=21)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    from llaso import Llaso
    from llaso.model.adapter import has_adapter

    tiny = Llaso.from_pretrained("llaso-tiny", device="cpu")
    if not has_adapter(tiny.model.language_model):
        sys.exit("this llaso-tiny has no adapter kept apart: nothing to compare")
    merged = copy.deepcopy(tiny.model)
    merged.language_model = merged.language_model.merge_and_unload()
    messages = [{"role": "user", "content": [{"type": "audio", "audio": five_second_clip()},
                                             {"type": "text", "text": "What is the speaker saying?"}]}]
    print(f"machine: {describe_machine()} ({torch.get_num_threads()} threads)")
    print("| batch | prefill apart / merged | decode step apart / merged | decode overhead |")
    print("|---|---|---|---|")
    for batch in (1, 8):
        p_apart, d_apart = step_times(tiny.model, tiny.processor, messages, batch)
        p_merged, d_merged = step_times(merged, tiny.processor, messages, batch)
        print(f"| {batch} | {p_apart * 1000:.1f} / {p_merged * 1000:.1f} ms | {d_apart * 1000:.2f} / "
              f"{d_merged * 1000:.2f} ms | {d_apart / d_merged - 1:+.0%} |")


if __name__ == "__main__":
    main()
