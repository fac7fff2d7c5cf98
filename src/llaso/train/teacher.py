"""Teacher targets: the text LLM's own answers to the text version of spoken samples.

A speech-language model should answer a spoken question the way its LLM answers the same
question typed (Ultravox trains towards the text model's outputs given the transcript; LLaSO's
own recipe keeps the LLM's behaviour for text). For each sample, every `<audio>` is replaced by
the words it says, written as a transcript-grounded prompt writes them (`(transcript: "...")`),
and the base LLM answers each assistant turn in order, greedy. Those answers become the
targets. Resumable: answers are journaled per sample and turn.

    llaso train --make-teacher derived/OPEN_ta_train.json --out derived/OPEN_ta_train.teacher.json
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llaso.data.runner import Journal
from llaso.data.schema import AUDIO_PLACEHOLDER, iter_samples, write_samples

DEFAULT_TEMPLATE = '\n(transcript: "{text}")'


def text_version(value: str, spoken: str, template: str = DEFAULT_TEMPLATE) -> str:
    """A human turn with its audio replaced by the words, as a grounded prompt shows them."""
    words = " ".join(spoken.split()).replace('"', "'")
    return value.replace(AUDIO_PLACEHOLDER, template.format(text=words) if words else "\n(no speech)")


def teacher_messages(sample: dict, upto: int, answers: Sequence[str], template: str = DEFAULT_TEMPLATE) -> list[dict]:
    """The conversation up to (not including) the `upto`-th assistant turn, text only, with the
    teacher's own earlier answers in place of the sample's."""
    spoken = (sample.get("meta") or {}).get("text") or ""
    messages: list[dict] = []
    seen = 0
    for turn in sample["conversations"]:
        role = {"human": "user", "gpt": "assistant", "system": "system"}[turn["from"]]
        if role == "assistant":
            if seen == upto:
                break
            messages.append({"role": "assistant", "content": answers[seen]})
            seen += 1
        else:
            messages.append({"role": role, "content": text_version(turn["value"], spoken, template)})
    return messages


def assistant_turns(sample: dict) -> int:
    return sum(1 for turn in sample.get("conversations", []) if turn.get("from") == "gpt")


def teach(engine: Any, samples: Sequence[dict], journal: Journal, *, max_new_tokens: int = 64,
          batch_size: int = 16, template: str = DEFAULT_TEMPLATE, progress: bool = True) -> list[dict]:
    """The samples with every assistant turn answered by the engine's LLM (turn by turn, so a
    follow-up sees the teacher's first answer). A sample whose answer was cut off mid-sentence
    with nothing to keep is left out."""
    from tqdm import tqdm

    from llaso.generation.sampling import SamplingParams
    from llaso.train.replay import finished_answer

    params = SamplingParams(max_new_tokens=max_new_tokens)
    turns = max((assistant_turns(s) for s in samples), default=0)
    answers: dict[int, list[str | None]] = {i: [] for i in range(len(samples))}
    bar = tqdm(total=sum(assistant_turns(s) for s in samples), desc="teacher", unit="answer", disable=not progress)
    for turn in range(turns):
        pending = []
        for i, sample in enumerate(samples):
            if assistant_turns(sample) <= turn or None in answers[i]:
                continue
            key = i * 16 + turn
            if key in journal.answers:
                answers[i].append(journal.answers[key]["answer"])
                bar.update(1)
            else:
                pending.append(i)
        for start in range(0, len(pending), batch_size):
            rows = pending[start : start + batch_size]
            encoded = [engine.processor.encode(teacher_messages(samples[i], turn, answers[i], template)) for i in rows]
            results = engine.generate(encoded, params)
            entries = []
            for i, result in zip(rows, results):
                text = finished_answer(result.text or "", result.num_tokens < max_new_tokens)
                answers[i].append(text)
                entries.append({"position": i * 16 + turn, "answer": text})
            journal.append(entries)
            bar.update(len(rows))
    bar.close()
    out = []
    for i, sample in enumerate(samples):
        got = answers[i]
        if len(got) != assistant_turns(sample) or any(a is None for a in got):
            continue
        it = iter(got)
        conversations = [dict(t, value=next(it)) if t["from"] == "gpt" else dict(t) for t in sample["conversations"]]
        meta = {k: v for k, v in (sample.get("meta") or {}).items() if k != "needs_teacher"}
        out.append({**sample, "conversations": conversations, "meta": {**meta, "teacher": engine_name(engine)}})
    return out


def engine_name(engine: Any) -> str:
    return str(getattr(engine.model.language_model.config, "_name_or_path", "") or "base LLM")


def write_teacher_file(source: str | Path, out: str | Path, *, llm: str | Path | None = None,
                       home: Path | None = None, limit: int | None = None, max_new_tokens: int = 64,
                       batch_size: int = 16, progress: bool = True) -> Path:
    """`out`: the samples of `source` with teacher answers (atomically; resumes from a journal)."""
    from llaso.data.runner import journal_path
    from llaso.train.replay import base_engine

    samples = list(iter_samples(source))[:limit]
    out = Path(out)
    journal = Journal(journal_path(out))
    taught = teach(base_engine(llm, home), samples, journal, max_new_tokens=max_new_tokens,
                   batch_size=batch_size, progress=progress)
    write_samples(out, taught)
    return out
