"""Token ids -> the text pieces a client sees, cut at stop strings, never taken back.

A piece is held back while it could still change: a half-decoded character, the start of a
stop string, or trailing whitespace (the final answer is stripped, as `Engine.generate`
strips it), so the streamed pieces always add up to the non-streamed answer.
"""

from __future__ import annotations


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """`text` up to the first stop string, and whether one was found."""
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters of `text` may still change or turn out to be a stop."""
    hold = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:size]):
                hold = max(hold, size)
                break
    tail = len(text) - len(text.rstrip())
    replacement = len(text) - len(text.rstrip("\ufffd"))
    return max(hold, tail, replacement)


class TextStream:
    """Feed the whole decoded text so far; get the new safe piece and whether a stop was hit."""

    def __init__(self, stops: tuple[str, ...] = ()) -> None:
        self.stops = stops
        self.emitted = ""
        self.text = ""

    def update(self, decoded: str) -> tuple[str, bool]:
        visible, hit = cut_at_stop(decoded, self.stops)
        self.text = visible.strip() if hit else visible.lstrip()
        safe = self.text if hit else self.text[: len(self.text) - held_back(self.text, self.stops)]
        return self._advance(safe), hit

    def finish(self) -> str:
        """The rest of the answer once decoding ended (the text is final: nothing is held)."""
        return self._advance(self.text.strip())

    @property
    def answer(self) -> str:
        return self.text.strip()

    def _advance(self, safe: str) -> str:
        if len(safe) <= len(self.emitted) or not safe.startswith(self.emitted):
            return ""  # a decoder that rewrote earlier text: wait until it agrees again
        piece, self.emitted = safe[len(self.emitted):], safe
        return piece
