"""Retrieval and answer metrics as pure functions (the benchmark and anyone's own set use them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from llaso.features.retrieval.citations import strip_citations
from llaso.features.retrieval.words import key_words, normalise

ANSWER_WORD_SHARE = 0.5  # an answer is correct when it holds at least half of the gold words


def recall_at_k(ranked: Sequence[int], gold: Collection[int], k: int) -> float:
    """1.0 when any gold passage is among the first `k` retrieved, else 0.0."""
    return 1.0 if any(item in gold for item in ranked[:k]) else 0.0


def answer_word_share(answer: str, gold_words: Sequence[str]) -> float:
    """Share of the gold answer's key words that occur in `answer` (citation markers ignored)."""
    if not gold_words:
        return 0.0
    said = key_words(strip_citations(answer))
    return sum(normalise(w) in said for w in gold_words) / len(gold_words)


def answer_correct(answer: str, gold_words: Sequence[str], share: float = ANSWER_WORD_SHARE) -> bool:
    return answer_word_share(answer, gold_words) >= share


def citation_precision(cited: Sequence[int], gold: Collection[int]) -> float | None:
    """Share of cited passages that are gold ones; None when nothing was cited."""
    if not cited:
        return None
    return sum(item in gold for item in cited) / len(cited)


def refusal_precision_recall(refused: Sequence[bool], unanswerable: Sequence[bool]) -> tuple[float, float]:
    """Precision (refusals that were right) and recall (unanswerable questions refused)."""
    hits = sum(r and u for r, u in zip(refused, unanswerable))
    n_refused, n_unanswerable = sum(refused), sum(unanswerable)
    return (hits / n_refused if n_refused else 0.0, hits / n_unanswerable if n_unanswerable else 0.0)


def calibrate_threshold(relevance: Sequence[float], unanswerable: Sequence[bool]) -> float:
    """The relevance threshold (refuse below it) that maximises balanced accuracy (Youden's J)
    on a calibration set; midway between neighbouring scores."""
    pairs = sorted(zip(relevance, unanswerable))
    n_pos = sum(unanswerable) or 1
    n_neg = (len(pairs) - sum(unanswerable)) or 1
    best, best_j = 0.0, -1.0
    values = [v for v, _ in pairs]
    candidates = [0.0] + [(a + b) / 2 for a, b in zip(values, values[1:]) if b > a] + [values[-1] + 1e-6 if values else 1.0]
    for threshold in candidates:
        tpr = sum(u for v, u in pairs if v < threshold) / n_pos
        tnr = sum(not u for v, u in pairs if v >= threshold) / n_neg
        if tpr + tnr - 1 > best_j:
            best, best_j = threshold, tpr + tnr - 1
    return best
