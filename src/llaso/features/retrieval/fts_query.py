"""Turning any text (a transcript, a typed question) into a safe FTS5 query.

FTS5 has its own query language: `"phrases"`, `AND`/`OR`/`NOT`, `NEAR(...)`, `prefix*`,
`-column` filters and `col:` prefixes. A transcript that says "C-style" or "don't" or "AND"
must never become syntax. Every word is kept as a double-quoted string (FTS5's literal form),
punctuation is dropped, and the words are OR-ed so that BM25 ranks passages by how many and
how rare the question's words they contain.
"""

from __future__ import annotations

from llaso.features.retrieval.words import STOPWORDS, words

MAX_QUERY_TERMS = 32


def query_terms(text: str, max_terms: int = MAX_QUERY_TERMS) -> list[str]:
    """The question's distinct searchable words: stopwords dropped unless nothing else is left."""
    found = words(text)
    content = [w for w in found if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    chosen = content or found
    unique: list[str] = []
    for word in chosen:
        if word not in unique:
            unique.append(word)
    return unique[:max_terms]


def quote_term(term: str) -> str:
    """FTS5's string literal: wrapped in double quotes, inner double quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression for `text`, or None when it has no searchable word."""
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join(quote_term(t) for t in terms)
