"""Text-only replay: the base LLM's own answers to text prompts, mixed into instruction tuning.

Instruction tuning on audio tasks whose answers are a word or a label pulls the LLM's text
behaviour towards terse labels: LLaSO-Tiny's first stage 2 answered plain text questions in one
word. Training on the untouched LLM's own greedy answers to text-only prompts anchors that
behaviour cheaply (no audio, short sequences). The prompts held out for the no-forgetting check
(`prompts/text_heldout.txt`) are never used.

    llaso train --make-replay data/llaso-mini/train/TXT_t_train.json --replay-n 640
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from llaso.atomic import write_json_atomic

TASK = "TXT"
LAYOUT = "t"

_TOPICS = (
    "the moon", "volcanoes", "rainbows", "honey bees", "the ocean", "coffee", "trains", "music",
    "the heart", "clouds", "penguins", "bread", "electricity", "the desert", "forests", "books",
    "chess", "bicycles", "the sun", "snow", "elephants", "tea", "computers", "rivers", "birds",
    "gardens", "the brain", "mountains", "libraries", "dolphins", "sleep", "soap", "glass",
    "cheese", "football", "photography", "the alphabet", "time zones", "umbrellas", "magnets",
    "butterflies", "recycling", "the internet", "maps", "bridges", "vaccines", "kites", "salt",
    "earthquakes", "the piano", "owls", "tomatoes", "clocks", "paper", "lightning", "frogs",
)
_TOPIC_TEMPLATES = (
    "Tell me one interesting fact about {t}.", "Explain {t} in one sentence.",
    "Why are {t} important?", "Describe {t} to a child.", "What is special about {t}?",
    "Give me a short tip related to {t}.", "Write one sentence about {t}.",
    "What are {t} made of?", "Name something people often get wrong about {t}.",
    "Summarise what you know about {t} in two sentences.",
)
_WORD_TEMPLATES = (
    "What does the word '{w}' mean?", "Use the word '{w}' in a sentence.",
    "Give me a synonym for '{w}'.", "How do you spell '{w}' backwards?",
)
_GENERAL = (
    "Hello! How are you today?", "Can you help me plan a short walk?", "What should I cook tonight?",
    "Give me three tips for staying focused.", "How can I sleep better?",
    "Suggest a name for a pet goldfish.", "What is a good way to learn a new language?",
    "Write a haiku about autumn.", "How do I make a cup of tea?", "What is the weather like on Mars?",
    "Tell me a short joke.", "What is your favourite colour?", "How do airplanes stay in the air?",
    "Why is the sky blue?", "What is machine learning?", "How many planets are in the solar system?",
    "What is the difference between weather and climate?", "Who invented the telephone?",
    "What is photosynthesis?", "How do I stay motivated while studying?",
)


def heldout_prompts() -> list[str]:
    """The no-forgetting check's questions (never replayed)."""
    text = resources.files("llaso.train").joinpath("prompts", "text_heldout.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def replay_prompts(n: int, seed: int, exclude: Iterable[str] = ()) -> list[str]:
    """`n` distinct text prompts: topic and word templates, short QA, voice-assistant requests."""
    from llaso.data.text_sources.intents import random_request
    from llaso.data.text_sources.qa import WORDS, random_qa
    from llaso.data.text_sources.split import normalise_key as _key

    rng = np.random.default_rng(seed)
    banned = {_key(q) for q in exclude}
    seen: set[str] = set()
    prompts: list[str] = []

    def add(text: str) -> None:
        k = _key(text)
        if k and k not in banned and k not in seen:
            seen.add(k)
            prompts.append(text)

    for text in _GENERAL:
        add(text)
    for _ in range(n * 20):
        if len(prompts) >= n:
            break
        kind = rng.integers(4)
        if kind == 0:
            add(_TOPIC_TEMPLATES[rng.integers(len(_TOPIC_TEMPLATES))].format(t=_TOPICS[rng.integers(len(_TOPICS))]))
        elif kind == 1:
            add(_WORD_TEMPLATES[rng.integers(len(_WORD_TEMPLATES))].format(w=WORDS[rng.integers(len(WORDS))]))
        elif kind == 2:
            add(random_qa(rng).question)
        else:
            utterance = random_request(rng).utterance
            add(utterance[0].upper() + utterance[1:])
    order = rng.permutation(len(prompts))
    return [prompts[i] for i in order][:n]


def finished_answer(text: str, finished: bool) -> str | None:
    """An answer usable as a target: a finished one as is, a cut one back to its last full
    sentence (a target must end where the model would stop), otherwise None."""
    text = text.strip()
    if finished:
        return text or None
    cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "), text.rfind(".\n"))
    return text[: cut + 1].strip() if cut > 0 else None


def replay_samples(prompts: Sequence[str], answers: Sequence[str | None], split: str = "train") -> list[dict]:
    """Prompt/answer pairs -> LLaSO-format text-only samples (pairs without an answer dropped)."""
    samples = []
    for prompt, answer in zip(prompts, answers, strict=True):
        if not answer:
            continue
        samples.append({
            "id": f"{TASK}_{LAYOUT}_{split}_{len(samples):06d}", "task": TASK, "layout": LAYOUT,
            "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": answer}],
            "voice": [],
        })
    return samples


def base_answers(engine: Any, prompts: Sequence[str], batch_size: int = 16, max_new_tokens: int = 96,
                 progress: bool = True) -> list[str | None]:
    """Greedy answers of the engine's model (meant: the untouched base LLM) to text-only prompts."""
    from tqdm import tqdm

    from llaso.generation.sampling import SamplingParams

    params = SamplingParams(max_new_tokens=max_new_tokens)
    out: list[str | None] = []
    for at in tqdm(range(0, len(prompts), batch_size), desc="replay", unit="batch", disable=not progress):
        chunk = prompts[at : at + batch_size]
        encoded = [engine.processor.encode([{"role": "user", "content": p}]) for p in chunk]
        results = engine.generate(encoded, params)
        out += [finished_answer(r.text or "", r.num_tokens < max_new_tokens) for r in results]
    return out


def base_engine(llm: str | Path | None = None, home: Path | None = None) -> Any:
    """A decoding engine over the base LLM with no trained audio weights (text prompts only)."""
    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en, resolve_base
    from llaso.checkpoints.compose import compose_from_base
    from llaso.generation.engine import Engine

    lm_dir = resolve_base(str(llm), home) if llm else ensure_smollm2_135m_instruct(home)
    model, processor = compose_from_base(ensure_whisper_tiny_en(home), lm_dir)
    return Engine(model.eval(), processor)


def write_replay(out: str | Path, n: int = 800, seed: int = 0, llm: str | Path | None = None,
                 home: Path | None = None, batch_size: int = 16, max_new_tokens: int = 96,
                 progress: bool = True) -> Path:
    """Generate the replay file (atomically); returns its path."""
    prompts = replay_prompts(n, seed, exclude=heldout_prompts())
    answers = base_answers(base_engine(llm, home), prompts, batch_size, max_new_tokens, progress)
    out = Path(out)
    write_json_atomic(out, replay_samples(prompts, answers))
    return out
