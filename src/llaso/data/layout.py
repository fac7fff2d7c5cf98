"""The three LLaSO input layouts, with one spelling each.

LLaSO-Instruct asks every task in up to three ways: a text instruction about an audio input
("t,a", written `instruction<audio>`), a spoken instruction with a text input ("a,t",
`<audio>input`), or everything spoken ("a", a generic listening prompt then `<audio>`).
File names carry the short tag (`ASR_ta_test.json`); everything else uses the value.
"""

from __future__ import annotations

from enum import Enum

LISTEN_PROMPT = "Listen to the audio and respond accordingly."
"""The text LLaSO puts before the audio in the pure-audio layout."""


class Layout(str, Enum):
    TEXT_AUDIO = "t,a"
    AUDIO_TEXT = "a,t"
    AUDIO = "a"

    @property
    def tag(self) -> str:
        """The form in file names: ta, at, a."""
        return self.value.replace(",", "")

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @classmethod
    def parse(cls, value: str | Layout) -> Layout:
        """Accept "t,a", "(t,a)", "ta", "t_a", "text-audio" spellings (any case) of each layout."""
        if isinstance(value, Layout):
            return value
        token = str(value).strip().strip("()").replace(" ", "").lower()
        token = _ALIASES.get(token, token)
        for layout in cls:
            if token == layout.value:
                return layout
        raise ValueError(f"unknown layout {value!r}; expected one of {', '.join(LAYOUTS)} (or ta, at, a)")

    def __str__(self) -> str:
        return self.value


_DESCRIPTIONS = {
    Layout.TEXT_AUDIO: "text instruction + audio input",
    Layout.AUDIO_TEXT: "audio instruction + text input",
    Layout.AUDIO: "pure audio",
}
_ALIASES = {"ta": "t,a", "t_a": "t,a", "text-audio": "t,a", "at": "a,t", "a_t": "a,t", "audio-text": "a,t",
            "aa": "a", "audio": "a"}
LAYOUTS: tuple[str, ...] = tuple(layout.value for layout in Layout)
