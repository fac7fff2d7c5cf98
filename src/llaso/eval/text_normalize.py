"""Text normalisations the metrics agree on, each a small pure function."""

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


_NUMBER = re.compile(r"(?<![\d.])(-?\d+(?:\.\d+)?)(?:\s*(?:-|–|to)\s*(\d+(?:\.\d+)?))?")


def first_number(text: str) -> float | None:
    """The first number in `text`; a range such as "20-24" gives its midpoint; None if none."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    low = float(match.group(1))
    if match.group(2) is not None:
        return (low + float(match.group(2))) / 2
    return low
