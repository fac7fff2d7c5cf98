"""Metric functions, each pure, and the registry that names them.

Every metric takes the model's predictions and the references of one file (same order,
same length) and returns a number, or None when nothing could be measured (an empty file,
no parseable number). The registry records whether higher is better, which reports and
the normalised score need. New metrics register with `register_metric`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from llaso.eval.text_normalize import first_number, ipa_symbols, normalize_label, normalize_transcript

# (predictions, references, **options) -> value; closed-set metrics also take `labels=`.
MetricFn = Callable[..., "float | int | None"]


@dataclass(frozen=True)
class Metric:
    """A named metric. `higher_is_better` is None for counts that are not scores."""

    name: str
    compute: MetricFn
    higher_is_better: bool | None
    description: str


_REGISTRY: dict[str, Metric] = {}


def register_metric(
    name: str, *, higher_is_better: bool | None, description: str
) -> Callable[[MetricFn], MetricFn]:
    """Decorator: add a metric function to the registry under `name`."""

    def add(fn: MetricFn) -> MetricFn:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        _REGISTRY[name] = Metric(name, fn, higher_is_better, description)
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
    tokenize: Callable[[str], Sequence[str]],
) -> float | None:
    """(S + D + I) / N over the whole corpus: summed edit distances over summed reference lengths.

    The hypothesis is the prediction and the reference the label (the roles the official
    script swaps); the distance is symmetric but N is the reference's length.
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


@register_metric("wer", higher_is_better=False, description="word error rate, case and punctuation kept")
def word_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, _words)


@register_metric("cer", higher_is_better=False, description="character error rate (spaces included), case and punctuation kept")
def character_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, _chars)


@register_metric("wer_normalized", higher_is_better=False, description="word error rate after lower-casing and removing punctuation")
def word_error_rate_normalized(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, lambda t: normalize_transcript(t).split())


@register_metric("cer_normalized", higher_is_better=False, description="character error rate after lower-casing and removing punctuation")
def character_error_rate_normalized(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, normalize_transcript)


@register_metric("per", higher_is_better=False, description="phoneme error rate over IPA symbols (diacritics and length marks attached), word boundaries ignored")
def phoneme_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    return corpus_error_rate(predictions, references, ipa_symbols)


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


@register_metric("accuracy", higher_is_better=True, description="closed-set accuracy (fraction); labels = the file's distinct references")
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


@register_metric("abstention_rate", higher_is_better=False, description="fraction of predictions that do not name exactly one valid label")
def abstention_rate(
    predictions: Sequence[str], references: Sequence[str], labels: Sequence[str] | None = None
) -> float | None:
    _check_lengths(predictions, references)
    if not predictions:
        return None
    labels = labels if labels is not None else label_set(references)
    abstained = sum(len(labels_found(p, labels)) != 1 for p in predictions)
    return abstained / len(predictions)


def absolute_errors(predictions: Sequence[str], references: Sequence[str]) -> list[float | None]:
    """|prediction - reference| per sample, None where either has no number."""
    _check_lengths(predictions, references)
    errors: list[float | None] = []
    for prediction, reference in zip(predictions, references):
        p, r = first_number(prediction), first_number(reference)
        errors.append(None if p is None or r is None else abs(p - r))
    return errors


@register_metric("mae", higher_is_better=False, description="mean absolute error over the predictions with a number (a range counts as its midpoint)")
def mean_absolute_error(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    parsed = [e for e in absolute_errors(predictions, references) if e is not None]
    return sum(parsed) / len(parsed) if parsed else None


@register_metric("parsed", higher_is_better=None, description="number of predictions a number could be read from (for mae)")
def parsed_count(predictions: Sequence[str], references: Sequence[str]) -> int:
    return sum(e is not None for e in absolute_errors(predictions, references))


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
