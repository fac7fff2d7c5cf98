"""Reading a value (a number, pronunciation scores) out of a free-text answer.

`read_age`, `read_pitch` and `read_pronunciation_scores` follow the official LLaSO-Eval
scripts' rules exactly, quirks included (docs/eval-semantics.md lists them): the published
numbers were made with them. `first_number` is llaso's own, more forgiving reading, used by
the corrected MAE.
"""

from __future__ import annotations

import math
import re

_DIGITS = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d+\.?\d*")


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)  # Python's int(): "+7", "1_8" and non-ASCII digits ("٣٥") included
    except ValueError:
        return None


def read_age(text: str) -> int | None:
    """An age in whole years by the official age script's rules (mae/age_L1.py).

    The whole answer as an integer; else its digit runs: with a "-" anywhere and two runs or
    more, the midpoint of the first two, rounded half to even ("24-25" is 24); else the
    first run (so "22.7" is 22); with no digits, "adult" anywhere reads as 22. None: no value.
    """
    text = text.strip()
    whole = _int_or_none(text)
    if whole is not None:
        return whole
    runs = _DIGITS.findall(text)
    if runs:
        try:
            if "-" in text and len(runs) >= 2:
                return round((int(runs[0]) + int(runs[1])) / 2.0)
            return int(runs[0])
        except ValueError:  # more digits than int() takes: the official script skips it
            return None
    if "adult" in text.lower():
        return 22
    return None


def read_pitch(text: str) -> int | None:
    """A MIDI number by the official pitch script's rules (mae/pitch_L1.py), before its range check.

    The whole answer as an integer, else as a float rounded half to even ("60.5" is 60,
    "1e2" is 100); else its numbers ("60", "60.5", "60."): with a "-" anywhere and two or
    more, their midpoint, else the first, rounded half to even ("C4, MIDI 60" is 4).
    None: no value; also for infinities, on which the official script stops with an error.
    """
    text = text.strip()
    whole = _int_or_none(text)
    if whole is not None:
        return whole
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is not None and not math.isnan(value):  # NaN falls through to the number search
        return _rounded(value)
    numbers = _DECIMAL.findall(text)
    if not numbers:
        return None
    if "-" in text and len(numbers) >= 2:
        return _rounded((float(numbers[0]) + float(numbers[1])) / 2.0)
    return _rounded(float(numbers[0]))


def _rounded(value: float) -> int | None:
    """Rounded half to even; None for an infinity, on which the official script crashes."""
    try:
        return round(value)
    except OverflowError:
        return None


PITCH_RANGE = (0, 127)  # the official pitch script drops pairs with either value outside

_SCORE_NAMES = "accuracy|proso|fluency"
# "<name> ... is|:|=|as ... <number>", lazily, as the official script reads them.
_NAME_THEN_SCORE = re.compile(rf"({_SCORE_NAMES}).*?(?:is|:|=|as).*?(\d+)")
# "<number> for <name>", its fallback.
_SCORE_FOR_NAME = re.compile(rf"(\d+)\s*?(?:for)\s*?({_SCORE_NAMES})")


def read_pronunciation_scores(text: str) -> dict[str, int] | None:
    """Accuracy, prosodic and fluency scores by the official script's rules
    (others/pronunciation_scoring.py), or None unless all three are found.

    The lower-cased text is read as "<name> ... is/:/=/as ... <number>" pairs ("proso"
    stands for prosodic, so "prosody: 7" counts); a later pair of the same name wins. If
    that does not give all three, "<number> for <name>" pairs are tried instead.
    """
    lowered = text.lower()
    try:
        scores = {_score_name(name): int(value) for name, value in _NAME_THEN_SCORE.findall(lowered)}
        if len(scores) == 3:
            return scores
        scores = {_score_name(name): int(value) for value, name in _SCORE_FOR_NAME.findall(lowered)}
    except ValueError:  # a number longer than int() takes
        return None
    return scores if len(scores) == 3 else None


def _score_name(name: str) -> str:
    return "prosodic" if name == "proso" else name


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
