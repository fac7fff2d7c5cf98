"""LlasoProcessor: messages -> token ids with expanded audio slots, log-mel features, labels.

The one prompt builder: inference, batch runs, evaluation and training all call `encode`.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llaso.audio import SAMPLING_RATE, load_audio, split_windows
from llaso.audio.windows import WINDOW_SECONDS
from llaso.errors import LlasoError, PlaceholderMismatchError
from llaso.model.encoders import AudioEncoder, encoder_for
from llaso.model.projector import stacked_length
from llaso.processing.features import pad_features
from llaso.processing.messages import AudioRef, flatten_messages

PROCESSOR_CONFIG = "processor_config.json"
CHAT_TEMPLATE_FILE = "chat_template.jinja"
TRANSCRIPT_TOKENIZER_DIR = "transcript_tokenizer"
IGNORE_INDEX = -100


def default_chat_template() -> str:
    """ChatML without a default system prompt: short prompts make every training step count."""
    return resources.files("llaso.processing").joinpath("templates/chatml.jinja").read_text()


@dataclass
class EncodedConversation:
    input_ids: list[int]
    labels: list[int] | None
    audio_features: list[torch.Tensor] = field(default_factory=list)  # [C, T] each
    audio_token_counts: list[int] = field(default_factory=list)  # per window
    encoder_outputs: list[torch.Tensor] | None = None
    """Encoder frames per window when they were already computed (say, to transcribe the audio
    for the prompt): the engine then projects these instead of encoding the features again."""
    windows_per_audio: list[int] = field(default_factory=list)  # how the windows split into audios
    window_speech: list[bool] = field(default_factory=list)
    """Per window, whether a voice-activity detector heard speech (grounded models only): a
    window without speech gets no transcript, so the decoder cannot invent one."""


@dataclass
class ProcessorSettings:
    audio_token: str = "<|audio|>"
    stack_factor: int = 4
    summary_token: bool = False
    encoder_mode: str = "trimmed"
    max_audio_windows: int = 4
    audio_start_text: str = ""
    audio_end_text: str = ""
    transcript_grounding: bool = False
    """Each audio's transcript is written beside its tokens (see `encode(transcripts=...)`)."""
    transcript_template: str = '\n(transcript: "{text}")'
    no_speech_text: str = "\n(no speech)"
    """What stands beside an audio whose transcript is empty (silence, noise, music)."""
    min_speech_seconds: float = 0.15
    """A window with less detected speech is not transcribed (grounded models)."""


def _sub_config(path: Path, key: str) -> Any:
    """A sub-model config (`text_config`, `audio_config`) of a saved llaso checkpoint's
    config.json, as a transformers config; None when the folder holds no llaso config."""
    from transformers import AutoConfig

    config_file = path / "config.json"
    data = json.loads(config_file.read_text()) if config_file.is_file() else {}
    if data.get("model_type") != "llaso" or not isinstance(data.get(key), dict):
        return None
    sub = dict(data[key])
    return AutoConfig.for_model(sub.pop("model_type"), **sub)


def _default_audio_config(feature_extractor: Any) -> Any:
    """Whisper's config for a processor saved before it recorded its encoder."""
    from transformers import WhisperConfig

    return WhisperConfig(num_mel_bins=getattr(feature_extractor, "feature_size", 80))


class LlasoProcessor:
    """Feature extractor + tokenizer + chat template, saved with every checkpoint.

    `audio_config` (the encoder's transformers config) picks the encoder family, which says
    how a window of samples becomes features and how many audio tokens they cost.
    """

    def __init__(self, tokenizer: Any, feature_extractor: Any, chat_template: str | None = None,
                 settings: ProcessorSettings | None = None, audio_config: Any = None,
                 transcript_tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer
        self.transcript_tokenizer = transcript_tokenizer  # Whisper's, for grounded prompts
        self.feature_extractor = feature_extractor
        self.chat_template = chat_template or default_chat_template()
        self.settings = settings or ProcessorSettings()
        self.audio_config = audio_config if audio_config is not None else _default_audio_config(feature_extractor)
        self.encoder: AudioEncoder = encoder_for(self.audio_config)
        if self.settings.audio_token not in tokenizer.get_vocab():
            tokenizer.add_special_tokens({"additional_special_tokens": [self.settings.audio_token]})
        self.audio_token_id: int = tokenizer.convert_tokens_to_ids(self.settings.audio_token)

    # -- persistence ----------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> LlasoProcessor:
        from transformers import AutoConfig, AutoTokenizer

        path = Path(path)
        stored = json.loads((path / PROCESSOR_CONFIG).read_text())
        audio = stored.pop("audio_config", None)
        audio_config = (AutoConfig.for_model(audio.pop("model_type"), **audio) if isinstance(audio, dict)
                        else _sub_config(path, "audio_config"))
        settings = ProcessorSettings(**stored)
        template_file = path / CHAT_TEMPLATE_FILE
        template = template_file.read_text() if template_file.exists() else None
        # AutoTokenizer would read config.json, not know the `llaso` type, and warn on every load.
        tokenizer = AutoTokenizer.from_pretrained(path, config=_sub_config(path, "text_config"))
        if audio_config is None:
            from transformers import WhisperFeatureExtractor

            feature_extractor = WhisperFeatureExtractor.from_pretrained(path)
            audio_config = _default_audio_config(feature_extractor)
        else:
            feature_extractor = encoder_for(audio_config).feature_extractor(path)
        transcript_dir = path / TRANSCRIPT_TOKENIZER_DIR
        transcript_tokenizer = AutoTokenizer.from_pretrained(transcript_dir) if transcript_dir.is_dir() else None
        return cls(tokenizer, feature_extractor, template, settings, audio_config, transcript_tokenizer)

    def save_pretrained(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(path)
        self.feature_extractor.save_pretrained(path)
        if self.transcript_tokenizer is not None:
            self.transcript_tokenizer.save_pretrained(path / TRANSCRIPT_TOKENIZER_DIR)
        (path / CHAT_TEMPLATE_FILE).write_text(self.chat_template)
        stored = {**self.settings.__dict__, "audio_config": self.audio_config.to_diff_dict()}
        stored["audio_config"]["model_type"] = self.audio_config.model_type
        (path / PROCESSOR_CONFIG).write_text(json.dumps(stored, indent=2) + "\n")

    # -- audio ----------------------------------------------------------------------------
    @property
    def max_audio_seconds(self) -> float:
        return self.settings.max_audio_windows * WINDOW_SECONDS

    def load(self, ref: AudioRef) -> np.ndarray:
        return load_audio(ref.source, source_rate=ref.sampling_rate, max_seconds=self.max_audio_seconds, name=ref.name)

    def featurize(self, samples: np.ndarray, name: str = "<audio>") -> list[tuple[torch.Tensor, int]]:
        """16 kHz samples -> (features [C, T], audio token count) per 30 s window.

        Padded mode cuts windows as the official LLaSO code does (see `split_windows`)."""
        s = self.settings
        windows = split_windows(samples, max_windows=s.max_audio_windows, name=name,
                                official=s.encoder_mode == "padded")
        out = []
        for window in windows:
            encoded = self.encoder.featurize(self.feature_extractor, window, s.encoder_mode, s.stack_factor)
            out.append((encoded.features, stacked_length(encoded.num_frames, s.stack_factor, s.summary_token)))
        return out

    def audio_token_count(self, seconds: float) -> int:
        """Tokens a clip of `seconds` costs, without decoding it (for budgets and stats)."""
        return sum(n for _, n in self.featurize(np.zeros(max(1, int(seconds * SAMPLING_RATE)), np.float32)))

    # -- text -----------------------------------------------------------------------------
    def render(self, turns: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(
            turns, chat_template=self.chat_template, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def _segments(self, turns: list[dict[str, str]], add_generation_prompt: bool, with_labels: bool) -> list[tuple[str, bool]]:
        """The prompt text cut into (text, is_assistant_output) pieces."""
        full = self.render(turns, add_generation_prompt)
        if not with_labels:
            return [(full, False)]
        segments: list[tuple[str, bool]] = []
        position = 0
        for index, turn in enumerate(turns):
            if turn["role"] != "assistant":
                continue
            start = len(self.render(turns[:index], True))
            through = self.render(turns[: index + 1], False)
            if not full.startswith(through) or start > len(through):
                raise LlasoError("the chat template does not render conversations as growing prefixes")
            segments += [(full[position:start], False), (full[start : len(through)], True)]
            position = len(through)
        segments.append((full[position:], False))
        return [s for s in segments if s[0]]

    def transcript_text(self, transcript: str) -> str:
        """What follows an audio's tokens in a grounded prompt."""
        words = " ".join(transcript.replace(self.settings.audio_token, " ").split())
        if not words:
            return self.settings.no_speech_text
        return self.settings.transcript_template.format(text=words.replace('"', "'"))

    def encode(self, messages: list[dict[str, Any]], add_generation_prompt: bool = True,
               with_labels: bool = False, transcripts: list[str] | None = None,
               audio: list[list[tuple[torch.Tensor, int]]] | None = None) -> EncodedConversation:
        """Messages -> ids with each audio slot expanded to its token count, plus features.

        `transcripts` (one per audio, in order) are written after each audio's tokens, as a
        grounded model reads them; `audio` reuses the features of an earlier `encode` of the
        same messages (its `audio_windows`) instead of decoding the audio again."""
        s = self.settings
        slot = s.audio_start_text + s.audio_token + s.audio_end_text
        audio_text: str | list[str] = slot
        if transcripts is not None:
            audio_text = [slot + self.transcript_text(t) for t in transcripts]
        flat = flatten_messages(messages, s.audio_token, audio_text, self.control_tokens)
        if transcripts is not None and len(transcripts) != len(flat.audios):
            raise PlaceholderMismatchError(f"{len(transcripts)} transcripts for {len(flat.audios)} audios")
        per_audio: list[list[tuple[torch.Tensor, int]]] = []
        speech: list[bool] = []
        if audio is not None:
            per_audio = audio
        else:
            for ref in flat.audios:
                name = ref.name or (str(ref.source) if isinstance(ref.source, (str, os.PathLike)) else None)
                samples = self.load(ref)
                per_audio.append(self.featurize(samples, name=name or "<audio>"))
                if s.transcript_grounding:
                    speech += self.speech_in_windows(samples, len(per_audio[-1]))

        input_ids: list[int] = []
        labels: list[int] = []
        audio_index = 0
        for text, is_output in self._segments(flat.turns, add_generation_prompt, with_labels):
            for token in self.tokenizer(text, add_special_tokens=False)["input_ids"]:
                if token == self.audio_token_id:
                    if audio_index >= len(per_audio):
                        raise PlaceholderMismatchError("more audio placeholders than audios")
                    count = sum(n for _, n in per_audio[audio_index])
                    audio_index += 1
                    input_ids += [token] * count
                    labels += [IGNORE_INDEX] * count
                else:
                    input_ids.append(token)
                    labels.append(token if is_output else IGNORE_INDEX)
        if audio_index != len(per_audio):
            raise PlaceholderMismatchError(
                f"{len(per_audio)} audios but {audio_index} audio placeholders in the rendered prompt; "
                "the chat template may drop message content"
            )
        windows = [w for item in per_audio for w in item]
        return EncodedConversation(
            input_ids=input_ids,
            labels=labels if with_labels else None,
            audio_features=[mel for mel, _ in windows],
            audio_token_counts=[n for _, n in windows],
            windows_per_audio=[len(item) for item in per_audio],
            window_speech=speech,
        )

    def speech_in_windows(self, samples: np.ndarray, count: int) -> list[bool]:
        """Whether each of the `count` windows of `samples` holds speech (Silero VAD)."""
        from llaso.audio.vad import SileroVad, speech_seconds

        if getattr(self, "_vad", None) is None:
            self._vad = SileroVad()
        official = self.settings.encoder_mode == "padded"
        windows = split_windows(samples, max_windows=max(count, 1), official=official)
        return [speech_seconds(w, self._vad) >= self.settings.min_speech_seconds for w in windows]

    @staticmethod
    def audio_windows(encoded: EncodedConversation) -> list[list[tuple[torch.Tensor, int]]]:
        """An encoding's (features, token count) windows grouped by audio, for `encode(audio=)`."""
        out, at = [], 0
        for n in encoded.windows_per_audio:
            out.append(list(zip(encoded.audio_features[at : at + n], encoded.audio_token_counts[at : at + n])))
            at += n
        return out

    @functools.cached_property
    def control_tokens(self) -> list[str]:
        """The tokenizer's special tokens other than the audio token: text never writes them
        (computed once: the tokenizer and the audio token do not change)."""
        tok = self.tokenizer
        found = set(tok.all_special_tokens) | {t.content for t in tok.added_tokens_decoder.values() if t.special}
        return sorted(found - {self.settings.audio_token}, key=len, reverse=True)

    @property
    def pad_token_id(self) -> int:
        tok = self.tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def collate(self, batch: list[EncodedConversation], padding_side: str = "left") -> dict[str, torch.Tensor | None]:
        """Pad a batch: ids and masks on `padding_side`, audio windows right-padded in time."""
        width = max(len(item.input_ids) for item in batch)
        ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        has_labels = all(item.labels is not None for item in batch)
        labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long) if has_labels else None
        for row, item in enumerate(batch):
            n = len(item.input_ids)
            span = slice(width - n, width) if padding_side == "left" else slice(0, n)
            ids[row, span] = torch.tensor(item.input_ids, dtype=torch.long)
            mask[row, span] = 1
            if labels is not None:
                labels[row, span] = torch.tensor(item.labels, dtype=torch.long)
        windows = [mel for item in batch for mel in item.audio_features]
        features, feature_mask = pad_features(windows) if windows else (None, None)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "labels": labels,
            "input_features": features,
            "feature_attention_mask": feature_mask,
        }

    def decode(self, ids: list[int] | torch.Tensor, skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
