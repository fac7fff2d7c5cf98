"""The engine thread: the one owner of the model, with dynamic batching.

Only this thread ever calls the model, the processor or the transcriber. Two decodes must
never run at once in two threads: llaso-tiny's LoRA adapter is switched on and off around
each forward (`llaso.model.adapter.language_model_for`), and that switch is module-wide, so
a second thread's forward would run with the other's adapter state.

Batching: requests that arrive together (while a batch runs, or within `batch_wait_ms` of
the first) are decoded in one `Engine.stream_batch` call, each streaming its own tokens and
stopping at its own `max_tokens`, stop strings or disconnect. Audio and text-only requests
go in separate batches (see `ChatJob.batch_key`). A batch is formed around the oldest
waiting request, so nobody waits behind later arrivals.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llaso.errors import AudioError, LlasoError
from llaso.serve.errors import ApiError
from llaso.serve.jobs import (
    Accepted,
    Answered,
    AskJob,
    ChatJob,
    Delta,
    Failed,
    Finished,
    Job,
    Transcribed,
    TranscribeJob,
)
from llaso.serve.metrics import Metrics
from llaso.serve.settings import Limits
from llaso.serve.textstream import TextStream

log = logging.getLogger("llaso.serve")

_STOP = object()


@dataclass
class _Row:
    job: ChatJob
    encoded: Any
    max_tokens: int
    text: TextStream
    tokens: list[int] = field(default_factory=list)
    done: bool = False


class EngineWorker:
    """Loads the model (so /health can say 503 meanwhile), then serves jobs until stopped."""

    def __init__(self, load_model: Callable[[], Any], load_transcriber: Callable[[], Any] | None,
                 limits: Limits, metrics: Metrics, on_fatal: Callable[[str], None] | None = None,
                 index_path: Any = None) -> None:
        self._load_model = load_model
        self._index_path = index_path
        self._index: Any = None  # opened on this thread at the first question (SQLite is per thread)
        self._load_transcriber = load_transcriber
        self.limits = limits
        self.metrics = metrics
        self._on_fatal = on_fatal
        self._inbox: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._main, name="llaso-engine", daemon=True)
        self.state = "loading"  # -> "ready" | "failed" | "stopped"
        self.error: str | None = None
        self.model: Any = None
        self.transcriber: Any = None
        self.context_length = 0
        self.waiting = 0  # jobs not started yet (queue depth)
        self.batch_seconds = 1.0  # running mean, for Retry-After
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # -- the event loop's side ------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            self.waiting += 1
        self.metrics.queue_depth.set(self.waiting)
        self._inbox.put(job)

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current forward step: requests still decoding get a 503 (this runs
        once the server's drain time is over, so whoever is still here has waited that long)."""
        self._stopping.set()
        self._inbox.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def abort(self) -> None:
        """End the drain: requests still waiting or decoding get a 503 (a streamed one as an
        error event), and anything submitted later too, until `stop`."""
        self._stopping.set()

    def retry_seconds(self) -> float:
        """A guess at when a slot frees: the batches ahead of a new request, at the recent pace."""
        batches = 1 + self.waiting // max(1, self.limits.max_batch_size)
        return min(60.0, batches * self.batch_seconds)

    # -- the engine thread ----------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.model = self._load_model()
            if self._load_transcriber is not None:
                self.transcriber = self._load_transcriber()
            self.context_length = int(self.model.model.config.text_config.max_position_embeddings)
        except Exception as exc:  # noqa: BLE001 (any load failure is reported, not raised in a thread)
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
            log.error("model failed to load: %s", self.error)
            if self._on_fatal is not None:
                self._on_fatal(self.error)
            return
        self.state = "ready"
        self.metrics.ready.set(1)
        try:
            self._serve()
        finally:
            self.state = "stopped"
            self.metrics.ready.set(0)
            self._fail_pending()
            if self._index is not None:
                self._index.close()

    def _take(self, ready: deque, block: bool) -> bool:
        """Move jobs from the inbox into `ready`; False once asked to stop."""
        try:
            item = self._inbox.get() if block else self._inbox.get_nowait()
        except queue.Empty:
            return True
        if item is _STOP:
            return False
        ready.append(item)
        deadline = time.monotonic() + self.limits.batch_wait_ms / 1000.0
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._inbox.get(timeout=remaining) if remaining > 0 else self._inbox.get_nowait()
            except queue.Empty:
                return True
            if item is _STOP:
                return False
            ready.append(item)

    def _serve(self) -> None:
        ready: deque[Job] = deque()
        while True:
            if not self._take(ready, block=not ready):
                self._pending_back(ready)
                return
            if self._stopping.is_set():
                self._pending_back(ready)
                ready.clear()
                continue
            for job in [j for j in ready if j.cancelled.is_set()]:
                ready.remove(job)
                self._started(1)
                self.metrics.cancelled.inc()
                job.emit(Finished("cancelled", 0, ""))
            if not ready:
                continue
            head = ready[0]
            if isinstance(head, TranscribeJob | AskJob):
                ready.popleft()
                self._started(1)
                self._guarded(self._transcribe if isinstance(head, TranscribeJob) else self._ask, head)
                continue
            key = head.batch_key()
            batch = [j for j in ready if isinstance(j, ChatJob) and j.batch_key() == key][: self.limits.max_batch_size]
            for job in batch:
                ready.remove(job)
            self._started(len(batch))
            began = time.monotonic()
            self._guarded(self._decode, batch)
            self.batch_seconds = 0.8 * self.batch_seconds + 0.2 * (time.monotonic() - began)

    def _started(self, count: int) -> None:
        with self._lock:
            self.waiting = max(0, self.waiting - count)
        self.metrics.queue_depth.set(self.waiting)

    def _pending_back(self, ready: deque) -> None:
        for job in ready:
            job.emit(Failed(ApiError(503, "the server is shutting down", "shutting_down")))
        self._started(len(ready))

    def _fail_pending(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                self._started(1)
                item.emit(Failed(ApiError(503, "the server is shutting down", "shutting_down")))

    def _guarded(self, work: Callable[[Any], None], arg: Any) -> None:
        """Run one batch; whatever goes wrong fails that batch's requests, never the thread."""
        try:
            work(arg)
        except Exception:  # noqa: BLE001
            self.metrics.engine_errors.inc()
            log.exception("the engine failed on a batch; its requests get a 500 and serving goes on")
            jobs = arg if isinstance(arg, list) else [arg]
            for job in jobs:
                job.emit(Failed(ApiError(500, "the engine failed on this request; it has been logged",
                                         "engine_error")))

    # -- chat -----------------------------------------------------------------------------
    def _admit(self, job: ChatJob) -> _Row | None:
        """Encode and check the context window; refusals go back to the job."""
        assert job.decoding is not None
        try:
            encoded = self.model.encode(job.messages)
        except AudioError as exc:
            job.emit(Failed(ApiError(400, str(exc), "invalid_audio", param="messages")))
            return None
        except LlasoError as exc:
            job.emit(Failed(ApiError(400, str(exc), "invalid_request", param="messages")))
            return None
        prompt = len(encoded.input_ids)
        room = self.context_length - prompt
        max_tokens = job.decoding.max_tokens if job.decoding.max_tokens_given else min(job.decoding.max_tokens, room)
        if max_tokens < 1 or prompt + max_tokens > self.context_length:
            asked = f" + max_tokens {max_tokens} = {prompt + max_tokens}" if job.decoding.max_tokens_given else ""
            job.emit(Failed(ApiError(
                400, f"the prompt is {prompt} tokens (audio tokens included){asked}; the model's context is "
                f"{self.context_length} tokens", "context_length_exceeded", param="messages")))
            return None
        self.metrics.prompt_tokens.inc(prompt)
        job.emit(Accepted(prompt))
        return _Row(job, encoded, max_tokens, TextStream(job.decoding.stop))

    def _admit_guarded(self, job: ChatJob) -> _Row | None:
        try:
            return self._admit(job)
        except Exception:  # noqa: BLE001 (one request's bad input fails that request only)
            self.metrics.engine_errors.inc()
            log.exception("encoding a request failed; it gets a 500")
            job.emit(Failed(ApiError(500, "the server could not prepare this request; it has been logged",
                                     "engine_error")))
            return None

    def _finish(self, row: _Row, reason: str) -> None:
        row.done = True
        if reason == "cancelled":
            self.metrics.cancelled.inc()
            row.job.emit(Finished("cancelled", len(row.tokens), ""))
            return
        rest = row.text.finish()
        if rest and row.job.stream:
            row.job.emit(Delta(rest))
        self.metrics.completion_tokens.inc(len(row.tokens))
        row.job.emit(Finished(reason, len(row.tokens), row.text.answer))

    def _decode(self, batch: list[ChatJob]) -> None:
        from llaso.generation.sampling import SamplingParams

        rows = [row for row in (self._admit_guarded(job) for job in batch if not job.cancelled.is_set())
                if row is not None]
        for job in batch:
            if job.cancelled.is_set() and not any(r.job is job for r in rows):
                self.metrics.cancelled.inc()
                job.emit(Finished("cancelled", 0, ""))
        if not rows:
            return
        self.metrics.batch_size.observe(len(rows))
        first = rows[0].job.decoding
        params = SamplingParams(max_new_tokens=max(r.max_tokens for r in rows), temperature=first.temperature,
                                top_p=first.top_p, seed=first.seed)
        processor = self.model.processor
        steps = self.model.engine.stream_batch([r.encoded for r in rows], params)
        try:
            for step in steps:
                if self._stopping.is_set():
                    for row in rows:
                        if not row.done:
                            row.done = True
                            row.job.emit(Failed(ApiError(503, "the server is shutting down", "shutting_down")))
                    break
                for row, token in zip(rows, step):
                    if row.done:
                        continue
                    if row.job.cancelled.is_set():
                        self._finish(row, "cancelled")
                        continue
                    if token is None:
                        self._finish(row, "stop")
                        continue
                    if not row.tokens:
                        self.metrics.ttft.observe(time.monotonic() - row.job.submitted_at)
                    row.tokens.append(token)
                    piece, hit = row.text.update(processor.decode(row.tokens))
                    if piece and row.job.stream:
                        row.job.emit(Delta(piece))
                    if hit:
                        self._finish(row, "stop")
                    elif len(row.tokens) >= row.max_tokens:
                        self._finish(row, "length")
                if all(row.done for row in rows):
                    break
            for row in rows:  # the engine ended every row at once (its max_new_tokens)
                if not row.done:
                    self._finish(row, "length")
        except Exception:
            for row in rows:
                row.done = True
            raise
        finally:
            steps.close()

    # -- transcription --------------------------------------------------------------------
    def _transcribe(self, job: TranscribeJob) -> None:
        if job.cancelled.is_set():
            self.metrics.cancelled.inc()
            job.emit(Finished("cancelled", 0, ""))
            return
        if self.transcriber is None:
            job.emit(Failed(ApiError(503, "this server has no transcription model", "transcription_unavailable")))
            return
        transcript = self.transcriber.transcribe([job.samples], max_audio_seconds=job.max_seconds)[0]
        if transcript.error:
            job.emit(Failed(ApiError(400, transcript.error, "invalid_audio", param="file")))
            return
        job.emit(Transcribed(transcript))

    # -- questions answered from the documents --------------------------------------------
    def _ask(self, job: AskJob) -> None:
        """Transcribe (if spoken), retrieve, answer: one request at a time, on this thread."""
        from llaso.features.retrieval import PassageIndex, ask
        from llaso.generation.sampling import SamplingParams

        if job.cancelled.is_set():
            self.metrics.cancelled.inc()
            job.emit(Finished("cancelled", 0, ""))
            return
        if self._index_path is None:
            job.emit(Failed(ApiError(404, "this server has no document index (start it with --index INDEX)",
                                     "index_unavailable")))
            return
        if self._index is None:
            self._index = PassageIndex.open(self._index_path)
        try:
            answer = ask(self.model, self._index, audio=job.samples, question=job.question,
                         transcriber=self.transcriber, k=job.top_k, mode=job.mode, cascade=job.cascade,
                         params=SamplingParams(max_new_tokens=job.max_tokens), audio_rate=16000)
        except LlasoError as exc:
            job.emit(Failed(ApiError(400, str(exc), "invalid_request")))
            return
        job.emit(Answered(answer))
