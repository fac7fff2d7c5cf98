"""Scoring open-ended answers with an LLM judge behind any OpenAI-compatible endpoint.

A verdict is the judge's "Score: N\nExplanation: ..." text. Verdicts are cached on disk
per (sample, prediction, rubric, judge model), so a rerun, or a second system giving the
same answer, costs no request. Transient failures (429, 5xx, connection loss, timeout)
are retried with exponential backoff; anything else stops with a clear error, and what
was judged so far stays cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from llaso.errors import LlasoError
from llaso.eval.metrics import parse_judge_score

log = logging.getLogger(__name__)

DEFAULT_RUBRIC = "open_ended"
DEFAULT_API_KEY_ENV = "LLASO_JUDGE_API_KEY"


class JudgeNotConfiguredError(LlasoError):
    """Open-ended files need verdicts, none exist, and no judge endpoint was given."""


class JudgeError(LlasoError):
    """The judge endpoint refused or kept failing."""


def load_rubric(name: str = DEFAULT_RUBRIC) -> str:
    """A rubric stored with the package (`llaso/eval/rubrics/<name>.txt`), or a file path."""
    path = Path(name)
    if path.suffix and path.is_file():
        return path.read_text(encoding="utf-8")
    resource = resources.files("llaso.eval").joinpath("rubrics", f"{name}.txt")
    if not resource.is_file():
        raise LlasoError(f"unknown judge rubric {name!r}: no file of that name and no packaged rubric")
    return resource.read_text(encoding="utf-8")


def default_cache_path() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "llaso" / "judge_verdicts.sqlite"


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    api_key_env: str = DEFAULT_API_KEY_ENV
    rubric: str = DEFAULT_RUBRIC
    cache_path: Path | None = None  # None: default_cache_path()
    max_retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 120.0
    concurrency: int = 4
    max_tokens: int = 256


@dataclass(frozen=True)
class JudgeItem:
    """One answer to grade."""

    task: str
    prompt: str
    reference: str
    prediction: str


class VerdictCache:
    """A small SQLite table of verdicts by key; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL,"
                " model TEXT, created REAL)"
            )

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, verdict: str, model: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", (key, verdict, model, time.time())
            )

    def close(self) -> None:
        self._db.close()


def cache_key(item: JudgeItem, rubric_text: str, model: str) -> str:
    payload = json.dumps(
        [item.task, item.prompt, item.reference, item.prediction,
         hashlib.sha256(rubric_text.encode()).hexdigest(), model],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class JudgeStats:
    requests: int = 0
    cached: int = 0
    retries: int = 0
    unparseable: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class Judge:
    """Grades answers through an OpenAI-compatible chat endpoint, with cache and retries."""

    def __init__(self, config: JudgeConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        from openai import OpenAI

        self.config = config
        self.rubric = load_rubric(config.rubric)
        self.cache = VerdictCache(config.cache_path or default_cache_path())
        self.stats = JudgeStats()
        self._sleep = sleep
        api_key = os.environ.get(config.api_key_env) or "no-key"  # local servers need none
        self._client = OpenAI(
            base_url=config.base_url, api_key=api_key, max_retries=0, timeout=config.timeout_s
        )

    def close(self) -> None:
        self.cache.close()
        self._client.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verdicts(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None) -> list[str | None]:
        """One verdict per item (None where the judge never gave a usable score)."""
        def one(item: JudgeItem) -> str | None:
            verdict = self.verdict(item)
            if progress is not None:
                progress(1)
            return verdict

        if self.config.concurrency <= 1 or len(items) <= 1:
            return [one(item) for item in items]
        with ThreadPoolExecutor(self.config.concurrency) as pool:
            return list(pool.map(one, items))

    def verdict(self, item: JudgeItem) -> str | None:
        key = cache_key(item, self.rubric, self.config.model)
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.add(cached=1)
            return cached
        for _attempt in range(2):  # one more try if the reply has no score
            text = self._request(item)
            if parse_judge_score(text) is not None:
                self.cache.put(key, text, self.config.model)
                return text
            self.stats.add(unparseable=1)
        log.warning("judge gave no 'Score: N' for a %s answer; left unjudged", item.task)
        return None

    def _request(self, item: JudgeItem) -> str:
        import openai

        prompt = self.rubric.format(
            task=item.task, question=item.prompt, reference=item.reference, prediction=item.prediction
        )
        delay = self.config.backoff_s
        for attempt in range(self.config.max_retries + 1):
            self.stats.add(requests=1)
            try:
                reply = self._client.chat.completions.create(
                    model=self.config.model,
                    messages=[{"role": "user", "content": prompt}],
                    temperature=0.0,
                    max_tokens=self.config.max_tokens,
                )
                return reply.choices[0].message.content or ""
            except (openai.RateLimitError, openai.InternalServerError,
                    openai.APIConnectionError, openai.APITimeoutError) as exc:
                if attempt == self.config.max_retries:
                    raise JudgeError(
                        f"judge at {self.config.base_url} still failing after "
                        f"{self.config.max_retries} retries: {exc}"
                    ) from exc
                self.stats.add(retries=1)
                log.info("judge request failed (%s); retrying in %.1f s", exc, delay)
                self._sleep(delay)
                delay = min(delay * 2, 60.0)
            except openai.APIStatusError as exc:
                raise JudgeError(
                    f"judge at {self.config.base_url} refused the request "
                    f"(HTTP {exc.status_code}): {exc.message}"
                ) from exc
        raise AssertionError("unreachable")


def not_configured_message(files: Sequence[str], missing: int) -> str:
    shown = ", ".join(files[:4]) + (" ..." if len(files) > 4 else "")
    return (
        f"{missing} open-ended answers in {len(files)} file(s) ({shown}) need an LLM judge and have "
        "no verdicts (gpt_result/<file>.jsonl): pass --judge-base-url URL and --judge-model NAME "
        f"(API key from ${DEFAULT_API_KEY_ENV} or --judge-api-key-env), or --no-judge to skip them"
    )
