"""Text normalisations the metrics agree on, each a small pure function.

The `official_*` ones reproduce, character for character, how the official LLaSO-Eval
scripts prepare text (docs/eval-semantics.md names the script of each); the others are
llaso's own, used by the corrected metrics.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = "'\u2019\u02bc"
# IPA signs that modify the symbol before them rather than standing alone.
_IPA_MODIFIERS = frozenset("ːˑʰʱʲʷˠˤⁿˡ˞̃")


def normalize_transcript(text: str) -> str:
    """Lower-case, drop apostrophes, turn other punctuation and symbols into spaces.

    Used for the `_normalized` error rates, which forgive case and punctuation
    ("Don't stop." and "dont stop" are the same words).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    pieces = []
    for char in text:
        if char in _APOSTROPHES:
            continue
        category = unicodedata.category(char)
        pieces.append(" " if category[0] in "PS" else char)
    return " ".join("".join(pieces).split())


_WHITESPACE_RUN = re.compile(r"\s\s+")


def official_label(text: str) -> str:
    """A label or answer as the official accuracy script compares them: periods removed,
    lower-cased, nothing else (outer spaces stay)."""
    return text.replace(".", "").lower()


def official_abstention_label(text: str) -> str:
    """A reference as the official abstention script turns it into a label: outer spaces
    and trailing periods removed, lower-cased (inner periods stay: "u.s")."""
    return text.strip().lower().rstrip(". ").strip()


def official_words(text: str) -> list[str]:
    """Words as jiwer's default transform (the official WER) splits them: runs of two or
    more whitespace characters become one space, outer whitespace goes, then the text is
    split on spaces only, so one tab or newline inside "a\tb" keeps it one word."""
    return [w for w in _WHITESPACE_RUN.sub(" ", text).strip().split(" ") if w]


def official_chars(text: str) -> list[str]:
    """Characters as the official CER counts them: whitespace runs of two or more made one
    space, outer whitespace removed; every remaining character (spaces too) counts."""
    return list(_WHITESPACE_RUN.sub(" ", text).strip())


# The official PER keeps only ASCII letters and then merges some of them, as if they were
# indices of TIMIT's 61 phones folded to 39 (assess_per_eval.py, IDX_MAPPING): letters of
# one group below count as the same symbol.
_LETTER_GROUPS = ("AD", "CFG", "HW", "KNV")
_LETTER_CLASS = {letter: group[0] for group in _LETTER_GROUPS for letter in group}


def official_phoneme_letters(text: str) -> str:
    """The symbols the official PER compares: the text upper-cased (so "ß" is "SS"), only
    A-Z kept, each letter replaced by its group's first letter. IPA symbols all vanish."""
    return "".join(_LETTER_CLASS.get(c, c) for c in text.upper() if "A" <= c <= "Z")


def normalize_label(text: str) -> str:
    """A closed-set label as compared: lower-cased, periods removed, outer spaces stripped."""
    return " ".join(text.lower().replace(".", "").split())


def ipa_symbols(text: str) -> list[str]:
    """Split an IPA string into symbols: a base letter with its diacritics and length marks.

    Word boundaries are not symbols; "biː" is ["b", "iː"].
    """
    symbols: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            continue
        is_modifier = unicodedata.combining(char) or char in _IPA_MODIFIERS
        if is_modifier and symbols:
            symbols[-1] += char
        else:
            symbols.append(char)
    return symbols
