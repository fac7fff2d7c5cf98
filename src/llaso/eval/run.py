"""Run mode: answer LLaSO-format test files with a model, then score the answers.

The model is ours (through the inference engine's Python API) or any OpenAI-compatible
audio chat endpoint (a vLLM server, `llaso serve`), which receives audio as `input_audio`
parts. Answers land in `<out>/<stem>.json` in the official layout (`answer` key), so any
tool can read them, and `llaso eval score <out>` scores them again.

A run is resumable through `llaso.data.runner` (the batch runner `llaso run` uses too): every
finished batch is journaled in `<out>/.journal/<stem>.jsonl` before the next starts.
`<out>/run.json` records the settings, and a rerun with different settings is refused rather
than mixed in.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llaso.atomic import write_json_atomic
from llaso.data.runner import Journal, answer_records, answered_records, write_answers
from llaso.errors import LlasoError
from llaso.eval.records import majority_field, read_prediction_file
from llaso.eval.stems import FileSpec, spec_for
from llaso.inference.backends import Backend

log = logging.getLogger(__name__)

JOURNAL_DIR = ".journal"
RUN_FILE = "run.json"
# Settings that change the answers: a resumed run must match them.
IDENTITY_FIELDS = ("model", "endpoint", "api_model", "max_new_tokens", "temperature", "top_p", "seed")


class RunConfigError(LlasoError):
    """Run-mode settings that cannot work (no model, output folder of another run, ...)."""


@dataclass(frozen=True)
class RunConfig:
    data: Path
    out: Path
    model: str | None = None  # ours: catalog name or checkpoint
    endpoint: str | None = None  # OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1
    api_model: str | None = None
    api_key_env: str = "LLASO_API_KEY"
    audio_root: Path | None = None  # None: the data folder
    tasks: tuple[str, ...] = ()
    limit: int | None = None  # first N samples of each file
    batch_size: int = 8
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    device: str | None = None
    dtype: str | None = None
    request_timeout_s: float = 300.0
    progress: bool = True

    def __post_init__(self) -> None:
        if (self.model is None) == (self.endpoint is None):
            raise RunConfigError("give exactly one of --model NAME or --endpoint URL")
        if self.endpoint is not None and not self.api_model:
            raise RunConfigError("--endpoint needs --api-model NAME (the model name the server serves)")
        if self.batch_size < 1:
            raise RunConfigError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise RunConfigError(f"--limit must be >= 1, got {self.limit}")

    def identity(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}

    def sampling(self) -> Any:
        from llaso.generation.sampling import SamplingParams

        return SamplingParams(max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                              top_p=self.top_p, seed=self.seed)


# ---------------------------------------------------------------------------- the run
@dataclass
class TestFile:
    path: Path
    spec: FileSpec
    records: list[dict[str, Any]]  # the samples to answer (first `limit`)
    problems: int = 0

    @property
    def stem(self) -> str:
        return self.spec.stem


@dataclass
class RunSummary:
    files: int = 0
    samples: int = 0
    generated: int = 0  # answered in this invocation
    resumed: int = 0  # found in the journal
    failed: int = 0  # samples whose answer is an error
    seconds: float = 0.0
    outputs: list[Path] = field(default_factory=list)

    @property
    def samples_per_second(self) -> float | None:
        return self.generated / self.seconds if self.seconds > 0 and self.generated else None


def discover_test_files(config: RunConfig) -> list[TestFile]:
    """The LLaSO-format files in `config.data` (top level) whose task is known and selected."""
    from llaso.data.schema import SAMPLE_FILE_SUFFIXES

    if not config.data.is_dir():
        raise RunConfigError(f"{config.data}: not a folder of test files")
    wanted = {t.upper() for t in config.tasks}
    found: list[TestFile] = []
    for path in sorted(config.data.iterdir()):
        if path.suffix not in SAMPLE_FILE_SUFFIXES or not path.is_file() or path.name.startswith("."):
            continue
        loaded = read_prediction_file(path)
        task = majority_field(loaded.records, "task")
        layout = majority_field(loaded.records, "layout")
        try:
            spec = spec_for(loaded.stem, task=task, layout=layout)
        except ValueError as exc:
            log.warning("%s: %s; skipped", path.name, exc)
            continue
        if spec is None:
            log.info("%s: no known task; skipped", path.name)
            continue
        if wanted and spec.task not in wanted:
            continue
        if loaded.problems:
            log.warning("%s: %d unreadable record(s) skipped (%s)", path.name, len(loaded.problems),
                        loaded.problems[0].reason)
        records = loaded.records[: config.limit] if config.limit else loaded.records
        found.append(TestFile(path, spec, records, problems=len(loaded.problems)))
    if not found:
        selected = f" for tasks {', '.join(sorted(wanted))}" if wanted else ""
        raise RunConfigError(f"{config.data}: no LLaSO test files of a known task{selected}")
    return found


def check_run_file(config: RunConfig) -> None:
    """Refuse to resume into a folder written with other decoding settings; else record ours."""
    path = config.out / RUN_FILE
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    started_at = now
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunConfigError(f"{path}: unreadable ({exc}); remove it or use another --out") from None
        previous = recorded.get("identity", {})
        started_at = recorded.get("started_at", now)
        changed = [k for k in IDENTITY_FIELDS if previous.get(k) != config.identity()[k]]
        if changed:
            details = ", ".join(f"{k}: {previous.get(k)!r} -> {config.identity()[k]!r}" for k in changed)
            raise RunConfigError(
                f"{config.out} holds answers from a run with other settings ({details}); "
                "use another --out, or delete that folder to start over"
            )
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    write_json_atomic(path, {"identity": config.identity(), "settings": settings,
                             "started_at": started_at, "invoked_at": now})


def run_files(config: RunConfig, files: Sequence[TestFile], backend: Backend) -> RunSummary:
    """Answer every not-yet-answered sample, batch by batch, then write the prediction files."""
    from tqdm import tqdm

    from llaso.data.runner import answered_positions

    audio_root = config.audio_root or config.data
    journals = {f.stem: Journal(config.out / JOURNAL_DIR / f"{f.stem}.jsonl") for f in files}
    summary = RunSummary(files=len(files), samples=sum(len(f.records) for f in files))
    summary.resumed = sum(len(answered_positions(f.records, journals[f.stem])) for f in files)
    started = time.perf_counter()
    with tqdm(total=summary.samples, initial=summary.resumed, desc="answering", unit="sample",
              disable=not config.progress, dynamic_ncols=True) as bar:
        for test_file in files:
            journal = journals[test_file.stem]
            summary.generated += answer_records(test_file.records, backend.answer, journal, audio_root=audio_root,
                                                batch_size=config.batch_size, on_batch=bar.update)
            path = config.out / f"{test_file.stem}.json"
            summary.outputs.append(write_answers(path, answered_records(test_file.records, journal)))
    summary.seconds = time.perf_counter() - started
    summary.failed = sum(
        1 for f in files for i in range(len(f.records)) if journals[f.stem].answers[i].get("error")
    )
    return summary


def model_backend(config: RunConfig, model: Any = None) -> Backend:
    """Our model (`model`, an already loaded `Llaso`, or `config.model` loaded now)."""
    from llaso import Llaso
    from llaso.inference.backends import ModelBackend

    model = model or Llaso.from_pretrained(config.model, device=config.device, dtype=config.dtype)
    return ModelBackend(model, config.sampling(), config.batch_size)


def make_backend(config: RunConfig) -> Backend:
    from llaso.inference.backends import EndpointBackend

    if config.model is not None:
        return model_backend(config)
    return EndpointBackend(config.endpoint or "", config.api_model or "", config.sampling(),
                           concurrency=config.batch_size, api_key_env=config.api_key_env,
                           timeout_s=config.request_timeout_s)


def run(config: RunConfig, backend: Backend | None = None) -> RunSummary:
    """Discover test files, check the output folder, answer what is missing, write predictions."""
    if config.out.resolve() == config.data.resolve():
        raise RunConfigError(f"--out {config.out} is the test data folder; answers would overwrite the test files")
    files = discover_test_files(config)
    config.out.mkdir(parents=True, exist_ok=True)
    check_run_file(config)
    own_backend = backend is None
    backend = backend or make_backend(config)
    try:
        summary = run_files(config, files, backend)
    finally:
        if own_backend:
            backend.close()
    _record_timing(config.out / RUN_FILE, summary)
    return summary


def _record_timing(path: Path, summary: RunSummary) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["last_invocation"] = {
        "files": summary.files, "samples": summary.samples, "generated": summary.generated,
        "resumed": summary.resumed, "failed": summary.failed, "seconds": round(summary.seconds, 3),
        "samples_per_second": summary.samples_per_second,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json_atomic(path, data)


def check_judge_available(config: RunConfig, options: Any) -> None:
    """Fail before answering anything if open-ended files will need a judge that is not set.

    `options` is the ScoreOptions the run will be scored with.
    """
    from llaso.eval.judge import JudgeNotConfiguredError, not_configured_message
    from llaso.eval.score import JUDGE_METRICS

    if not options.use_judge or options.judge is not None:
        return
    files = [f for f in discover_test_files(config) if JUDGE_METRICS & set(f.spec.metrics)]
    if files:
        raise JudgeNotConfiguredError(
            not_configured_message([f.path.name for f in files], sum(len(f.records) for f in files))
        )
