"""The engine: encoded conversations in, tokens out. Batched, KV-cached, streamable.

It knows nothing about prompts: the processor builds inputs, the engine decodes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from llaso.generation.sampling import SamplingParams, next_tokens
from llaso.model.adapter import language_model_for, routes_text_to_base
from llaso.model.modeling_llaso import LlasoForConditionalGeneration
from llaso.processing import EncodedConversation, LlasoProcessor


@dataclass
class GenerationResult:
    text: str | None
    error: str | None = None
    num_tokens: int = 0
    prompt_tokens: int = 0
    time_to_first_token: float | None = None
    seconds: float = 0.0


def stop_token_ids(processor: LlasoProcessor, model: LlasoForConditionalGeneration) -> set[int]:
    """End-of-turn ids: the tokenizer's EOS, the generation config's, and ChatML's <|im_end|>."""
    ids: set[int] = set()
    eos = model.language_model.generation_config.eos_token_id
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if processor.tokenizer.eos_token_id is not None:
        ids.add(processor.tokenizer.eos_token_id)
    vocab = processor.tokenizer.get_vocab()
    for marker in ("<|im_end|>", "<|eot_id|>", "<|end_of_text|>"):
        if marker in vocab:
            ids.add(vocab[marker])
    return ids


def _truncate_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class Engine:
    """Greedy or sampled decoding over a LlasoForConditionalGeneration."""

    def __init__(self, model: LlasoForConditionalGeneration, processor: LlasoProcessor) -> None:
        self.model = model
        self.processor = processor
        self.stop_ids = stop_token_ids(processor, model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _prefill_inputs(self, batch: list[EncodedConversation]) -> tuple[torch.Tensor, torch.Tensor]:
        """The prompt's embeddings (audio projected into its slots) and attention mask, left-padded."""
        inputs = self.processor.collate(batch, padding_side="left")
        device = self.device
        ids = inputs["input_ids"].to(device)
        with_audio = [item for item in batch if item.audio_features]
        if with_audio and all(item.encoder_outputs is not None for item in with_audio):
            frames = [f.to(device) for item in with_audio for f in item.encoder_outputs or []]
            return self.model.embed_inputs(ids, encoder_outputs=frames), inputs["attention_mask"].to(device)
        features = inputs["input_features"]
        embeds = self.model.embed_inputs(
            ids,
            features.to(device) if features is not None else None,
            inputs["feature_attention_mask"].to(device) if features is not None else None,
        )
        return embeds, inputs["attention_mask"].to(device)

    @torch.inference_mode()
    def stream_batch(
        self, batch: list[EncodedConversation], params: SamplingParams, use_cache: bool = True
    ) -> Iterator[list[int | None]]:
        """Yield, per step, the new token of each row (None once a row has finished)."""
        has_audio = [bool(item.audio_features) for item in batch]
        if routes_text_to_base(self.model) and len(set(has_audio)) > 1:
            raise ValueError("this model answers text-only conversations on its base LLM: batch them "
                             "apart from conversations with audio (Engine.generate does)")
        audio = any(has_audio)
        generator = None
        if not params.greedy:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(params.seed if params.seed is not None else torch.seed())
        embeds, mask = self._prefill_inputs(batch)
        lm_config = self.model.language_model.config
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=lm_config) if use_cache else None
        finished = torch.zeros(len(batch), dtype=torch.bool, device=self.device)
        stop_ids = torch.tensor(sorted(self.stop_ids), device=self.device)
        with language_model_for(self.model, audio) as lm:
            out = lm(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                     cache=cache, use_cache=use_cache, logits_to_keep=1)
        for _ in range(params.max_new_tokens):
            token = next_tokens(out.logits[:, -1, :], params, generator)
            done_now = torch.isin(token, stop_ids) | finished
            yield [None if bool(done_now[i]) else int(token[i]) for i in range(len(batch))]
            finished |= done_now
            if bool(finished.all()):
                return
            mask = torch.cat([mask, (~finished).long()[:, None]], dim=1)
            token_embeds = self.model.get_input_embeddings()(token[:, None])
            with language_model_for(self.model, audio) as lm:
                if use_cache:
                    positions = positions[:, -1:] + 1
                    out = lm(inputs_embeds=token_embeds, attention_mask=mask, position_ids=positions,
                             cache=cache, use_cache=True, logits_to_keep=1)
                else:  # recompute everything: the reference that the cached path must equal
                    embeds = torch.cat([embeds, token_embeds], dim=1)
                    positions = (mask.cumsum(-1) - 1).clamp(min=0)
                    out = lm(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                             use_cache=False, logits_to_keep=1)

    def generate(self, batch: list[EncodedConversation], params: SamplingParams,
                 use_cache: bool = True) -> list[GenerationResult]:
        """Decode a batch to the end; stop strings cut the text where they first appear."""
        with_audio = [i for i, item in enumerate(batch) if item.audio_features]
        if routes_text_to_base(self.model) and 0 < len(with_audio) < len(batch):
            text_only = [i for i, item in enumerate(batch) if not item.audio_features]
            merged: list[GenerationResult | None] = [None] * len(batch)
            for rows in (with_audio, text_only):
                for row, result in zip(rows, self.generate([batch[r] for r in rows], params, use_cache)):
                    merged[row] = result
            return [r for r in merged if r is not None]
        start = time.perf_counter()
        tokens: list[list[int]] = [[] for _ in batch]
        first: float | None = None
        stopped = [False] * len(batch)
        for step in self.stream_batch(batch, params, use_cache=use_cache):
            if first is None:
                first = time.perf_counter() - start
            for row, token in enumerate(step):
                if token is not None and not stopped[row]:
                    tokens[row].append(token)
            if params.stop:
                for row in range(len(batch)):
                    if not stopped[row] and _truncate_at_stop(self.processor.decode(tokens[row]), params.stop)[1]:
                        stopped[row] = True
                if all(stopped[r] or step[r] is None for r in range(len(batch))):
                    break
        elapsed = time.perf_counter() - start
        results = []
        for row, item in enumerate(batch):
            text, _ = _truncate_at_stop(self.processor.decode(tokens[row]), params.stop)
            results.append(GenerationResult(text=text.strip(), num_tokens=len(tokens[row]),
                                            prompt_tokens=len(item.input_ids),
                                            time_to_first_token=first, seconds=elapsed))
        return results

    def stream(self, item: EncodedConversation, params: SamplingParams) -> Iterator[str]:
        """Text pieces as they are decoded; a piece is held back while it ends mid-character."""
        tokens: list[int] = []
        emitted = ""
        for step in self.stream_batch([item], params):
            if step[0] is None:
                break
            tokens.append(step[0])
            text = self.processor.decode(tokens)
            text, hit = _truncate_at_stop(text, params.stop)
            if text.endswith("\ufffd") and not hit:
                continue
            text = text.lstrip()  # as generate() strips the answer
            if len(text) > len(emitted):
                piece, emitted = text[len(emitted) :], text
                yield piece
            if hit:
                return
