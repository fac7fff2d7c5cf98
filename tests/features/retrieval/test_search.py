from __future__ import annotations

import numpy as np
import pytest

from llaso.errors import LlasoError
from llaso.features.retrieval.embeddings import EmbedderError, check_model_folder, dense_top_k
from llaso.features.retrieval.fusion import reciprocal_rank_fusion
from llaso.features.retrieval.index import PassageIndex
from llaso.features.retrieval.search import retrieve


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_dense_top_k_orders_by_cosine():
    matrix = np.eye(4, dtype=np.float32)
    rows, scores = dense_top_k(matrix, np.array([0.1, 0.9, 0.3, 0.0], dtype=np.float32), 2)
    assert rows.tolist() == [1, 2] and scores[0] == pytest.approx(0.9)
    assert dense_top_k(matrix[:0], np.ones(4, np.float32), 3)[0].size == 0


def test_pickled_or_custom_code_models_are_refused(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(EmbedderError, match="safetensors"):
        check_model_folder(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "modules.json").write_text('[{"type": "my_package.EvilModule"}]')
    with pytest.raises(EmbedderError, match="custom code"):
        check_model_folder(tmp_path)


def test_bm25_index_refuses_dense_modes(tmp_path, docs_dir):
    with PassageIndex.create(tmp_path / "i.sqlite") as index:
        index.add([docs_dir])
        assert retrieve(index, "lighthouse", mode="auto").mode == "bm25"
        with pytest.raises(LlasoError, match="no dense vectors"):
            retrieve(index, "lighthouse", mode="dense")


def test_dense_vectors_are_stored_and_searched(dense_index):
    ids, matrix = dense_index.dense_matrix()
    assert len(ids) == dense_index.stats().passages and matrix.shape[1] == 384
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-2)
    # No word in common with the passage: only the embedding can find it.
    result = retrieve(dense_index, "Which tall coastal beacon guided ships?", k=1, mode="dense")
    assert "lighthouse" in result.hits[0].passage.text and result.hits[0].cosine > 0.3


def test_fused_retrieval_and_relevance(dense_index):
    result = retrieve(dense_index, "How many raised beds does the garden have?", k=3, mode="fused")
    assert result.mode == "fused" and "raised beds" in result.hits[0].passage.text
    top = result.hits[0]
    assert top.bm25_rank is not None and top.dense_rank is not None
    assert result.relevance == pytest.approx(max(0.5 * (h.coverage + max(0.0, h.cosine)) for h in result.hits))
    assert result.relevance >= 0.5 * (top.coverage + top.cosine) - 1e-6
    unrelated = retrieve(dense_index, "What is the exchange rate of the yen?", k=3, mode="fused")
    assert unrelated.relevance < result.relevance - 0.3


def test_adding_to_a_dense_index_embeds_new_passages(dense_index, tmp_path):
    extra = tmp_path / "ferry.txt"
    extra.write_text("The island ferry leaves from pier four every hour on the hour.")
    dense_index.add([extra])
    ids, _ = dense_index.dense_matrix()
    assert len(ids) == dense_index.stats().passages
    assert "ferry" in retrieve(dense_index, "boat timetable to the island", k=1, mode="dense").hits[0].passage.text
    dense_index.remove([extra])
    assert len(dense_index.dense_matrix()[0]) == dense_index.stats().passages
