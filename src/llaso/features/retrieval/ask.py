"""Ask your documents: a spoken (or typed) question in, a cited answer out.

The pipeline: Whisper transcribes the question; the transcript retrieves passages; when the
best passage is not relevant enough (`min_relevance`, calibrated per retrieval mode on a
held-out split, see benchmarks/bench_retrieval.py) the answer is a refusal; otherwise the
model answers from the top passages only, with the audio in the same user turn, and its
citations are checked (`citations.check_citations`). `cascade=True` gives the same
passages and the transcript as text without audio: the ASR-then-LLM baseline.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llaso.errors import LlasoError
from llaso.features.retrieval.citations import (
    DEFAULT_MIN_SUPPORT,
    check_citations,
    looks_like_refusal,
    strip_citations,
)
from llaso.features.retrieval.index import PassageIndex, StoredPassage
from llaso.features.retrieval.prompt import REFUSAL, build_messages
from llaso.features.retrieval.search import Hit, Mode, retrieve

DEFAULT_TOP_K = 3  # passages the model reads: a 135M model reads three better than ten
# Refusal thresholds on Retrieval.relevance, calibrated (balanced accuracy) on the
# calibration half of the benchmark's spoken questions (Debian FAQ, Python FAQ and
# glossary; Whisper tiny.en transcripts); the test half is what the README reports.
# Other documents and other microphones may want their own: pass min_relevance.
DEFAULT_MIN_RELEVANCE = {"bm25": 0.78, "dense": 0.46, "fused": 0.58}


@dataclass
class Citation:
    number: int  # as printed in the answer, [number]
    passage: StoredPassage
    by_model: bool  # False: credited by word overlap because the model cited nothing

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "by_model": self.by_model, **self.passage.to_dict()}


@dataclass
class Answer:
    question: str  # what retrieval ran on: the transcript, or the typed question
    text: str  # the checked answer (dropped citations removed), or the refusal
    refused: bool
    supported: bool
    citations: list[Citation] = field(default_factory=list)
    dropped: list[tuple[int, str]] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)  # the passages the model was given, in order
    relevance: float = 0.0
    min_relevance: float = 0.0
    mode: str = "bm25"
    pipeline: str = "lslm"  # or "cascade"
    raw: str = ""  # the model's words as generated ("" when refused before generation)
    refusal_reason: str | None = None  # "retrieval" (below threshold) or "model"
    seconds: dict[str, float] = field(default_factory=dict)

    def format(self) -> str:
        """The answer, then one line per cited source (what the CLI prints)."""
        lines = [self.text]
        if not self.refused and not self.supported:
            lines.append("(unsupported: no cited passage holds this answer's words)")
        if self.citations:
            lines.append("")
            for citation in self.citations:
                note = "" if citation.by_model else "  (matched by words; the model cited nothing)"
                lines.append(f"[{citation.number}] {citation.passage.path}, {citation.passage.position}{note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answer": self.text, "refused": self.refused,
            "supported": self.supported, "refusal_reason": self.refusal_reason,
            "citations": [c.to_dict() for c in self.citations],
            "dropped_citations": [{"number": n, "reason": r} for n, r in self.dropped],
            "passages": [{"rank": i, "score": h.score, "coverage": h.coverage, "cosine": h.cosine,
                          **h.passage.to_dict()} for i, h in enumerate(self.hits, 1)],
            "relevance": self.relevance, "min_relevance": self.min_relevance, "mode": self.mode,
            "pipeline": self.pipeline, "raw": self.raw, "seconds": self.seconds,
        }


def transcribe_question(transcriber: Any, audio: Any) -> str:
    """The transcript of a spoken question (`WhisperTranscriber`), or a clear error."""
    if transcriber is None:
        from llaso.inference.transcribe import WhisperTranscriber

        transcriber = WhisperTranscriber.from_pretrained()
    result = transcriber.transcribe([audio])[0]
    if result.error:
        raise LlasoError(f"the question could not be transcribed: {result.error}")
    text = (result.text or "").strip()
    if not text:
        raise LlasoError("no speech was recognised in the question's audio")
    return text


def _open(index: PassageIndex | str | os.PathLike) -> tuple[PassageIndex, bool]:
    if isinstance(index, PassageIndex):
        return index, False
    return PassageIndex.open(Path(index)), True


def ask(model: Any, index: PassageIndex | str | os.PathLike, *, audio: Any = None,
        question: str | None = None, transcriber: Any = None, k: int = DEFAULT_TOP_K,
        mode: Mode = "auto", min_relevance: float | None = None, params: Any = None,
        cascade: bool = False, attribute: bool = True, min_support: float = DEFAULT_MIN_SUPPORT,
        audio_rate: int | None = None) -> Answer:
    """Answer a question from the documents in `index`, citing them.

    `model`: a loaded `Llaso`. `audio`: the spoken question (path, bytes or samples at
    `audio_rate`); it is transcribed with `transcriber` (a `WhisperTranscriber`, loaded when
    None) unless `question` gives the text. The audio, when given, goes to the model too
    (not with `cascade`). `min_relevance`: refuse below it (default: calibrated per mode).
    """
    if audio is None and not (question and question.strip()):
        raise LlasoError("give the question as audio, as text, or both")
    from llaso.generation.sampling import SamplingParams

    params = params or SamplingParams(max_new_tokens=96)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    if question is None or not question.strip():
        question = transcribe_question(transcriber, audio)
        seconds["transcribe"] = time.perf_counter() - began
    opened, close = _open(index)
    try:
        retrieval = retrieve(opened, question, k=k, mode=mode)
    finally:
        if close:
            opened.close()
    seconds["retrieve"] = retrieval.seconds
    threshold = DEFAULT_MIN_RELEVANCE[retrieval.mode] if min_relevance is None else float(min_relevance)
    answer = Answer(question=question, text=REFUSAL, refused=True, supported=False, hits=retrieval.hits,
                    relevance=retrieval.relevance, min_relevance=threshold, mode=retrieval.mode,
                    pipeline="cascade" if cascade else "lslm", seconds=seconds)
    if not retrieval.hits or retrieval.relevance < threshold:
        answer.refusal_reason = "retrieval"
        return answer
    passages = [h.passage for h in retrieval.hits]
    messages = build_messages(question, passages, audio=None if cascade else audio, audio_rate=audio_rate)
    began = time.perf_counter()
    raw = model.chat(messages, params)
    seconds["generate"] = time.perf_counter() - began
    return finish_answer(answer, raw, passages, attribute=attribute, min_support=min_support)


def finish_answer(answer: Answer, raw: str, passages: list[StoredPassage], *, attribute: bool = True,
                  min_support: float = DEFAULT_MIN_SUPPORT) -> Answer:
    """Check the model's words `raw` against `passages` and fill in `answer`."""
    answer.raw = raw
    cleaned = raw.strip()
    if not strip_citations(cleaned) or looks_like_refusal(cleaned):
        answer.refusal_reason = "model"
        return answer
    check = check_citations(cleaned, [f"{p.heading or ''} {p.text}" for p in passages],
                            min_support=min_support, attribute=attribute, question=answer.question)
    answer.refused = False
    answer.text = check.text
    answer.supported = check.supported
    answer.dropped = check.dropped
    answer.citations = [Citation(n, passages[n - 1], by_model=n in check.cited) for n in check.numbers]
    return answer
