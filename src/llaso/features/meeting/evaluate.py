"""Scores of a meeting report against a scripted meeting's labels.

- DER (diarisation error rate) from `simpleder` (Apache-2.0): missed speech + false alarm +
  speaker confusion over reference speech time, speakers matched optimally, no collar.
- Action items: a predicted item matches a labelled one when its task shares at least half of
  the labelled task's content words, its owner is the labelled person (a name said in the
  meeting, or the speaker cluster that the optimal DER mapping gives that person), and, when
  the label has a deadline, the predicted deadline has the same words. Recall and precision
  follow from a one-to-one matching.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

STOP = {"the", "a", "an", "to", "for", "of", "on", "in", "with", "and", "about", "by", "my", "our", "your", "their",
        "this", "that", "it", "up", "some", "all", "me", "us"}


def _content(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", (text or "").lower()) if w not in STOP}


def der(reference: Sequence[tuple[str, float, float]], hypothesis: Sequence[tuple[str, float, float]]) -> float:
    """(speaker, start, end) turns -> diarisation error rate (0 is perfect; can exceed 1)."""
    from simpleder import der as simple

    if not hypothesis:
        return 1.0
    return float(simple.DER(list(reference), list(hypothesis)))


def speaker_mapping(reference: Sequence[tuple[str, float, float]],
                    hypothesis: Sequence[tuple[str, float, float]]) -> dict[str, str]:
    """Hypothesis speaker -> reference speaker, maximising overlapping time (one-to-one)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    refs = sorted({r[0] for r in reference})
    hyps = sorted({h[0] for h in hypothesis})
    if not refs or not hyps:
        return {}
    overlap = np.zeros((len(hyps), len(refs)))
    for h, hs, he in hypothesis:
        for r, rs, re_ in reference:
            overlap[hyps.index(h), refs.index(r)] += max(0.0, min(he, re_) - max(hs, rs))
    rows, cols = linear_sum_assignment(-overlap)
    return {hyps[i]: refs[j] for i, j in zip(rows, cols) if overlap[i, j] > 0}


@dataclass
class ItemScores:
    recall: float
    precision: float
    matched: int
    labelled: int
    predicted: int
    task_recall: float  # ignoring owner and deadline


def _owner_matches(predicted: str | None, labelled: str, mapping: dict[str, str]) -> bool:
    if not predicted:
        return False
    return predicted.lower() == labelled.lower() or mapping.get(predicted, "").lower() == labelled.lower()


def _task_matches(predicted: str, labelled: str) -> bool:
    want = _content(labelled)
    return bool(want) and len(_content(predicted) & want) >= max(1, (len(want) + 1) // 2)


def _when_matches(predicted: str | None, labelled: str | None) -> bool:
    if not labelled:
        return True
    return bool(predicted) and _content(labelled) <= _content(predicted) | {"by", "on"}


def action_item_scores(predicted: Sequence, labelled: Sequence, mapping: dict[str, str] | None = None) -> ItemScores:
    """`predicted` items have .who .what .when; `labelled` items .who .what .when (names)."""
    mapping = mapping or {}
    used: set[int] = set()
    matched = 0
    for ref in labelled:
        for i, hyp in enumerate(predicted):
            if i in used:
                continue
            if (_task_matches(hyp.what, ref.what) and _owner_matches(hyp.who, ref.who, mapping)
                    and _when_matches(hyp.when, ref.when)):
                used.add(i)
                matched += 1
                break
    task_hits = sum(any(_task_matches(h.what, r.what) for h in predicted) for r in labelled)
    return ItemScores(recall=matched / len(labelled) if labelled else 1.0,
                      precision=matched / len(predicted) if predicted else (1.0 if not labelled else 0.0),
                      matched=matched, labelled=len(labelled), predicted=len(predicted),
                      task_recall=task_hits / len(labelled) if labelled else 1.0)
