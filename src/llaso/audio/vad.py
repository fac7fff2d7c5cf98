"""Voice-activity segmentation: a recording of any length -> pieces of at most 30 s cut at silences.

Why: Whisper (and every LSLM built on its encoder) hears 30 s at a time. Cutting blindly every
30 s splits words in two and feeds long silences to the decoder, where it hallucinates. Here
the Silero VAD (PyPI `silero-vad`, MIT; its batched "sequence" ONNX export, run with
onnxruntime, one call per block of frames) scores every 32 ms frame, speech regions are
found with hysteresis, and regions are merged into pieces of at most `max_piece` seconds whose
edges lie in silence. Only a stretch of speech longer than `max_piece` without any pause is
cut inside, at its least speech-like frame.

Streaming throughout: `SpeechSegmenter.feed` takes blocks and returns the pieces that are
complete, holding at most one piece plus `max_gap` of audio, so memory does not grow with the
length of the recording.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llaso.audio.load import SAMPLING_RATE
from llaso.errors import LlasoError

FRAME = 512  # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame the model sees before each frame
SEQUENCE_MODEL = "silero_vad_16k_sequence.onnx"


class VadError(LlasoError):
    """The voice-activity detector cannot be loaded."""


@dataclass(frozen=True)
class VadSettings:
    """Thresholds in speech probability, durations in seconds."""

    threshold: float = 0.5  # a frame at or above this starts speech
    neg_threshold: float = 0.35  # frames below this count as silence
    min_speech: float = 0.2  # shorter bursts are dropped (clicks, breaths)
    min_silence: float = 0.3  # a pause must last this long to end a speech region
    speech_pad: float = 0.2  # kept around each region (never past the middle of a pause)
    max_piece: float = 30.0  # the longest piece (Whisper's window)
    max_gap: float = 3.0  # a longer pause always ends a piece (no long silence inside one)

    def __post_init__(self) -> None:
        if not 0.0 < self.neg_threshold <= self.threshold < 1.0:
            raise ValueError("need 0 < neg_threshold <= threshold < 1")
        if self.max_piece < 2 * FRAME / SAMPLING_RATE + 2 * self.speech_pad:
            raise ValueError(f"max_piece {self.max_piece} s is too short")
        if min(self.min_speech, self.min_silence, self.speech_pad, self.max_gap) < 0:
            raise ValueError("durations must be >= 0")


@dataclass
class Piece:
    """`samples` of the recording starting `start` seconds in; `speech` lists the (start, end)
    seconds of the speech regions inside it; `forced` marks an edge cut inside speech."""

    start: float
    samples: np.ndarray
    speech: list[tuple[float, float]] = field(default_factory=list)
    forced_end: bool = False

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLING_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLING_RATE


def silero_model_path() -> Path:
    """The sequence ONNX model inside the installed `silero-vad` package (found without
    importing the package, whose __init__ imports torch and changes its thread count)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VadError("the voice-activity detector is not installed: pip install silero-vad==6.2.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / SEQUENCE_MODEL
    if not path.is_file():
        raise VadError(f"{path} is missing: reinstall silero-vad (version 6.2 or later ships it)")
    return path


class SileroVad:
    """Per-frame speech probabilities, streamed: state and context carry across calls."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path or silero_model_path()), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def frames(self, frames: np.ndarray) -> np.ndarray:
        """[N, 512] float32 frames (consecutive, continuing the last call) -> [N] probabilities."""
        if len(frames) == 0:
            return np.zeros(0, np.float32)
        contexts = np.empty((len(frames), CONTEXT), np.float32)
        contexts[0] = self._context
        contexts[1:] = frames[:-1, -CONTEXT:]
        self._context = frames[-1, -CONTEXT:].copy()
        probs, self._h, self._c = self._session.run(
            ["speech_probs", "hn", "cn"],
            {"input": np.concatenate([contexts, frames], axis=1), "h": self._h, "c": self._c})
        return np.asarray(probs, np.float32).reshape(-1)


class SpeechSegmenter:
    """Blocks of 16 kHz samples in, `Piece`s out, as soon as each is complete.

    `probabilities` is any callable scoring [N, 512] frames (`SileroVad.frames` by default);
    tests pass a simple energy detector to check the cutting logic on exact silences.
    """

    def __init__(self, settings: VadSettings | None = None, probabilities=None) -> None:
        self.settings = settings or VadSettings()
        self._score = probabilities or SileroVad().frames
        s, rate = self.settings, SAMPLING_RATE
        self._pad = int(s.speech_pad * rate)
        self._max = int(s.max_piece * rate)
        self._gap = int(s.max_gap * rate)
        self._min_silence_frames = max(1, round(s.min_silence * rate / FRAME))
        self._min_speech = int(s.min_speech * rate)
        self._buf = np.zeros(0, np.float32)  # retained audio, from sample _buf_start
        self._buf_start = 0
        self._tail = np.zeros(0, np.float32)  # samples not yet a whole frame
        self._probs = np.zeros(0, np.float32)  # per frame, from frame _probs_start
        self._probs_start = 0
        self._frame = 0  # frames scored so far
        self._speaking = False
        self._region_start = 0  # frame
        self._silence_start: int | None = None
        self._group: list[tuple[int, int]] = []  # finalized regions (frames) of the open piece
        self._floor = 0  # no piece may start before this sample (the last piece's end)
        self._total = 0  # samples fed
        self._finished = False

    # -- input -----------------------------------------------------------------------------
    def feed(self, block: np.ndarray) -> list[Piece]:
        if self._finished:
            raise RuntimeError("feed() after finish()")
        block = np.asarray(block, np.float32).reshape(-1)
        self._total += block.size
        self._buf = np.concatenate([self._buf, block])
        data = np.concatenate([self._tail, block])
        count = data.size // FRAME
        self._tail = data[count * FRAME :]
        out: list[Piece] = []
        if count:
            probs = self._score(data[: count * FRAME].reshape(count, FRAME))
            self._probs = np.concatenate([self._probs, probs])
            for p in probs:
                out += self._step(float(p))
        self._trim()
        return out

    def finish(self) -> list[Piece]:
        """The last pieces once the recording has ended."""
        if self._finished:
            return []
        self._finished = True
        out: list[Piece] = []
        if self._tail.size:  # the last partial frame, zero-padded for scoring
            frame = np.zeros((1, FRAME), np.float32)
            frame[0, : self._tail.size] = self._tail
            probs = self._score(frame)
            self._probs = np.concatenate([self._probs, probs])
            out += self._step(float(probs[0]))
        if self._speaking:
            end = self._silence_start if self._silence_start is not None else self._frame
            out += self._end_region(self._region_start, end, next_start=None)
            self._speaking = False
        if self._group:
            out.append(self._close(next_start=None))
        return out

    # -- the state machine, one frame at a time ----------------------------------------------
    def _step(self, p: float) -> list[Piece]:
        s = self.settings
        index = self._frame
        self._frame += 1
        now = self._frame * FRAME  # end of this frame, in samples
        out: list[Piece] = []
        if not self._speaking:
            if p >= s.threshold:
                self._speaking, self._region_start, self._silence_start = True, index, None
            elif self._group and now - self._group[-1][1] * FRAME > self._gap:
                out.append(self._close(next_start=None))
            return out
        if p < s.neg_threshold:
            if self._silence_start is None:
                self._silence_start = index
            if index + 1 - self._silence_start >= self._min_silence_frames:
                out += self._end_region(self._region_start, self._silence_start, next_start=None)
                self._speaking = False
                return out
        else:
            self._silence_start = None
        # Still speaking: does the piece in the making outgrow max_piece?
        if self._group:
            if now + self._pad - self._piece_start(self._group[0][0]) > self._max:
                out.append(self._close(next_start=self._region_start))
        if not self._group:
            start = self._piece_start(self._region_start)
            if now + FRAME - start > self._max:
                out.append(self._forced_cut(start, now))
        return out

    def _piece_start(self, first_frame: int) -> int:
        return max(first_frame * FRAME - self._pad, self._floor, 0)

    def _end_region(self, start: int, end: int, next_start: int | None) -> list[Piece]:
        out: list[Piece] = []
        if (end - start) * FRAME < self._min_speech and not (start * FRAME <= self._floor):
            return out  # a click or breath, unless it continues a forced cut
        if self._group:
            span = end * FRAME + self._pad - self._piece_start(self._group[0][0])
            gap = (start - self._group[-1][1]) * FRAME
            if span > self._max or gap > self._gap:
                out.append(self._close(next_start=start))
        self._group.append((start, end))
        return out

    def _forced_cut(self, start: int, now: int) -> Piece:
        """Speech with no pause for max_piece: cut at the least speech-like frame of its second half."""
        first = max((start + self._max // 2) // FRAME, self._region_start + 1)
        last = now // FRAME - 1
        window = self._probs[first - self._probs_start : last - self._probs_start]
        # the latest of equally quiet frames: pieces as long as allowed, so fewer forced cuts
        cut = first + window.size - 1 - int(np.argmin(window[::-1])) if window.size else last
        end = cut * FRAME
        piece = self._extract(start, end, [(self._region_start * FRAME, end)], forced=True)
        self._region_start = cut
        return piece

    def _close(self, next_start: int | None) -> Piece:
        """Emit the open group as a piece; its end pad stops at the middle of the next pause."""
        first, last = self._group[0][0], self._group[-1][1]
        start = self._piece_start(first)
        pad = self._pad if next_start is None else min(self._pad, (next_start - last) * FRAME // 2)
        end = min(last * FRAME + pad, self._total)
        piece = self._extract(start, end, [(a * FRAME, b * FRAME) for a, b in self._group])
        self._group = []
        return piece

    def _extract(self, start: int, end: int, regions: list[tuple[int, int]], forced: bool = False) -> Piece:
        assert start >= self._buf_start, "segmenter dropped audio it still needed"
        samples = self._buf[start - self._buf_start : end - self._buf_start].copy()
        speech = [(max(a, start) / SAMPLING_RATE, min(b, end) / SAMPLING_RATE) for a, b in regions
                  if min(b, end) > max(a, start)]
        self._floor = end
        return Piece(start / SAMPLING_RATE, samples, speech, forced_end=forced)

    def _trim(self) -> None:
        """Forget audio no future piece can start in."""
        if self._group:
            keep = self._piece_start(self._group[0][0])
        elif self._speaking:
            keep = self._piece_start(self._region_start)
        else:
            keep = max(self._frame * FRAME - self._pad - FRAME, self._floor)
        keep = max(self._buf_start, min(keep, self._total))
        self._buf = self._buf[keep - self._buf_start :]
        self._buf_start = keep
        keep_frame = keep // FRAME
        if keep_frame > self._probs_start:
            self._probs = self._probs[keep_frame - self._probs_start :]
            self._probs_start = keep_frame


def segment_speech(blocks: Iterable[np.ndarray], settings: VadSettings | None = None,
                   probabilities=None) -> Iterator[Piece]:
    """Pieces of speech of at most `settings.max_piece` seconds, cut at silences, in order."""
    segmenter = SpeechSegmenter(settings, probabilities)
    for block in blocks:
        yield from segmenter.feed(block)
    yield from segmenter.finish()


def fixed_pieces(blocks: Iterable[np.ndarray], seconds: float = 30.0) -> Iterator[Piece]:
    """The blind cut: consecutive windows of `seconds`, wherever the words fall (a baseline)."""
    size = int(seconds * SAMPLING_RATE)
    buf = np.zeros(0, np.float32)
    start = 0
    for block in blocks:
        buf = np.concatenate([buf, np.asarray(block, np.float32)])
        while buf.size >= size:
            yield Piece(start / SAMPLING_RATE, buf[:size].copy(), [(start / SAMPLING_RATE, (start + size) / SAMPLING_RATE)])
            buf, start = buf[size:], start + size
    if buf.size:
        end = (start + buf.size) / SAMPLING_RATE
        yield Piece(start / SAMPLING_RATE, buf, [(start / SAMPLING_RATE, end)])


def energy_probabilities(threshold_db: float = -45.0):
    """A crude detector (frame RMS over `threshold_db` dBFS -> 1, else 0) for exact test audio."""
    limit = 10 ** (threshold_db / 20)

    def score(frames: np.ndarray) -> np.ndarray:
        rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
        return (rms > limit).astype(np.float32)

    return score


def speech_seconds(samples: np.ndarray, vad: SileroVad, settings: VadSettings | None = None) -> float:
    """How many seconds of `samples` (16 kHz) the detector scores as speech, from the start."""
    settings = settings or VadSettings()
    vad.reset()
    n = len(samples) // FRAME
    if n == 0:
        padded = np.zeros(FRAME, np.float32)
        padded[: len(samples)] = samples
        frames = padded[None]
    else:
        frames = np.ascontiguousarray(samples[: n * FRAME], dtype=np.float32).reshape(n, FRAME)
    probs = vad.frames(frames)
    return float((probs >= settings.threshold).sum()) * FRAME / SAMPLING_RATE
