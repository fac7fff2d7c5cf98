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

SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages from the user's documents. "
    "Answer in one or two short sentences, copying the passage's own words where you can, "
    "and put the number of the passage you used in square brackets after each sentence, "
    "like [1]. If the passages do not answer the question, reply exactly: " + REFUSAL
)


def passage_block(number: int, passage: StoredPassage, max_words: int = MAX_PASSAGE_WORDS) -> str:
    words = passage.text.split()
    text = " ".join(words[:max_words]) + (" ..." if len(words) > max_words else "")
    where = passage.heading or passage.title or ""
    return f"[{number}] ({where}) {text}" if where else f"[{number}] {text}"


def build_messages(question: str, passages: list[StoredPassage], *, audio: Any = None,
                   audio_rate: int | None = None) -> list[dict[str, Any]]:
    """System instructions, then one user turn: the audio (when given), the passages and the
    question. `question` is the transcript (or the typed text)."""
    context = "\n\n".join(passage_block(i, p) for i, p in enumerate(passages, 1))
    text = f"Passages:\n{context}\n\nQuestion: {question.strip()}\nAnswer with the passage number in brackets:"
    content: list[dict[str, Any]] = []
    if audio is not None:
        content.append(audio_part(audio, audio_rate))
    content.append({"type": "text", "text": text})
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]


def audio_part(audio: Any, sampling_rate: int | None = None) -> dict[str, Any]:
    """A message part for a path, encoded bytes or samples (with their rate)."""
    if isinstance(audio, (str, os.PathLike)):
        return {"type": "audio", "path": os.fspath(audio)}
    part: dict[str, Any] = {"type": "audio", "audio": audio}
    if sampling_rate is not None:
        part["sampling_rate"] = sampling_rate
    return part
