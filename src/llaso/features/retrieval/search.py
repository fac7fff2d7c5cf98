"""Retrieval over an index: BM25, dense, or both fused by reciprocal rank.

Each hit carries two relevance signals on a 0-1 scale whatever the corpus: `coverage` (the
share of the question's IDF weight found in the passage) and, with dense vectors, `cosine`.
`Retrieval.relevance` (the best hit's signal for the mode) is what the refusal threshold is
compared with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from llaso.errors import LlasoError
from llaso.features.retrieval.fusion import DEFAULT_RRF_K, reciprocal_rank_fusion
from llaso.features.retrieval.index import PassageIndex, StoredPassage

Mode = Literal["auto", "bm25", "dense", "fused"]
MODES = ("auto", "bm25", "dense", "fused")


@dataclass
class Hit:
    passage: StoredPassage
    score: float  # the mode's ranking score: BM25, cosine or RRF
    coverage: float = 0.0
    cosine: float | None = None
    bm25_rank: int | None = None  # 1-based rank in each list it came from
    dense_rank: int | None = None

    def relevance(self, mode: str) -> float:
        if mode == "bm25" or self.cosine is None:
            return self.coverage
        if mode == "dense":
            return max(0.0, self.cosine)
        return 0.5 * (self.coverage + max(0.0, self.cosine))


@dataclass
class Retrieval:
    query: str
    mode: str  # the mode that ran ("auto" resolved)
    hits: list[Hit] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def relevance(self) -> float:
        """The best hit's relevance (0 when nothing matched)."""
        return max((h.relevance(self.mode) for h in self.hits), default=0.0)


def resolve_mode(index: PassageIndex, mode: str) -> str:
    if mode not in MODES:
        raise LlasoError(f"retrieval mode {mode!r}: choose one of {', '.join(MODES)}")
    if mode == "auto":
        return "fused" if index.dense else "bm25"
    if mode in ("dense", "fused") and not index.dense:
        raise LlasoError(f"{index.path} has no dense vectors (built without --dense): use --mode bm25, "
                         "or rebuild it with --dense")
    return mode


def retrieve(index: PassageIndex, query: str, *, k: int = 5, mode: Mode = "auto",
             candidates: int = 50, rrf_k: int = DEFAULT_RRF_K) -> Retrieval:
    """The `k` best passages for `query`. `candidates` passages from each list are fused."""
    if k < 1:
        raise LlasoError(f"k is {k}; ask for at least one passage")
    began = time.perf_counter()
    mode = resolve_mode(index, mode)
    pool = max(k, candidates)
    bm25 = index.search_bm25(query, pool) if mode in ("bm25", "fused") else []
    dense: list[tuple[int, float]] = []
    query_vector = None
    if mode in ("dense", "fused") and query.strip():
        from llaso.features.retrieval.embeddings import dense_top_k

        ids, matrix = index.dense_matrix()
        query_vector = index.embedder().embed([query])[0]
        rows, scores = dense_top_k(matrix, query_vector, pool)
        dense = [(int(ids[r]), float(s)) for r, s in zip(rows, scores)]
    bm25_rank = {pid: rank for rank, (pid, _) in enumerate(bm25, 1)}
    dense_rank = {pid: rank for rank, (pid, _) in enumerate(dense, 1)}
    if mode == "bm25":
        ranked = bm25[:k]
    elif mode == "dense":
        ranked = dense[:k]
    else:
        ranked = reciprocal_rank_fusion([[p for p, _ in bm25], [p for p, _ in dense]], k=rrf_k)[:k]
    chosen = [int(pid) for pid, _ in ranked]
    passages = {p.id: p for p in index.passages(chosen)}
    coverage = index.term_coverage(query, chosen)
    cosines: dict[int, float] = {}
    if query_vector is not None and chosen:
        ids, matrix = index.dense_matrix()
        rows = np.searchsorted(ids, chosen)
        cosines = {pid: float(matrix[row] @ query_vector) for pid, row in zip(chosen, rows)}
    hits = [Hit(passage=passages[pid], score=float(score), coverage=coverage.get(pid, 0.0),
                cosine=cosines.get(pid), bm25_rank=bm25_rank.get(pid), dense_rank=dense_rank.get(pid))
            for pid, score in ranked if pid in passages]
    return Retrieval(query=query, mode=mode, hits=hits, seconds=time.perf_counter() - began)
