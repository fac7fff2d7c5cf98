"""Metric functions, each pure, and the registry that names them.

Every metric takes the model's predictions and the references of one file (same order,
same length) and returns a number, or None when nothing could be measured (an empty file,
no parseable number). The registry records whether higher is better, which reports and
the normalised score need. New metrics register with `register_metric`.

The plain names (`wer`, `cer`, `per`, `accuracy`, `abstention_rate`, `mae`) follow the
official LLaSO-Eval scripts exactly, their mistakes included, so that a model's numbers
can be set beside the published ones; the mistakes are fixed in variants registered
with `variant_of` (`wer_corrected`, `accuracy_strict`, ...), which score mode reports
next to them. docs/eval-semantics.md states every rule and the script it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

from llaso.eval.readers import PITCH_RANGE, first_number, read_age, read_pitch, read_pronunciation_scores
from llaso.eval.text_normalize import (
    ipa_symbols,
    normalize_label,
    normalize_transcript,
    official_abstention_label,
    official_chars,
    official_label,
    official_phoneme_letters,
    official_words,
)

# (predictions, references, **options) -> value; some metrics take options (`labels=`, `reader=`).
MetricFn = Callable[..., "float | int | None"]


@dataclass(frozen=True)
class Metric:
    """A named metric. `higher_is_better` is None for counts that are not scores;
    `variant_of` names the metric this one corrects (reported beside it)."""

    name: str
    compute: MetricFn
    higher_is_better: bool | None
    description: str
    variant_of: str | None = None


_REGISTRY: dict[str, Metric] = {}


def register_metric(
    name: str, *, higher_is_better: bool | None, description: str, variant_of: str | None = None
) -> Callable[[MetricFn], MetricFn]:
    """Decorator: add a metric function to the registry under `name`."""

    def add(fn: MetricFn) -> MetricFn:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        _REGISTRY[name] = Metric(name, fn, higher_is_better, description, variant_of)
        return fn

    return add


def get_metric(name: str) -> Metric:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown metric {name!r}; known: {known}") from None


def metric_names() -> list[str]:
    return list(_REGISTRY)


def variants_of(name: str) -> list[str]:
    """The registered variants of metric `name`, in registration order."""
    return [m.name for m in _REGISTRY.values() if m.variant_of == name]


def _check_lengths(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance between two token sequences (rapidfuzz).

    Tokens are numbered first, as jiwer does, so two distinct tokens can never share a hash.
    """
    from rapidfuzz.distance import Levenshtein

    ids: dict[Hashable, int] = {}
    return Levenshtein.distance(
        [ids.setdefault(t, len(ids)) for t in a], [ids.setdefault(t, len(ids)) for t in b]
    )


def corpus_error_rate(
    predictions: Sequence[str],
    references: Sequence[str],
    tokenize: Callable[[str], Sequence[Hashable]],
) -> float | None:
    """(S + D + I) / N over the whole corpus: summed edit distances over summed reference lengths.

    N is the length of what is passed as `references`; the official WER and CER pass the
    model's answers there (the roles swapped), the corrected ones the labels.
    """
    _check_lengths(predictions, references)
    errors = 0
    length = 0
    for prediction, reference in zip(predictions, references):
        ref_tokens = tokenize(reference)
        errors += edit_distance(tokenize(prediction), ref_tokens)
        length += len(ref_tokens)
    return errors / length if length else None


def _words(text: str) -> list[str]:
    return text.split()


def _chars(text: str) -> str:
    return " ".join(text.split())  # spaces count as characters, runs of them as one


@register_metric("wer", higher_is_better=False, description="word error rate as published (official script): case and punctuation kept, N = the answers' words (roles swapped)")
def official_word_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    """The official WER: the answer stands as jiwer's reference, the label as its hypothesis.

    Where the official script stops with an error (an empty answer), an empty answer adds
    its label's words as errors and nothing to N.
    """
    return corpus_error_rate(references, predictions, official_words)


@register_metric("wer_corrected", higher_is_better=False, variant_of="wer", description="word error rate, case and punctuation kept, N = the references' words")
def word_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, _words)


@register_metric("cer", higher_is_better=False, description="character error rate as published (official script): spaces count, N = the answers' characters (roles swapped)")
def official_character_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(references, predictions, official_chars)


@register_metric("cer_corrected", higher_is_better=False, variant_of="cer", description="character error rate (spaces included), case and punctuation kept, N = the references' characters")
def character_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, _chars)


@register_metric("wer_normalized", higher_is_better=False, description="word error rate after lower-casing and removing punctuation")
def word_error_rate_normalized(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, lambda t: normalize_transcript(t).split())


@register_metric("cer_normalized", higher_is_better=False, description="character error rate after lower-casing and removing punctuation")
def character_error_rate_normalized(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, normalize_transcript)


def _last_nonempty(sequences: Sequence[str]) -> int:
    """One past the last non-empty sequence (0 if all are empty)."""
    return max((i + 1 for i, s in enumerate(sequences) if s), default=0)


@register_metric("per", higher_is_better=False, description="phoneme error rate as published (official script): ASCII letters only (IPA symbols dropped), per-answer rates averaged, roles swapped")
def official_phoneme_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    """The official PER: each answer's distance to its label over the answer's length, averaged.

    Only ASCII letters count, some merged (`official_phoneme_letters`). An answer with no
    letters scores 0 if its label has none either, else 1. Trailing samples with no
    letters are dropped when answers and labels have the same number of them; otherwise the
    official script fails, and all samples count.
    """
    _check_lengths(predictions, references)
    answers = [official_phoneme_letters(p) for p in predictions]
    labels = [official_phoneme_letters(r) for r in references]
    kept = _last_nonempty(answers)
    if kept and kept == _last_nonempty(labels):
        answers, labels = answers[:kept], labels[:kept]
    if not answers:
        return None
    return fmean(
        edit_distance(label, answer) / len(answer) if answer else float(bool(label))
        for answer, label in zip(answers, labels)
    )


@register_metric("per_corrected", higher_is_better=False, variant_of="per", description="phoneme error rate over IPA symbols (diacritics and length marks attached), corpus level, N = the references' symbols")
def phoneme_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, ipa_symbols)


def official_is_correct(answer: str, reference: str, labels: set[str]) -> bool:
    """The official accuracy rule on raw texts: equal after `official_label`, or the
    reference label is a plain substring of the answer and no other label of the file is
    ("unhappy" names "happy"; "female" also names "male")."""
    answer, wanted = official_label(answer), official_label(reference)
    if answer == wanted:
        return True
    return wanted in answer and not any(other in answer for other in labels - {wanted})


@register_metric("accuracy", higher_is_better=True, description="closed-set accuracy as published (official script): labels = the file's references; a label counts wherever it appears as a substring")
def official_accuracy(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    _check_lengths(predictions, references)
    if not references:
        return None
    labels = {official_label(r) for r in references}
    return sum(official_is_correct(p, r, labels) for p, r in zip(predictions, references)) / len(references)


def label_set(references: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """The closed label set of a file: every distinct reference, normalised, plus `extra`
    (the task's declared labels, for files too small to show every label)."""
    return sorted({normalize_label(r) for r in [*references, *extra]} - {""})


def _label_pattern(label: str) -> re.Pattern[str]:
    # Not inside a longer word: "male" must not hit "female"; "20-24" and "30+" stay whole.
    return re.compile(r"(?<![\w])" + re.escape(label) + r"(?![\w])")


def labels_found(prediction: str, labels: Sequence[str]) -> set[str]:
    """The labels a prediction names, ignoring case and word-internal hits.

    A label found only inside a longer label that is also found ("irish" within
    "northern irish") does not count separately.
    """
    text = prediction.lower()
    spans = [
        (match.start(), match.end(), label)
        for label in labels
        for match in _label_pattern(label).finditer(text)
    ]
    return {
        label
        for start, end, label in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    }


def is_correct_label(prediction: str, reference: str, labels: Sequence[str]) -> bool:
    """Exact match after normalising, or the reference is the one label the prediction names."""
    wanted = normalize_label(reference)
    if normalize_label(prediction) == wanted:
        return True
    return labels_found(prediction, labels) == {wanted}


@register_metric("accuracy_strict", higher_is_better=True, variant_of="accuracy", description="closed-set accuracy with labels matched as whole words, a label inside a longer one not counted; labels = references plus the task's declared labels")
def closed_set_accuracy(
    predictions: Sequence[str], references: Sequence[str], labels: Sequence[str] | None = None
) -> float | None:
    """`labels`: the valid labels, normalised (default: the references' label set)."""
    _check_lengths(predictions, references)
    if not references:
        return None
    labels = labels if labels is not None else label_set(references)
    correct = sum(is_correct_label(p, r, labels) for p, r in zip(predictions, references))
    return correct / len(references)


def answer_key(text: str) -> str:
    """A short answer as compared for exact match: lower-cased, punctuation as spaces
    ("Paris." == "paris"; "light blue" == "light-blue")."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@register_metric("exact_match", higher_is_better=True, description="fraction of predictions equal to the reference after lower-casing and removing punctuation")
def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    _check_lengths(predictions, references)
    if not references:
        return None
    return sum(answer_key(p) == answer_key(r) for p, r in zip(predictions, references)) / len(references)


def official_label_hits(prediction: str, patterns: Sequence[re.Pattern[str]]) -> int:
    """How many labels the official abstention rule finds in an answer."""
    text = prediction.strip().lower()
    return sum(pattern.search(text) is not None for pattern in patterns)


def official_label_patterns(references: Iterable[str]) -> list[re.Pattern[str]]:
    """One pattern per label of the file: the label not touching an ASCII letter or digit
    on either side (other characters, "é" or "_" included, are boundaries)."""
    labels = sorted({official_abstention_label(r) for r in references})
    return [re.compile(rf"(?<![a-z0-9]){re.escape(label)}(?![a-z0-9])", re.IGNORECASE) for label in labels]


@register_metric("abstention_rate", higher_is_better=False, description="fraction of answers not naming exactly one label, as published (official script): labels nested in others count separately")
def official_abstention_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    _check_lengths(predictions, references)
    if not predictions:
        return None
    patterns = official_label_patterns(references)
    return sum(official_label_hits(p, patterns) != 1 for p in predictions) / len(predictions)


@register_metric("abstention_rate_strict", higher_is_better=False, variant_of="abstention_rate", description="fraction of predictions that do not name exactly one valid label, labels matched as whole words as in accuracy_strict")
def abstention_rate(
    predictions: Sequence[str], references: Sequence[str], labels: Sequence[str] | None = None
) -> float | None:
    _check_lengths(predictions, references)
    if not predictions:
        return None
    labels = labels if labels is not None else label_set(references)
    abstained = sum(len(labels_found(p, labels)) != 1 for p in predictions)
    return abstained / len(predictions)


NUMBER_READERS = {"age": read_age, "pitch": read_pitch}


def official_absolute_errors(
    predictions: Sequence[str], references: Sequence[str], reader: str = "age"
) -> list[int | None]:
    """|answer - reference| per sample by the official age or pitch script's reading, None
    where either has no value (pitch: or lies outside MIDI 0-127)."""
    _check_lengths(predictions, references)
    try:
        read = NUMBER_READERS[reader]
    except KeyError:
        raise ValueError(f"unknown number reader {reader!r}; known: {', '.join(NUMBER_READERS)}") from None
    low, high = PITCH_RANGE
    errors: list[int | None] = []
    for prediction, reference in zip(predictions, references):
        p, r = read(prediction), read(reference)
        if p is None or r is None or (reader == "pitch" and not (low <= p <= high and low <= r <= high)):
            errors.append(None)
        else:
            errors.append(abs(p - r))
    return errors


@register_metric("mae", higher_is_better=False, description="mean absolute error as published (official age/pitch scripts): whole numbers, a range '-' gives its midpoint rounded half to even")
def official_mean_absolute_error(
    predictions: Sequence[str], references: Sequence[str], reader: str = "age"
) -> float | None:
    """`reader`: "age" (AR, age in years) or "pitch" (PP, MIDI numbers 0-127)."""
    parsed = [e for e in official_absolute_errors(predictions, references, reader) if e is not None]
    return sum(parsed) / len(parsed) if parsed else None


@register_metric("parsed", higher_is_better=None, description="number of answers mae was computed over (both values read; pitch: within MIDI 0-127)")
def official_parsed_count(predictions: Sequence[str], references: Sequence[str], reader: str = "age") -> int:
    return sum(e is not None for e in official_absolute_errors(predictions, references, reader))


def absolute_errors(predictions: Sequence[str], references: Sequence[str]) -> list[float | None]:
    """|prediction - reference| per sample by `first_number`, None where either has no number."""
    _check_lengths(predictions, references)
    errors: list[float | None] = []
    for prediction, reference in zip(predictions, references):
        p, r = first_number(prediction), first_number(reference)
        errors.append(None if p is None or r is None else abs(p - r))
    return errors


@register_metric("mae_corrected", higher_is_better=False, variant_of="mae", description="mean absolute error over the predictions with a number: the first number, decimals kept, a range ('20-24', '20 to 24') its exact midpoint")
def mean_absolute_error(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    parsed = [e for e in absolute_errors(predictions, references) if e is not None]
    return sum(parsed) / len(parsed) if parsed else None


def parsed_count(predictions: Sequence[str], references: Sequence[str]) -> int:
    """Predictions `mean_absolute_error` could read a number from."""
    return sum(e is not None for e in absolute_errors(predictions, references))


PRONUNCIATION_ASPECTS = ("accuracy", "prosodic", "fluency")


def pronunciation_pairs(
    predictions: Sequence[str], references: Sequence[str]
) -> list[tuple[dict[str, int], dict[str, int]]]:
    """(answer scores, reference scores) where both give all three (the official script's
    matched entries)."""
    _check_lengths(predictions, references)
    pairs = [(read_pronunciation_scores(p), read_pronunciation_scores(r)) for p, r in zip(predictions, references)]
    return [(a, r) for a, r in pairs if a is not None and r is not None]


def _pronunciation_agreement(aspect: str) -> MetricFn:
    def agreement(predictions: Sequence[str], references: Sequence[str]) -> float | None:
        pairs = pronunciation_pairs(predictions, references)
        return sum(a[aspect] == r[aspect] for a, r in pairs) / len(pairs) if pairs else None

    agreement.__doc__ = f"Share of matched answers whose {aspect} score equals the reference's."
    return agreement


for _aspect in PRONUNCIATION_ASPECTS:
    register_metric(
        f"pronunciation_{_aspect}", higher_is_better=True,
        description=f"share of answers giving the reference's {_aspect} score, over the answers where both "
        "answer and reference give accuracy, prosodic and fluency scores (official pronunciation script)",
    )(_pronunciation_agreement(_aspect))


@register_metric("pronunciation_parsed", higher_is_better=None, description="number of answers the pronunciation scores were compared over (answer and reference both give all three)")
def pronunciation_parsed_count(predictions: Sequence[str], references: Sequence[str]) -> int:
    return len(pronunciation_pairs(predictions, references))


_SCORE = re.compile(r"score\s*[:：]\s*\**\s*([1-5](?:\.\d+)?)", re.IGNORECASE)


def parse_judge_score(verdict: str) -> float | None:
    """N from a judge's "Score: N" line (1-5), None if the verdict has none."""
    match = _SCORE.search(verdict)
    return float(match.group(1)) if match else None


@register_metric("judge_score", higher_is_better=True, description="mean LLM-judge score, 1-5, over the judged samples")
def judge_score(verdicts: Sequence[str], references: Sequence[str] = ()) -> float | None:
    """Takes the judge's verdict texts in place of predictions."""
    scores = [s for s in map(parse_judge_score, verdicts) if s is not None]
    return sum(scores) / len(scores) if scores else None


@register_metric("judged", higher_is_better=None, description="number of samples with a judge verdict")
def judged_count(verdicts: Sequence[str], references: Sequence[str] = ()) -> int:
    return sum(parse_judge_score(v) is not None for v in verdicts)
