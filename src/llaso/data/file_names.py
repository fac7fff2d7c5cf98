"""Task and layout of a LLaSO-format file from its name, the one parser of file names.

LLaSO-Eval records carry no task field: the file name says which task and layout they are
(`vctk_gender_classification_test`, `dolly_instruction_0_test`; see
../shared/notes/llaso-eval.md). Files written by llaso's tools are `<TASK>_<ta|at|a>_<split>`
(`ASR_ta_test`). A record's own `task`/`layout` fields, when present, win over the name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from llaso.data.layout import Layout

# The 44 official LLaSO-Eval test files, exactly.
_OFFICIAL_STEMS: dict[str, tuple[str, Layout]] = {
    "ASR_test": ("ASR", Layout.TEXT_AUDIO),
    "phoneme_recognition_test": ("PR", Layout.TEXT_AUDIO),
    "vctk_gender_classification_test": ("SGC", Layout.TEXT_AUDIO),
    "common-voice_gender_classification_test": ("SGC", Layout.TEXT_AUDIO),
    "voxceleb_gender_classification_test": ("SGC", Layout.TEXT_AUDIO),
    "vocalsound_gender_classification_test": ("SGC", Layout.TEXT_AUDIO),
    "vctk_accent_classification_test": ("AC", Layout.TEXT_AUDIO),
    "common-voice_accent_classification_test": ("AC", Layout.TEXT_AUDIO),
    "accentdb_AI_classification_test": ("AC", Layout.TEXT_AUDIO),
    "vctk_age_classification_test": ("AR", Layout.TEXT_AUDIO),
    "common-voice_age_classification_test": ("AR", Layout.TEXT_AUDIO),
    "vocalsound_age_prediction_test": ("AR", Layout.TEXT_AUDIO),
    "CREMAD_EIE_classification_test": ("EIE", Layout.TEXT_AUDIO),
    "meld_EIE_classification_test": ("EIE", Layout.TEXT_AUDIO),
    "CREMAD_ER_classification_test": ("ER", Layout.TEXT_AUDIO),
    "meld_ER_classification_test": ("ER", Layout.TEXT_AUDIO),
    "Synthetic_Audio_Classification_test": ("SSD", Layout.TEXT_AUDIO),
    "meld_SV_classification_test": ("SV", Layout.TEXT_AUDIO),
    "vocalsound_vocal_classification_test": ("VSC", Layout.TEXT_AUDIO),
    "NSynth_instrument_classification_test": ("IC", Layout.TEXT_AUDIO),
    "NSynth_music_source_classification_test": ("ISC", Layout.TEXT_AUDIO),
    "velocity_classification_test": ("VC", Layout.TEXT_AUDIO),
    "NSynth_pitch_recognition_test": ("PP", Layout.TEXT_AUDIO),
    "speechcommand_recognition_test": ("SCR", Layout.TEXT_AUDIO),
    "slurp_Intent_Prediction_test": ("IP", Layout.TEXT_AUDIO),
    "slurp_Entity_Extraction_test": ("EE", Layout.TEXT_AUDIO),
    "pronunciation_scoring_word_level_test": ("PSWL", Layout.TEXT_AUDIO),
    "pronunciation_scoring_sentence_level_test": ("PSSL", Layout.TEXT_AUDIO),
}
# Open-ended QA (AQA): the suffix says the layout; these sources make up the official files.
_AQA_SUFFIX_LAYOUT = {"end": Layout.AUDIO, "input_1": Layout.TEXT_AUDIO, "instruction_0": Layout.AUDIO_TEXT}
_AQA_SOURCES = {
    Layout.AUDIO: ("1M_GPT4", "3.5M_GPT3.5", "alpaca_gpt4", "code_alpaca"),
    Layout.TEXT_AUDIO: ("alpacaDan", "dolly", "orca", "tigerbot_alpaca", "tigerbot_multichat", "unnatural"),
    Layout.AUDIO_TEXT: ("alpacaDan", "dolly", "orca", "tigerbot_alpaca", "tigerbot_multichat", "unnatural"),
}
for _suffix, _layout in _AQA_SUFFIX_LAYOUT.items():
    for _source in _AQA_SOURCES[_layout]:
        _OFFICIAL_STEMS[f"{_source}_{_suffix}_test"] = ("AQA", _layout)
OFFICIAL_STEMS: tuple[str, ...] = tuple(sorted(_OFFICIAL_STEMS))

_SPLIT = r"(train|test|dev|val)"
# llaso's own files: ASR_ta_test, ASR_t_a, ASR (a code, an optional layout tag, anything after).
_CODE_NAME = re.compile(
    r"^(?P<code>[A-Z][A-Z0-9]*?)(?:_(?P<layout>ta|t_a|at|a_t|aa|a|t))?(?:[_-](?P<rest>[A-Za-z0-9_.-]+))?$"
)
# Other splits and sources of the official corpora (LLaSO-Instruct train files, for example):
# (pattern on the name without its split, task); first match wins.
_SOURCE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), t) for p, t in (
    (r"^ASR$", "ASR"),
    (r"^phoneme_recognition$", "PR"),
    (r"_gender_classification$", "SGC"),
    (r"(_accent_classification|^accentdb_AI_classification)$", "AC"),
    (r"(_age_classification|_age_prediction)$", "AR"),
    (r"_EIE_classification$", "EIE"),
    (r"_ER_classification$", "ER"),
    (r"^Synthetic_Audio_Classification$", "SSD"),
    (r"_SV_classification$", "SV"),
    (r"_vocal_classification$", "VSC"),
    (r"^NSynth_instrument_classification$", "IC"),
    (r"^NSynth_music_source_classification$", "ISC"),
    (r"^velocity_classification$", "VC"),
    (r"^NSynth_pitch_recognition$", "PP"),
    (r"^speechcommand_recognition$", "SCR"),
    (r"^slurp_Intent_Prediction$", "IP"),
    (r"^slurp_Entity_Extraction$", "EE"),
    (r"^pronunciation_scoring_word_level$", "PSWL"),
    (r"^pronunciation_scoring_sentence_level$", "PSSL"),
))
_AQA_NAME = re.compile(r"_(end|input_1|instruction_0)$")


def file_stem(name: str | os.PathLike) -> str:
    """`ASR_ta_test` for `dir/ASR_ta_test.json`, `.jsonl` or `.json.gz`-like names."""
    return Path(name).name.split(".json")[0]


def task_layout_from_name(name: str | os.PathLike,
                          is_task: Any = None) -> tuple[str | None, Layout | None]:
    """(task, layout) a file's name stands for; (None, None) when it names no task.

    `is_task(code) -> bool` says which codes are registered (default: the task registry), so a
    file of a newly registered task is recognised by its name too. The layout is None when the
    name does not say it (`ASR_test.json` from elsewhere): callers default to t,a.
    """
    stem = file_stem(name)
    if stem in _OFFICIAL_STEMS:
        return _OFFICIAL_STEMS[stem]
    if is_task is None:
        from llaso.data.tasks import default_registry

        registry = default_registry()
        is_task = registry.__contains__
    match = _CODE_NAME.match(stem)
    if match and is_task(match.group("code")):
        tag = match.group("layout")
        if tag == "t":  # a text-only file (TXT_t_train): no audio layout to speak of
            return match.group("code"), None
        return match.group("code"), Layout.parse(tag) if tag else None
    base = re.sub(rf"_{_SPLIT}$", "", stem)
    aqa = _AQA_NAME.search(base)
    if aqa:
        return "AQA", _AQA_SUFFIX_LAYOUT[aqa.group(1)]
    for pattern, task in _SOURCE_PATTERNS:
        if pattern.search(base):
            return task, Layout.TEXT_AUDIO
    return None, None


def sample_task_layout(sample: dict[str, Any], name: str | os.PathLike) -> tuple[str | None, Layout | None]:
    """A sample's own `task`/`layout` fields, else what its file's name says."""
    task, layout = task_layout_from_name(name)
    own_layout = sample.get("layout")
    if own_layout:
        try:
            layout = Layout.parse(own_layout)
        except ValueError:
            pass
    return sample.get("task") or task, layout
