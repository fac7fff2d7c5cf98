"""Sentences from WordNet 3.0 (Debian `wordnet-base`, WordNet licence: free use with notice).

Two kinds of text: example sentences (the quoted parts after '|' in each synset line, about
30k usable) and glosses (the definitions, about 95k usable), everyday English across domains.
ASR targets keep WordNet's wording and casing, with the first letter upper-cased and a final
full stop added when the text has no end punctuation (the normalisation is `as_sentence`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from llaso.data.text_sources.split import normalise_key
from llaso.errors import LlasoError

WORDNET_DIR = Path("/usr/share/wordnet")
_POS_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
_SPEAKABLE = re.compile(r"^[A-Za-z][A-Za-z ,'\-]*[A-Za-z.?!]$")


def as_sentence(text: str) -> str:
    """'the cat sat' -> 'The cat sat.' (wording and inner casing unchanged)."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] not in ".?!":
        text += "."
    return text


def _speakable(text: str, min_words: int, max_words: int) -> bool:
    words = text.split()
    return (min_words <= len(words) <= max_words and bool(_SPEAKABLE.match(text))
            and "--" not in text and " '" not in text and "' " not in text)


@lru_cache(maxsize=4)
def wordnet_texts(folder: str = str(WORDNET_DIR), min_words: int = 4,
                  max_words: int = 18) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(examples, glosses): distinct speakable texts, in file order, normalised by as_sentence."""
    root = Path(folder)
    if not all((root / name).is_file() for name in _POS_FILES):
        raise LlasoError(f"{root}: WordNet data files not found (apt-get install wordnet-base)")
    examples: dict[str, str] = {}
    glosses: dict[str, str] = {}
    for name in _POS_FILES:
        with open(root / name, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("  ") or "|" not in line:
                    continue
                for part in line.split("|", 1)[1].split(";"):
                    part = part.strip()
                    quoted = part.startswith('"')
                    text = part.strip('"').strip() if quoted else part
                    if not _speakable(text, min_words, max_words):
                        continue
                    target = examples if quoted else glosses
                    target.setdefault(normalise_key(text), as_sentence(text))
    for key in examples:
        glosses.pop(key, None)
    return tuple(examples.values()), tuple(glosses.values())
