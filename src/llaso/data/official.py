"""Task and layout of a file from its name: LLaSO's released stems and llaso-mini's.

LLaSO-Eval records carry no task field; the file name says which task and layout they are
(see ../shared/notes/llaso-eval.md). llaso-mini names files `<TASK>_<ta|at|a>_<split>`.
"""

from __future__ import annotations

import re

_TAG_LAYOUT = {"ta": "t,a", "at": "a,t", "a": "a"}
_MINI = re.compile(r"^(?P<task>[A-Z][A-Z0-9_]*?)_(?P<tag>ta|at|a)_(?P<split>train|test|dev|val)$")

# (regular expression on the stem without a trailing _test/_train, task); first match wins.
_OFFICIAL: tuple[tuple[str, str], ...] = (
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
    (r"(_end|_input_1|_instruction_0)$", "AQA"),
)


def task_layout_from_stem(stem: str) -> tuple[str | None, str | None]:
    """('ASR', 't,a') for 'ASR_test' or 'ASR_ta_test'; (None, None) when unknown."""
    mini = _MINI.match(stem)
    if mini:
        return mini.group("task"), _TAG_LAYOUT[mini.group("tag")]
    base = re.sub(r"_(test|train|dev|val)$", "", stem)
    for pattern, task in _OFFICIAL:
        if re.search(pattern, base):
            if base.endswith("_end"):
                return task, "a"
            if base.endswith("_instruction_0"):
                return task, "a,t"
            return task, "t,a"
    return None, None


def sample_task_layout(sample: dict, stem: str) -> tuple[str | None, str | None]:
    """A sample's own `task`/`layout` fields, else what its file name says."""
    task, layout = task_layout_from_stem(stem)
    return sample.get("task") or task, sample.get("layout") or layout
