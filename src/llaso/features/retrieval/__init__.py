"""Spoken knowledge retrieval: index your documents, ask them a question aloud, get a cited
answer (or a refusal when they do not hold one).

    from llaso.features.retrieval import PassageIndex, ask
    index = PassageIndex.create("docs.sqlite"); index.add(["docs/"])
    print(ask(model, index, audio="question.wav", transcriber=whisper).format())
"""

from llaso.features.retrieval.ask import DEFAULT_MIN_RELEVANCE, DEFAULT_TOP_K, Answer, Citation, ask
from llaso.features.retrieval.citations import CitationCheck, check_citations
from llaso.features.retrieval.index import AddReport, IndexStats, PassageIndex, PassageIndexError, StoredPassage
from llaso.features.retrieval.passages import Passage, PassageSettings, split_passages
from llaso.features.retrieval.readers import Document, DocumentError, read_document
from llaso.features.retrieval.search import Hit, Retrieval, retrieve

__all__ = ["AddReport", "Answer", "Citation", "CitationCheck", "DEFAULT_MIN_RELEVANCE", "DEFAULT_TOP_K",
           "Document", "DocumentError", "Hit", "IndexStats", "Passage", "PassageIndex", "PassageIndexError",
           "PassageSettings", "Retrieval", "StoredPassage", "ask", "check_citations", "read_document",
           "retrieve", "split_passages"]
