"""The voices llaso-mini speaks with, their exact labels, and which are held out for testing.

Held out (test split only): espeak-ng variants m4, f4 and steph in every accent, every
variant of the West Midlands accent (en-gb-x-gbcwmd), flite's rms, the 'kal' speaker (flite
and festival), and Piper's joe shifted up three semitones ('joe-bright'). Every other voice is
for training. Whispered espeak variants are kept for the speaking-style task.
"""

from __future__ import annotations

from functools import lru_cache

from llaso.data.tts.base import Voice

# espeak-ng language -> accent label. ('en' is espeak's British English: 'en-gb' ignores variants.)
ESPEAK_ACCENTS = {
    "en-us": "American",
    "en-us-nyc": "American",
    "en": "British",
    "en-gb-x-rp": "British",
    "en-gb-x-gbclan": "British",
    "en-gb-x-gbcwmd": "British",
    "en-gb-scotland": "Scottish",
    "en-029": "Caribbean",
}
ESPEAK_VARIANTS = {
    "m1": "Male", "m2": "Male", "m3": "Male", "m4": "Male", "m5": "Male", "m6": "Male",
    "m7": "Male", "max": "Male", "edward": "Male", "Andy": "Male",
    "f1": "Female", "f2": "Female", "f3": "Female", "f4": "Female", "f5": "Female",
    "linda": "Female", "steph": "Female", "belinda": "Female", "Annie": "Female",
}
ESPEAK_WHISPER = {"whisper": "Male", "whisperf": "Female"}
HELD_OUT_VARIANTS = {"m4", "f4", "steph"}
HELD_OUT_LANGUAGES = {"en-gb-x-gbcwmd"}


def _espeak_voices() -> list[Voice]:
    voices = []
    for language, accent in ESPEAK_ACCENTS.items():
        for variants, style in ((ESPEAK_VARIANTS, "Normal"), (ESPEAK_WHISPER, "Whispered")):
            for variant, gender in variants.items():
                held_out = language in HELD_OUT_LANGUAGES or variant in HELD_OUT_VARIANTS
                name = f"{language}+{variant}"
                voices.append(Voice(
                    id=f"espeak-ng:{name}", engine="espeak-ng", name=name, gender=gender,
                    accent=accent, speaker=f"espeak-ng:{name}",
                    split="test" if held_out else "train", style=style, ipa_language=language,
                ))
    return voices


def _other_voices() -> list[Voice]:
    return [
        Voice("flite:slt", "flite", "slt", "Female", "American", "slt"),
        Voice("flite:awb", "flite", "awb", "Male", "Scottish", "awb"),
        Voice("flite:rms", "flite", "rms", "Male", "American", "rms", split="test"),
        Voice("flite:kal", "flite", "kal", "Male", "American", "kal", split="test"),
        Voice("festival:cmu_us_slt_arctic_hts", "festival", "cmu_us_slt_arctic_hts", "Female",
              "American", "slt"),
        Voice("festival:kal_diphone", "festival", "kal_diphone", "Male", "American", "kal",
              split="test"),
        Voice("piper:joe", "piper", "joe", "Male", "American", "joe", ipa_language="piper"),
        Voice("piper:joe-deep", "piper", "joe", "Male", "American", "joe-deep",
              ipa_language="piper", params={"pitch_cents": -200, "noise_scale": 0.8}),
        Voice("piper:joe-bright", "piper", "joe", "Male", "American", "joe-bright", split="test",
              ipa_language="piper", params={"pitch_cents": 300, "noise_scale": 0.5}),
    ]


@lru_cache(maxsize=1)
def voice_catalogue() -> tuple[Voice, ...]:
    """Every voice llaso-mini may use (whether its engine is installed is checked on use)."""
    return tuple(_espeak_voices() + _other_voices())


def voices_for(split: str, *, style: str = "Normal", engines: tuple[str, ...] | None = None) -> list[Voice]:
    return [v for v in voice_catalogue()
            if v.split == split and v.style == style and (engines is None or v.engine in engines)]
