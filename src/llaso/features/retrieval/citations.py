"""Checking an answer's citations against the passages it was given.

A citation `[n]` must name a passage that exists, and the words of the sentence that cites
it must mostly occur in that passage; otherwise it is dropped. The answer is supported when
some citation survives, no sentence lost all of its citations, and the answer's key words,
taken together, mostly occur in the cited passages. Small models often cite nothing: `attribute` then credits the passage that
holds the answer's words, marked as not cited by the model, under the same word test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llaso.features.retrieval.passages import split_sentences
from llaso.features.retrieval.words import key_words

DEFAULT_MIN_SUPPORT = 0.5  # share of a sentence's key words that the cited passage must hold
MIN_ATTRIBUTION_WORDS = 2  # an uncited answer of one word or a number is credited to nothing

# [1]  [1, 2]  [1][2]  [1-3]  [Passage 2]  [source 3]  [doc 1; 2]
CITATION = re.compile(
    r"\[\s*(?:passages?|sources?|docs?|documents?|refs?)?\s*#?\s*"
    r"(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*#?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_REFUSALS = re.compile(
    r"could ?n[o']t find|can ?n[o']t find|cannot find|unable to find|not find the answer|"
    r"no (?:relevant )?information|do(?:es)? not (?:contain|mention|say|provide)|"
    r"don'?t (?:contain|mention|know)|not mentioned|no answer",
    re.IGNORECASE,
)


@dataclass
class CitationCheck:
    text: str  # the answer with dropped citation markers removed
    cited: list[int] = field(default_factory=list)  # surviving passage numbers, first use first
    attributed: list[int] = field(default_factory=list)  # credited by `attribute`, not the model
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (number, why)
    supported: bool = False
    support: float = 0.0  # share of the answer's key words found in the kept passages

    @property
    def numbers(self) -> list[int]:
        return self.cited + [n for n in self.attributed if n not in self.cited]


def expand_numbers(group: str) -> list[int]:
    """'1, 2' -> [1, 2]; '1-3' -> [1, 2, 3] (ranges capped at 20 numbers)."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group):
        part = part.replace("#", "").strip()
        if not part:
            continue
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            low, high = int(bounds[0]), int(bounds[1])
            if low <= high and high - low < 20:
                numbers += range(low, high + 1)
                continue
        numbers += [int(b) for b in bounds if b.isdigit()]
    return numbers


def strip_citations(text: str) -> str:
    return " ".join(CITATION.sub(" ", text).split())


def looks_like_refusal(text: str) -> bool:
    """Whether the model itself said the documents do not hold the answer."""
    return bool(_REFUSALS.search(text))


def word_support(words: set[str], passage_words: set[str]) -> float:
    """Share of `words` found in `passage_words` (1.0 for a sentence with no key word)."""
    return len(words & passage_words) / len(words) if words else 1.0


def check_citations(answer: str, passages: list[str], *, min_support: float = DEFAULT_MIN_SUPPORT,
                    attribute: bool = False, question: str = "") -> CitationCheck:
    """Check `answer`'s citations against `passages` (passage n is passages[n - 1]).

    Words of `question` do not count as the answer's: an answer that only restates the
    question (which small models do) is supported by nothing, whatever it cites.
    """
    asked = key_words(question)
    passage_words = [key_words(p) for p in passages]
    kept: list[int] = []
    dropped: list[tuple[int, str]] = []
    pieces: list[str] = []
    orphaned = False  # a sentence whose every citation was dropped
    for _, sentence in split_sentences(answer) or [(0, answer)]:
        sentence_words = key_words(strip_citations(sentence)) - asked

        def verdict(match: re.Match) -> str:
            survivors = []
            for number in expand_numbers(match.group(1)):
                if not 1 <= number <= len(passages):
                    dropped.append((number, f"there is no passage {number} (given {len(passages)})"))
                elif word_support(sentence_words, passage_words[number - 1]) < min_support:
                    dropped.append((number, f"passage {number} does not hold this sentence's words"))
                else:
                    survivors.append(number)
                    if number not in kept:
                        kept.append(number)
            return "[" + ", ".join(map(str, dict.fromkeys(survivors))) + "]" if survivors else ""

        rewritten = CITATION.sub(verdict, sentence)
        if CITATION.search(sentence) and not CITATION.search(rewritten):
            orphaned = True
        pieces.append(rewritten)
    text = " ".join(" ".join(pieces).split())
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    answer_words = key_words(strip_citations(answer)) - asked
    attributed: list[int] = []
    wordy = sum(not w.isdigit() for w in answer_words) >= MIN_ATTRIBUTION_WORDS
    if attribute and not kept and not dropped and passages and wordy:
        best = max(range(len(passages)), key=lambda i: word_support(answer_words, passage_words[i]))
        if word_support(answer_words, passage_words[best]) >= min_support:
            attributed.append(best + 1)
    chosen = kept or attributed
    union = set().union(*(passage_words[n - 1] for n in chosen)) if chosen else set()
    support = word_support(answer_words, union) if chosen else 0.0
    supported = bool(chosen) and bool(answer_words) and not orphaned and support >= min_support
    return CitationCheck(text=text, cited=kept, attributed=attributed, dropped=dropped,
                         supported=supported, support=support)
