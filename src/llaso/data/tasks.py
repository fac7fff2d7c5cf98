"""The task registry: LLaSO's 20 tasks (plus ours), their layouts, metrics, labels and prompts.

Evaluation, training and the corpus builder all look tasks up here, so a new task is one
`register_task(Task(...))` call (or a JSON file passed to `load_task_file`), not an edit of the
core. Instruction paraphrases live in `templates.json` next to this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from llaso.data.layout import LAYOUTS
from llaso.errors import LlasoError

CATEGORIES = ("linguistic", "semantic", "paralinguistic")
METRICS = ("wer", "per", "accuracy", "mae", "judge")


class UnknownTaskError(LlasoError, KeyError):
    """A task code that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Task:
    """One task: what it asks, how it is scored, and how to phrase the instruction.

    `labels` is the closed label set where there is one (None for open answers); `templates`
    are instruction paraphrases where `{labels}` stands for the label list.
    """

    code: str
    name: str
    category: str
    layouts: tuple[str, ...]
    metric: str
    labels: tuple[str, ...] | None = None
    templates: tuple[str, ...] = ()
    description: str = ""
    official: bool = True
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.code or not self.code.replace("_", "").isalnum():
            raise LlasoError(f"task code {self.code!r}: use letters, digits and '_'")
        if self.category not in CATEGORIES:
            raise LlasoError(f"task {self.code}: category {self.category!r} not in {CATEGORIES}")
        bad = [layout for layout in self.layouts if layout not in LAYOUTS]
        if bad or not self.layouts:
            raise LlasoError(f"task {self.code}: layouts {list(self.layouts)} (allowed {LAYOUTS})")
        if self.metric not in METRICS:
            raise LlasoError(f"task {self.code}: metric {self.metric!r} not in {METRICS}")

    def instruction(self, index: int, labels: tuple[str, ...] | None = None) -> str:
        """The `index`-th paraphrase (modulo the count), with the label list filled in."""
        if not self.templates:
            raise LlasoError(f"task {self.code} has no instruction templates")
        template = self.templates[index % len(self.templates)]
        return template.replace("{labels}", format_label_list(labels or self.labels or ()))


def format_label_list(labels: tuple[str, ...] | list[str]) -> str:
    """'a, b or c' (two labels: 'a or b')."""
    labels = list(labels)
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


class TaskRegistry:
    """Tasks by code; the order of registration is the listing order."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def register(self, task: Task, *, replace: bool = False) -> Task:
        if task.code in self._tasks and not replace:
            raise LlasoError(f"task {task.code} is already registered (pass replace=True)")
        self._tasks[task.code] = task
        return task

    def get(self, code: str) -> Task:
        try:
            return self._tasks[code]
        except KeyError:
            known = ", ".join(self._tasks)
            raise UnknownTaskError(f"unknown task {code!r}; known: {known}") from None

    def all(self) -> list[Task]:
        return list(self._tasks.values())

    def __contains__(self, code: object) -> bool:
        return code in self._tasks


def load_templates() -> dict[str, list[str]]:
    """Instruction paraphrases shipped with the package, by task code ('_listen': generic)."""
    text = resources.files("llaso.data").joinpath("templates.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {code: list(items) for code, items in data.items() if not code.startswith("_about")}


SPEECH_COMMANDS = (
    "Yes", "No", "Up", "Down", "Left", "Right", "On", "Off", "Stop", "Go",
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine",
    "Bed", "Bird", "Cat", "Dog", "Happy", "House", "Marvin", "Sheila", "Tree", "Wow",
    "Backward", "Forward", "Follow", "Learn", "Visual",
)
INSTRUMENT_FAMILIES = (
    "Bass", "Brass", "Flute", "Guitar", "Keyboard", "Mallet", "Organ", "Reed", "String",
    "Synth lead", "Vocal",
)

# code, name, category, layouts, metric, labels, description
_BUILTIN: tuple[tuple, ...] = (
    ("ASR", "speech recognition", "linguistic", ("t,a",), "wer", None,
     "Transcribe the speech; scored by WER (and CER)."),
    ("PR", "phoneme recognition", "linguistic", ("t,a",), "per", None,
     "Transcribe the speech in IPA; scored by phoneme error rate over IPA symbols."),
    ("AQA", "audio question answering", "semantic", ("t,a", "a,t", "a"), "judge", None,
     "Answer or follow a spoken or written instruction; judged 1-5 (exact match on llaso-mini)."),
    ("SGC", "speaker gender classification", "paralinguistic", ("t,a",), "accuracy",
     ("Male", "Female"), "Gender of the voice."),
    ("AC", "accent classification", "paralinguistic", ("t,a",), "accuracy", None,
     "Accent of the speaker; label sets differ by corpus (llaso-mini: American, British, "
     "Scottish, Caribbean)."),
    ("AR", "age recognition", "paralinguistic", ("t,a",), "accuracy", None,
     "Age group (accuracy) or age in years (MAE)."),
    ("EIE", "emotion intensity estimation", "paralinguistic", ("t,a",), "accuracy", None,
     "Intensity of the expressed emotion."),
    ("ER", "emotion recognition", "paralinguistic", ("t,a",), "accuracy", None,
     "Emotion category of the speech."),
    ("SSD", "synthetic speech detection", "paralinguistic", ("t,a",), "accuracy",
     ("Real", "Fake"), "Real or synthesised speech."),
    ("SV", "speaker verification", "paralinguistic", ("t,a",), "accuracy", None,
     "Speaker identity: LLaSO asks for a name among six; llaso-mini asks whether two clips "
     "share a speaker (Same/Different)."),
    ("VSC", "vocal sound classification", "paralinguistic", ("t,a",), "accuracy",
     ("Laughter", "Sigh", "Cough", "Throat clearing", "Sneeze", "Sniff"),
     "Non-speech vocalisation type."),
    ("IC", "instrument classification", "paralinguistic", ("t,a",), "accuracy",
     INSTRUMENT_FAMILIES, "Instrument family of a note (NSynth families)."),
    ("ISC", "instrument source classification", "paralinguistic", ("t,a",), "accuracy",
     ("Acoustic", "Electronic", "Synthetic"), "How a note was produced (NSynth sources)."),
    ("VC", "velocity classification", "paralinguistic", ("t,a",), "accuracy",
     ("127", "100", "75", "50", "25"), "MIDI velocity of a note."),
    ("PP", "pitch prediction", "paralinguistic", ("t,a",), "mae", None,
     "Pitch of a note as a MIDI number; scored by mean absolute error."),
    ("SCR", "speech command recognition", "semantic", ("t,a",), "judge", SPEECH_COMMANDS,
     "Which of the 35 Speech Commands words is spoken."),
    ("IP", "intent prediction", "semantic", ("t,a",), "judge", None,
     "SLURP-style scenario and action, e.g. 'Calendar set'."),
    ("EE", "entity extraction", "semantic", ("t,a",), "judge", None,
     "The utterance with SLURP-style [slot : value] tags."),
    ("PSWL", "pronunciation scoring, word level", "paralinguistic", ("t,a",), "judge", None,
     "Transcript plus per-word accuracy/stress/total scores."),
    ("PSSL", "pronunciation scoring, sentence level", "paralinguistic", ("t,a",), "judge", None,
     "Transcript plus sentence accuracy/prosody/fluency/total scores."),
)

# Tasks that llaso-mini adds because synthesis labels them exactly (not in LLaSO).
_EXTRA: tuple[tuple, ...] = (
    ("SRC", "speech rate classification", "paralinguistic", ("t,a",), "accuracy",
     ("Slow", "Normal", "Fast"), "Speaking rate of the utterance (llaso-mini only)."),
    ("SSC", "speaking style classification", "paralinguistic", ("t,a",), "accuracy",
     ("Normal", "Whispered"), "Phonation style: voiced or whispered (llaso-mini only)."),
)


def _build_default() -> TaskRegistry:
    templates = load_templates()
    registry = TaskRegistry()
    for official, rows in ((True, _BUILTIN), (False, _EXTRA)):
        for code, name, category, layouts, metric, labels, description in rows:
            registry.register(
                Task(code, name, category, layouts, metric, labels,
                     tuple(templates.get(code, ())), description, official)
            )
    return registry


@lru_cache(maxsize=1)
def default_registry() -> TaskRegistry:
    """The registry every part of llaso uses; built on first use, extended by register_task."""
    return _build_default()


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Add a task to the default registry (plug-in point for new tasks)."""
    return default_registry().register(task, replace=replace)


def get_task(code: str) -> Task:
    return default_registry().get(code)


def all_tasks() -> list[Task]:
    return default_registry().all()


def load_task_file(path: str | Path) -> list[Task]:
    """Register tasks from a JSON list of objects with Task's fields (layouts/labels as lists)."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LlasoError(f"{path}: cannot read task file ({exc})") from None
    if not isinstance(rows, list):
        raise LlasoError(f"{path}: expected a JSON list of task objects")
    tasks = []
    for i, row in enumerate(rows):
        try:
            row = dict(row)
            row["layouts"] = tuple(row.get("layouts", ("t,a",)))
            if row.get("labels") is not None:
                row["labels"] = tuple(row["labels"])
            row["templates"] = tuple(row.get("templates", ()))
            tasks.append(register_task(Task(**row)))
        except TypeError as exc:
            raise LlasoError(f"{path}: task #{i}: {exc}") from None
    return tasks
