"""Splitting documents into overlapping passages that remember where they came from.

A passage stays inside one section (heading), ends at a sentence boundary where it can, and
repeats the last sentences of the previous passage (the overlap) so that an answer that
straddles a boundary is whole in at least one passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llaso.features.retrieval.readers import Block, Document

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class PassageSettings:
    """`max_words` per passage and `overlap_words` repeated from the previous one."""

    max_words: int = 120
    overlap_words: int = 30

    def __post_init__(self) -> None:
        if self.max_words < 10:
            raise ValueError(f"max_words is {self.max_words}; a passage needs at least 10 words")
        if not 0 <= self.overlap_words < self.max_words // 2 + 1:
            raise ValueError(f"overlap_words is {self.overlap_words}; it must be between 0 and "
                             f"half of max_words ({self.max_words // 2})")


@dataclass
class Passage:
    ordinal: int  # 0-based within its document
    text: str
    heading: str | None
    start: int  # character offsets in the document's text (blocks joined by blank lines)
    end: int
    line: int | None = None
    end_line: int | None = None
    page: int | None = None
    end_page: int | None = None


@dataclass
class _Sentence:
    text: str
    start: int
    block: Block

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs; a sentence ends at . ! ? before a capital, digit or quote."""
    pieces, last = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append((last, text[last : match.start()].strip()))
        last = match.end()
    pieces.append((last, text[last:].strip()))
    return [(o, s) for o, s in pieces if s]


def _sentences(blocks: list[tuple[int, Block]], max_words: int) -> list[_Sentence]:
    out = []
    for offset, block in blocks:
        for start, sentence in split_sentences(block.text):
            tokens = sentence.split()
            if len(tokens) <= max_words:
                out.append(_Sentence(sentence, offset + start, block))
                continue
            # A run-on "sentence" (a table, a code listing) is cut into max_words pieces.
            cursor = offset + start
            for i in range(0, len(tokens), max_words):
                piece = " ".join(tokens[i : i + max_words])
                out.append(_Sentence(piece, cursor, block))
                cursor += len(piece) + 1
    return out


def split_passages(document: Document, settings: PassageSettings = PassageSettings()) -> list[Passage]:
    """The passages of `document`, in order."""
    passages: list[Passage] = []
    offset = 0
    sections: list[list[tuple[int, Block]]] = []
    for block in document.blocks:
        if not sections or sections[-1][-1][1].heading != block.heading:
            sections.append([])
        sections[-1].append((offset, block))
        offset += len(block.text) + 2
    for section in sections:
        sentences = _sentences(section, settings.max_words)
        begin = 0
        while begin < len(sentences):
            end, words = begin, 0
            while end < len(sentences) and (end == begin or words + sentences[end].n_words <= settings.max_words):
                words += sentences[end].n_words
                end += 1
            chosen = sentences[begin:end]
            passages.append(_passage(len(passages), chosen))
            if end >= len(sentences):
                break
            # Next passage starts with the last sentences worth at most overlap_words words.
            back, carried = end, 0
            while back - 1 > begin and carried + sentences[back - 1].n_words <= settings.overlap_words:
                back -= 1
                carried += sentences[back].n_words
            begin = back
    return passages


def _passage(ordinal: int, chosen: list[_Sentence]) -> Passage:
    blocks = [s.block for s in chosen]
    lines = [b.line for b in blocks if b.line is not None] + [b.end_line for b in blocks if b.end_line is not None]
    pages = [b.page for b in blocks if b.page is not None]
    last = chosen[-1]
    return Passage(
        ordinal=ordinal,
        text=" ".join(s.text for s in chosen),
        heading=blocks[0].heading,
        start=chosen[0].start,
        end=last.start + len(last.text),
        line=min(lines) if lines else None,
        end_line=max(lines) if lines else None,
        page=min(pages) if pages else None,
        end_page=max(pages) if pages else None,
    )
