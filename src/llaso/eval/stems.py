"""Which task, modality layout and metrics each LLaSO-Eval test file stands for.

The official benchmark names its 44 test files by data source, not by task, so the task
is looked up from the file stem. Files written by llaso's own data tools are named
`<TASK>_<layout>_<split>` (for example `ASR_ta_test`), and a record's own `task` field,
when present, overrides both. Task codes, names and categories come from the one task
registry, `llaso.data.tasks`, so a task registered there is scored here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LAYOUTS = ("t,a", "a,t", "a")
LAYOUT_NAMES = {
    "t,a": "text instruction + audio input",
    "a,t": "audio instruction + text input",
    "a": "pure audio",
}
CATEGORIES = ("linguistic", "semantic", "paralinguistic")


@dataclass(frozen=True)
class TaskInfo:
    """A task as evaluation sees it: the metrics its files report, headline first."""

    code: str
    name: str
    category: str
    metrics: tuple[str, ...]


_CLOSED = ("accuracy", "abstention_rate")
_JUDGE = ("judge_score", "judged")
_NUMERIC = ("mae", "parsed")
_PRONUNCIATION = ("pronunciation_accuracy", "pronunciation_prosodic", "pronunciation_fluency", "pronunciation_parsed")
# The task registry's metric kind -> the metrics a file of that kind reports.
_METRICS_OF_KIND = {
    "wer": ("wer", "cer", "wer_normalized", "cer_normalized"),
    "per": ("per",),
    "accuracy": _CLOSED,
    "mae": _NUMERIC,
    "judge": _JUDGE,
}


def task_info(code: str) -> TaskInfo:
    """Evaluation facts for a registered task (llaso.data.tasks is the one task registry).

    Judged tasks with a closed label set (speech commands, intents) also report accuracy,
    AQA reports exact match, and sentence-level pronunciation scoring the score agreement.
    """
    from llaso.data.tasks import get_task

    task = get_task(code)
    metrics = _METRICS_OF_KIND[task.metric]
    if task.metric == "judge" and code in ("SCR", "IP"):
        metrics = metrics + ("accuracy",)
    if code == "AQA":  # short-answer QA (llaso-mini) is checkable without a judge
        metrics = metrics + ("exact_match",)
    if code == "PSSL":  # the official pronunciation script reads sentence-level scores
        metrics = metrics + _PRONUNCIATION
    return TaskInfo(task.code, task.name, task.category, metrics)


def task_labels(code: str) -> tuple[str, ...]:
    """The closed label set the task registry declares (empty where labels vary by corpus)."""
    from llaso.data.tasks import get_task

    return tuple(get_task(code).labels or ())


def known_task(code: str) -> bool:
    from llaso.data.tasks import default_registry

    return code in default_registry()


def task_order() -> list[str]:
    """Task codes in the registry's listing order."""
    from llaso.data.tasks import all_tasks

    return [t.code for t in all_tasks()]


@dataclass(frozen=True)
class FileSpec:
    """How one test file is scored."""

    stem: str
    task: str
    layout: str
    metrics: tuple[str, ...]

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def category(self) -> str:
        return task_info(self.task).category


# Official stems whose metrics differ from their task's default.
_METRIC_OVERRIDES = {"vocalsound_age_prediction_test": _NUMERIC}

_OFFICIAL: dict[str, tuple[str, str]] = {
    "ASR_test": ("ASR", "t,a"),
    "phoneme_recognition_test": ("PR", "t,a"),
    "vctk_gender_classification_test": ("SGC", "t,a"),
    "common-voice_gender_classification_test": ("SGC", "t,a"),
    "voxceleb_gender_classification_test": ("SGC", "t,a"),
    "vocalsound_gender_classification_test": ("SGC", "t,a"),
    "vctk_accent_classification_test": ("AC", "t,a"),
    "common-voice_accent_classification_test": ("AC", "t,a"),
    "accentdb_AI_classification_test": ("AC", "t,a"),
    "vctk_age_classification_test": ("AR", "t,a"),
    "common-voice_age_classification_test": ("AR", "t,a"),
    "vocalsound_age_prediction_test": ("AR", "t,a"),
    "CREMAD_EIE_classification_test": ("EIE", "t,a"),
    "meld_EIE_classification_test": ("EIE", "t,a"),
    "CREMAD_ER_classification_test": ("ER", "t,a"),
    "meld_ER_classification_test": ("ER", "t,a"),
    "Synthetic_Audio_Classification_test": ("SSD", "t,a"),
    "meld_SV_classification_test": ("SV", "t,a"),
    "vocalsound_vocal_classification_test": ("VSC", "t,a"),
    "NSynth_instrument_classification_test": ("IC", "t,a"),
    "NSynth_music_source_classification_test": ("ISC", "t,a"),
    "velocity_classification_test": ("VC", "t,a"),
    "NSynth_pitch_recognition_test": ("PP", "t,a"),
    "speechcommand_recognition_test": ("SCR", "t,a"),
    "slurp_Intent_Prediction_test": ("IP", "t,a"),
    "slurp_Entity_Extraction_test": ("EE", "t,a"),
    "pronunciation_scoring_word_level_test": ("PSWL", "t,a"),
    "pronunciation_scoring_sentence_level_test": ("PSSL", "t,a"),
}
_AQA_SOURCES = {
    "a": ("1M_GPT4", "3.5M_GPT3.5", "alpaca_gpt4", "code_alpaca"),
    "t,a": ("alpacaDan", "dolly", "orca", "tigerbot_alpaca", "tigerbot_multichat", "unnatural"),
    "a,t": ("alpacaDan", "dolly", "orca", "tigerbot_alpaca", "tigerbot_multichat", "unnatural"),
}
_AQA_SUFFIX = {"a": "_end_test", "t,a": "_input_1_test", "a,t": "_instruction_0_test"}
for _layout, _sources in _AQA_SOURCES.items():
    for _source in _sources:
        _OFFICIAL[_source + _AQA_SUFFIX[_layout]] = ("AQA", _layout)

OFFICIAL_STEMS: tuple[str, ...] = tuple(sorted(_OFFICIAL))

_LAYOUT_TOKENS = {"ta": "t,a", "t_a": "t,a", "at": "a,t", "a_t": "a,t", "a": "a", "aa": "a"}
_CODE_STEM = re.compile(
    r"^(?P<code>[A-Z]+)(?:_(?P<layout>ta|t_a|at|a_t|aa|a))?(?:[_-](?P<rest>[A-Za-z0-9_.-]+))?$"
)
# Open-ended AQA sources beyond the official ones, recognised by the official suffixes.
_AQA_PATTERN = re.compile(r"_(end|input_1|instruction_0)(_test)?$")
_AQA_LAYOUT = {"end": "a", "input_1": "t,a", "instruction_0": "a,t"}


def normalize_layout(value: str) -> str:
    """Accept "t,a", "(t,a)", "ta", "t_a", "a,t", "at", "a", "aa" and return the canonical form."""
    token = value.strip().strip("()").replace(" ", "").lower()
    if token in LAYOUTS:
        return token
    if token in _LAYOUT_TOKENS:
        return _LAYOUT_TOKENS[token]
    raise ValueError(f"unknown modality layout {value!r}; expected one of {', '.join(LAYOUTS)}")


def spec_for(stem: str, task: str | None = None, layout: str | None = None) -> FileSpec | None:
    """The scoring spec of a file, from its stem; `task`/`layout` (from the records) win.

    Returns None when neither the stem nor the hints name a known task.
    """
    if task is not None and not known_task(task):
        raise ValueError(f"unknown task code {task!r}; known: {', '.join(task_order())}")
    found_task, found_layout = _from_stem(stem)
    task = task or found_task
    if task is None:
        return None
    if task != found_task:
        found_layout = None  # the stem described another task; its layout says nothing
    layout = normalize_layout(layout) if layout else (found_layout or "t,a")
    metrics = _METRIC_OVERRIDES.get(stem) or _metrics_from_stem(stem, task)
    return FileSpec(stem=stem, task=task, layout=layout, metrics=metrics)


def _metrics_from_stem(stem: str, task: str) -> tuple[str, ...]:
    # Age as a number ("..._age_prediction") is scored by MAE, age groups by accuracy.
    if task == "AR" and "prediction" in stem.lower():
        return _NUMERIC
    return task_info(task).metrics


def _from_stem(stem: str) -> tuple[str | None, str | None]:
    if stem in _OFFICIAL:
        return _OFFICIAL[stem]
    match = _CODE_STEM.match(stem)
    if match and known_task(match.group("code")):
        layout = match.group("layout")
        return match.group("code"), _LAYOUT_TOKENS[layout] if layout else None
    aqa = _AQA_PATTERN.search(stem)
    if aqa:
        return "AQA", _AQA_LAYOUT[aqa.group(1)]
    return None, None
