"""The text split: a stable hash of the normalised text puts 1 in 20 texts in the test split."""

from __future__ import annotations

import hashlib
import re

TEST_SHARE = 20  # 1 / 20 of distinct texts are test-only
_NON_WORD = re.compile(r"[^a-z0-9' ]+")


def normalise_key(text: str) -> str:
    """Lower-case, punctuation removed, spaces collapsed: texts equal up to these are one text."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def text_split(text: str) -> str:
    digest = hashlib.sha1(("llaso-mini/" + normalise_key(text)).encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:4], "big") % TEST_SHARE == 0 else "train"
