"""The conversation the model answers: numbered passages, the question, and the audio.

One builder for the LSLM (audio in the user turn, so tone and speaker reach the model) and
for the cascade (the transcript as text, no audio), so that the two see the same passages
in the same words.
"""

from __future__ import annotations

import os
from typing import Any

from llaso.features.retrieval.index import StoredPassage

REFUSAL = "I could not find the answer in the documents."
MAX_PASSAGE_WORDS = 160

INSTRUCTION = (
    "Using only the passages above, answer this question in one sentence and end with the "
    "passage number in brackets, like [1]. If they do not say, reply: " + REFUSAL
)


def passage_block(number: int, passage: StoredPassage, max_words: int = MAX_PASSAGE_WORDS) -> str:
    words = passage.text.split()
    text = " ".join(words[:max_words]) + (" ..." if len(words) > max_words else "")
    return f"Passage [{number}]: {text}"


def build_messages(question: str, passages: list[StoredPassage], *, audio: Any = None,
                   audio_rate: int | None = None) -> list[dict[str, Any]]:
    """One user turn: the audio (when given), the passages, the instruction, the question
    (the transcript, or the typed text).

    No system prompt (llaso-tiny was tuned without one) and the question last: with the
    135M model, the passages-instruction-question order was the one that answered from the
    passages on hand-made questions about the Python tutorial (a collection kept out of the
    benchmark), where a system prompt or the question first made it echo section numbers.
    """
    context = "\n\n".join(passage_block(i, p) for i, p in enumerate(passages, 1))
    content: list[dict[str, Any]] = []
    if audio is not None:
        content.append(audio_part(audio, audio_rate))
    content.append({"type": "text", "text": f"{context}\n\n{INSTRUCTION}\n\nQuestion: {question.strip()}"})
    return [{"role": "user", "content": content}]


def audio_part(audio: Any, sampling_rate: int | None = None) -> dict[str, Any]:
    """A message part for a path, encoded bytes or samples (with their rate)."""
    if isinstance(audio, (str, os.PathLike)):
        return {"type": "audio", "path": os.fspath(audio)}
    part: dict[str, Any] = {"type": "audio", "audio": audio}
    if sampling_rate is not None:
        part["sampling_rate"] = sampling_rate
    return part
