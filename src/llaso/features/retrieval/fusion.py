"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): merge rankings whose
scores are not comparable (BM25, cosine) by rank alone."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

DEFAULT_RRF_K = 60  # the constant of the paper; it damps the weight of the very first ranks


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: int = DEFAULT_RRF_K) -> list[tuple[Hashable, float]]:
    """Items of all rankings (best first) by sum of 1 / (k + rank), rank 1-based; ties keep
    the order in which items were first seen."""
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
