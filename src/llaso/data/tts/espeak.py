"""espeak-ng (Debian): many English accents and voice variants, and exact IPA of what it says."""

from __future__ import annotations

from llaso.data.tts.base import Synthesis, Voice, decode_wav, program_available, run_engine

DEFAULT_WPM = 175
_STRESS_MARKS = "ˈˌ"
_PUNCTUATION = ",.!?;:\"()"


class EspeakBackend:
    name = "espeak-ng"

    def available(self) -> bool:
        return program_available("espeak-ng")

    def synthesize(self, text: str, voice: Voice, rate: float = 1.0) -> Synthesis:
        wpm = max(80, min(450, round(DEFAULT_WPM * rate * voice.params.get("rate", 1.0))))
        argv = ["espeak-ng", "-v", voice.name, "-s", str(wpm), "--stdout"]
        if "pitch" in voice.params:
            argv += ["-p", str(voice.params["pitch"])]
        data = run_engine(argv, stdin=text, what=f"espeak-ng voice {voice.name}")
        return decode_wav(data, f"espeak-ng voice {voice.name}")


def espeak_ipa(text: str, language: str = "en-us") -> str:
    """IPA of `text` as espeak-ng speaks it in `language`, stress marks removed, one line.

    This is the phoneme-recognition label: LLaSO's PR references are unstressed espeak-style
    IPA with words separated by spaces.
    """
    data = run_engine(["espeak-ng", "-q", "--ipa", "-v", language], stdin=text,
                      what=f"espeak-ng IPA ({language})")
    ipa = data.decode("utf-8").replace("\n", " ")
    return strip_stress(ipa)


def strip_stress(ipa: str) -> str:
    """Remove stress marks and the punctuation Piper's phonemiser keeps; collapse spaces."""
    for mark in _STRESS_MARKS + _PUNCTUATION:
        ipa = ipa.replace(mark, " " if mark in _PUNCTUATION else "")
    return " ".join(ipa.split())
