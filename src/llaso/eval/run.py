"""Run mode: answer LLaSO-format test files with a model, then score the answers.

The model is ours (through the inference engine's Python API) or any OpenAI-compatible
audio chat endpoint (a vLLM server, `llaso serve`), which receives audio as `input_audio`
parts. Answers land in `<out>/<stem>.json` in the official layout (`answer` key), so any
tool can read them, and `llaso eval score <out>` scores them again.

A run is resumable: every finished batch is appended to `<out>/.journal/<stem>.jsonl`
(flushed to disk) before the next starts. A killed run restarts from its journal with no
sample lost or repeated, and because batches keep their boundaries and decoding is greedy,
with the same answers as an uninterrupted run. `<out>/run.json` records the settings, and
a rerun with different settings is refused rather than mixed in.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llaso.errors import LlasoError
from llaso.atomic import write_json_atomic, write_text_atomic
from llaso.eval.records import majority_field, read_prediction_file
from llaso.eval.stems import FileSpec, spec_for

log = logging.getLogger(__name__)

JOURNAL_DIR = ".journal"
RUN_FILE = "run.json"
ANSWER_KEY = "answer"
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


@dataclass
class Answer:
    text: str | None
    error: str | None = None


class Backend(Protocol):
    """Answers a batch of chat conversations, one Answer each, in order."""

    def answer(self, conversations: Sequence[list[dict[str, Any]]]) -> list[Answer]: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------- backends
class ModelBackend:
    """Our model through the Python API (`Llaso.chat_batch`)."""

    def __init__(self, config: RunConfig, model: Any = None) -> None:
        """`model`: an already loaded `Llaso`; None loads `config.model`."""
        from llaso import Llaso, SamplingParams

        self._model = model or Llaso.from_pretrained(config.model, device=config.device, dtype=config.dtype)
        self._params = SamplingParams(
            max_new_tokens=config.max_new_tokens, temperature=config.temperature,
            top_p=config.top_p, seed=config.seed,
        )
        self._batch_size = config.batch_size

    def answer(self, conversations: Sequence[list[dict[str, Any]]]) -> list[Answer]:
        results = self._model.chat_batch(list(conversations), self._params, batch_size=self._batch_size)
        return [Answer(r.text, r.error) for r in results]

    def close(self) -> None:
        pass


class EndpointError(LlasoError):
    """The endpoint is unreachable or keeps failing; the run stops and can be resumed."""


class EndpointBackend:
    """Any OpenAI-compatible chat endpoint; audio goes as base64 WAV `input_audio` parts.

    Requests of a batch run concurrently. Transient failures are retried with backoff and
    then stop the run (it resumes later); a request the server rejects (HTTP 4xx) fails
    that sample only.
    """

    def __init__(self, config: RunConfig, max_retries: int = 4, backoff_s: float = 1.0) -> None:
        from openai import OpenAI

        self._config = config
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        api_key = os.environ.get(config.api_key_env) or "no-key"
        self._client = OpenAI(base_url=config.endpoint, api_key=api_key, max_retries=0,
                              timeout=config.request_timeout_s)
        self._pool = ThreadPoolExecutor(config.batch_size)

    def answer(self, conversations: Sequence[list[dict[str, Any]]]) -> list[Answer]:
        return list(self._pool.map(self._one, conversations))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    def _one(self, messages: list[dict[str, Any]]) -> Answer:
        import openai

        try:
            payload = [openai_message(m) for m in messages]
        except LlasoError as exc:
            return Answer(None, str(exc))
        delay = self._backoff_s
        for attempt in range(self._max_retries + 1):
            try:
                reply = self._client.chat.completions.create(
                    model=self._config.api_model, messages=payload,
                    max_tokens=self._config.max_new_tokens, temperature=self._config.temperature,
                    top_p=self._config.top_p, seed=self._config.seed,
                )
                return Answer(reply.choices[0].message.content or "")
            except (openai.RateLimitError, openai.InternalServerError,
                    openai.APIConnectionError, openai.APITimeoutError) as exc:
                if attempt == self._max_retries:
                    raise EndpointError(f"endpoint {self._config.endpoint} keeps failing ({exc}); "
                                        "rerun the same command to resume") from exc
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
            except openai.APIStatusError as exc:
                return Answer(None, f"endpoint rejected the request (HTTP {exc.status_code}): {exc.message}")
        raise AssertionError("unreachable")


def openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """A llaso chat message in OpenAI's shape: audio parts become base64 WAV `input_audio`."""
    content = message["content"]
    if isinstance(content, str):
        return {"role": message["role"], "content": content}
    parts = []
    for part in content:
        if part.get("type") == "text":
            parts.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "audio":
            parts.append({"type": "input_audio", "input_audio": {"data": wav_base64(part), "format": "wav"}})
        else:
            raise LlasoError(f"unsupported content part {part.get('type')!r}")
    return {"role": message["role"], "content": parts}


def wav_base64(part: dict[str, Any]) -> str:
    """An audio part decoded to 16 kHz mono and re-encoded as 16-bit WAV, base64."""
    import soundfile as sf

    from llaso.audio import load_audio

    source = part["path"] if "path" in part else part["audio"]
    samples = load_audio(source, source_rate=part.get("sampling_rate"))
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------------------- journal
class Journal:
    """Answers of one test file by record position, appended batch by batch and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[int, dict[str, Any]] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]  # a kill mid-write leaves a partial last line
        if len(complete) != len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
        for line in complete.decode("utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s: skipping a damaged journal line", self.path)
                continue
            self.answers[int(entry["position"])] = entry

    def append(self, entries: Sequence[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
            handle.flush()
            os.fsync(handle.fileno())
        for entry in entries:
            self.answers[int(entry["position"])] = entry


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


def messages_for(record: dict[str, Any], audio_root: Path) -> list[dict[str, Any]]:
    """The conversation up to the answer the model must give (reference turns dropped)."""
    from llaso.data.schema import sample_to_messages

    messages = sample_to_messages(record, audio_root)
    while messages and messages[-1]["role"] == "assistant":
        messages.pop()
    if not messages:
        raise LlasoError("no user turn to answer")
    return messages


def run_files(config: RunConfig, files: Sequence[TestFile], backend: Backend) -> RunSummary:
    """Answer every not-yet-answered sample, batch by batch, then write the prediction files."""
    from tqdm import tqdm

    audio_root = config.audio_root or config.data
    journals = {f.stem: Journal(config.out / JOURNAL_DIR / f"{f.stem}.jsonl") for f in files}
    summary = RunSummary(files=len(files), samples=sum(len(f.records) for f in files))
    summary.resumed = sum(len(_answered(f, journals[f.stem])) for f in files)
    started = time.perf_counter()
    with tqdm(total=summary.samples, initial=summary.resumed, desc="answering", unit="sample",
              disable=not config.progress, dynamic_ncols=True) as bar:
        for test_file in files:
            journal = journals[test_file.stem]
            answered = _answered(test_file, journal)
            pending = [i for i in range(len(test_file.records)) if i not in answered]
            for batch in _chunks(pending, config.batch_size):
                journal.append(_answer_batch(test_file, batch, backend, audio_root))
                summary.generated += len(batch)
                bar.update(len(batch))
            summary.outputs.append(write_predictions(test_file, journal, config.out))
    summary.seconds = time.perf_counter() - started
    summary.failed = sum(
        1 for f in files for i in range(len(f.records)) if journals[f.stem].answers[i].get("error")
    )
    return summary


def record_key(record: dict[str, Any]) -> str:
    """A short fingerprint of what a sample asks, so a journal never answers an edited sample."""
    asked = json.dumps([record.get("conversations"), record.get("voice")], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(asked.encode()).hexdigest()[:16]


def _answered(test_file: TestFile, journal: Journal) -> set[int]:
    return {
        i for i, record in enumerate(test_file.records)
        if i in journal.answers and journal.answers[i].get("key") == record_key(record)
    }


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _answer_batch(test_file: TestFile, batch: Sequence[int], backend: Backend, audio_root: Path) -> list[dict[str, Any]]:
    entries: dict[int, dict[str, Any]] = {}
    conversations: list[list[dict[str, Any]]] = []
    asked: list[int] = []
    for position in batch:
        try:
            conversations.append(messages_for(test_file.records[position], audio_root))
            asked.append(position)
        except LlasoError as exc:  # a broken sample fails alone
            entries[position] = {"position": position, "answer": None, "error": str(exc)}
    if conversations:
        for position, answer in zip(asked, backend.answer(conversations)):
            entries[position] = {"position": position, "answer": answer.text, "error": answer.error}
    for position in batch:
        entries[position]["key"] = record_key(test_file.records[position])
    return [entries[p] for p in batch]


def write_predictions(test_file: TestFile, journal: Journal, out: Path) -> Path:
    """`<out>/<stem>.json`: the test records with the model's `answer` (and `error` if failed)."""
    records = []
    for position, record in enumerate(test_file.records):
        entry = journal.answers[position]
        written = dict(record)
        written[ANSWER_KEY] = entry["answer"]
        if entry.get("error"):
            written["error"] = entry["error"]
        records.append(written)
    path = out / f"{test_file.stem}.json"
    write_text_atomic(path, _json_array(records))
    return path


def _json_array(records: Sequence[dict[str, Any]]) -> str:
    # One record per line: readable by any JSON parser and resynchronisable after damage.
    body = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    return "[\n" + body + "\n]\n"


def make_backend(config: RunConfig) -> Backend:
    return ModelBackend(config) if config.model is not None else EndpointBackend(config)


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
