"""Answer every sample of a LLaSO-format file; resumable, written atomically after each batch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llaso.inference.api import Llaso
from llaso.inference.sampling import SamplingParams

ANSWER_KEY = "answer"
ERROR_KEY = "error"


@dataclass
class RunSummary:
    total: int
    answered: int
    failed: int
    skipped: int  # already done by an earlier run


def sample_key(sample: dict, index: int) -> str:
    """Samples are matched across runs by id, or by position when they have none."""
    return str(sample["id"]) if "id" in sample else f"#{index}"


def prompt_messages(sample: dict, audio_root: str | os.PathLike | None) -> list[dict]:
    """The conversation up to the answer: a trailing assistant turn is the reference, not input."""
    from llaso.data.schema import sample_to_messages

    messages = sample_to_messages(sample, audio_root)
    if messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    return messages


def run_file(model: Llaso, input_path: str | os.PathLike, output_path: str | os.PathLike, *,
             audio_root: str | os.PathLike | None = None, params: SamplingParams | None = None,
             batch_size: int = 8, limit: int | None = None, progress: bool = True) -> RunSummary:
    """Write the input samples with an `answer` (or `error`) field to `output_path`.

    A rerun reads `output_path` and skips samples already there, so a killed run resumes.
    """
    from tqdm import tqdm

    from llaso.data.schema import iter_samples, write_samples
    from llaso.errors import LlasoError

    input_path, output_path = Path(input_path), Path(output_path)
    root = audio_root if audio_root is not None else input_path.parent
    samples = list(iter_samples(input_path))
    if limit is not None:
        samples = samples[:limit]
    finished: dict[str, dict] = {}
    if output_path.exists():
        for index, sample in enumerate(iter_samples(output_path)):
            if ANSWER_KEY in sample or ERROR_KEY in sample:
                finished[sample_key(sample, index)] = sample
    keys = [sample_key(s, i) for i, s in enumerate(samples)]
    pending = [i for i, key in enumerate(keys) if key not in finished]
    skipped = len(samples) - len(pending)
    params = params or SamplingParams()
    answered = failed = 0
    chunk = max(1, batch_size) * 4
    with tqdm(total=len(samples), initial=skipped, desc="answering", unit="sample", disable=not progress) as bar:
        for start in range(0, len(pending), chunk):
            indices = pending[start : start + chunk]
            conversations, runnable = [], []
            for i in indices:
                try:
                    conversations.append(prompt_messages(samples[i], root))
                    runnable.append(i)
                except LlasoError as exc:
                    finished[keys[i]] = {**samples[i], ERROR_KEY: str(exc)}
                    failed += 1
            for i, result in zip(runnable, model.chat_batch(conversations, params, batch_size=batch_size)):
                if result.error is None:
                    finished[keys[i]] = {**samples[i], ANSWER_KEY: result.text}
                    answered += 1
                else:
                    finished[keys[i]] = {**samples[i], ERROR_KEY: result.error}
                    failed += 1
            write_samples(output_path, (finished[k] for k in keys if k in finished))
            bar.update(len(indices))
    if not pending:
        write_samples(output_path, (finished[k] for k in keys if k in finished))
    return RunSummary(total=len(samples), answered=answered, failed=failed, skipped=skipped)
