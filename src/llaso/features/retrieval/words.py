"""Words as retrieval and citation checking see them: lower-cased letters and digits.

One tokeniser for query escaping, citation checking and the evaluation, so that "key words"
mean the same thing everywhere. The stopword list is short and English: function words that
carry no topic and that every passage contains.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing done down during each either else
etc every few for from further get gets got had has have having he her here hers herself him
himself his how however i if in into is it its itself just let like may me might mine more most
must my myself no nor not now of off on once one only or other our ours ourselves out over own
per please same shall she should so some such than that the their theirs them themselves then
there these they this those through thus to too under until up upon us use used uses using very
via was we were what when where whether which while who whom whose why will with within without
would yes yet you your yours yourself yourselves tell know explain mean means
""".split())

# Contractions and possessives are reduced to their stem ("debian's" -> "debian").
_SUFFIXES = ("'s", "’s", "'t", "’t", "'re", "’re", "'ll", "’ll", "'ve", "’ve", "'d", "’d", "'m", "’m")


def words(text: str) -> list[str]:
    """Every word of `text`, lower-cased, in order (possessives stripped)."""
    found = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        for suffix in _SUFFIXES:
            if word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        if word:
            found.append(word)
    return found


def content_words(text: str) -> list[str]:
    """Words that carry the topic: no stopwords, no single letters (order kept, repeats kept)."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def normalise(word: str) -> str:
    """A crude plural/verb-form fold ("packages" ~ "package", "installed" ~ "install") used when
    comparing an answer's words with a passage's: enough for checking, no stemmer needed."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def key_words(text: str) -> set[str]:
    """The folded content words of `text`: what an answer must share with its source."""
    return {normalise(w) for w in content_words(text)}
