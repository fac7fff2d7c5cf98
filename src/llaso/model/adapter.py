"""An LLM adapter (LoRA, through peft) kept apart from the base LLM's weights, at run time.

The adapter is what teaches a small LLM to listen; merged into the weights, it also changes how
the LLM answers plain text (llaso-tiny's merged adapter agreed with SmolLM2's own answers on
32 % of held-out text questions). Kept apart, a conversation without audio can run on the
untouched base LLM: `base_llm_for_text_only` in the model's config turns that routing on.
Reading and writing adapter folders is `llaso.checkpoints.adapter_files`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def has_adapter(language_model: Any) -> bool:
    return hasattr(language_model, "peft_config")


def routes_text_to_base(model: Any) -> bool:
    """True when text-only conversations skip the adapter (and batches must not mix the two)."""
    return bool(getattr(model.config, "base_llm_for_text_only", False)) and has_adapter(model.language_model)


@contextmanager
def language_model_for(model: Any, has_audio: bool) -> Iterator[Any]:
    """The LLM as one forward pass needs it: with the adapter, or (text only, routing on)
    without. Enter it around each forward call, never across a generator's yield: the
    switch is a module-wide toggle, so one model must never serve two threads at once."""
    lm = model.language_model
    if has_audio or not routes_text_to_base(model):
        yield lm
        return
    with lm.disable_adapter():
        yield lm
