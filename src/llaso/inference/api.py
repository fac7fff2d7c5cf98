"""`Llaso`: the Python API. Load a model by name or path, then chat, generate or batch."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from llaso.errors import LlasoError, ModelNotFoundError
from llaso.inference.device import select_device, select_dtype
from llaso.inference.engine import Engine, GenerationResult
from llaso.inference.sampling import SamplingParams
from llaso.model.modeling_llaso import LlasoForConditionalGeneration
from llaso.processing import EncodedConversation, LlasoProcessor

Messages = list[dict[str, Any]]


def _params(params: SamplingParams | None, overrides: dict[str, Any]) -> SamplingParams:
    if params is not None and overrides:
        raise TypeError("pass either params= or sampling keyword arguments, not both")
    return params or SamplingParams(**overrides)


def load_model(name_or_path: str | os.PathLike, *, home: Path | None = None,
               encoder_mode: str | None = None) -> tuple[LlasoForConditionalGeneration, LlasoProcessor]:
    """Resolve a catalog name, a llaso checkpoint, a llaso-tiny stage output of `llaso train`
    or an official LLaSO-Base directory."""
    from llaso.model.catalog import EMBEDDED, detect_checkpoint_kind

    name = os.fspath(name_or_path)
    if name == "llaso-tiny":
        from llaso.model.embedded import load_llaso_tiny

        return load_llaso_tiny(home, encoder_mode=encoder_mode)
    path = Path(name).expanduser()
    if not path.exists() and home is not None and (home / "models" / name).exists():
        path = home / "models" / name
    if path.is_dir():
        from llaso.model.embedded import is_stage_export, load_llaso_tiny
        from llaso.model.stage_files import PROJECTOR_FILE

        if is_stage_export(path):
            return load_llaso_tiny(home, encoder_mode=encoder_mode, weights=path)
        if (path / PROJECTOR_FILE).is_file() and not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"{path} is a stage output on base models other than llaso-tiny's: write a full "
                f"checkpoint with `llaso train --export {path} --to OUT --merge` and load OUT"
            )
    kind = detect_checkpoint_kind(path) if path.is_dir() else None
    if kind == "llaso":
        from llaso.model.adapter import adapter_folder, attach_adapter

        model = LlasoForConditionalGeneration.from_pretrained(path, dtype=torch.float32)
        processor = LlasoProcessor.from_pretrained(path)
        adapter = adapter_folder(path)
        if adapter is not None:
            model.language_model = attach_adapter(model.language_model, adapter,
                                                  keep_apart=model.config.base_llm_for_text_only)
        return model.eval(), processor
    if kind == "llava_llama":
        from llaso.model.convert.llaso_base import load_official_as_llaso

        return load_official_as_llaso(path)
    known = ", ".join(n for n in EMBEDDED if n != "whisper-tiny.en")
    raise ModelNotFoundError(
        f"no model {name!r}: pass one of [{known}], a llaso checkpoint directory, a llaso-tiny stage "
        "output of `llaso train`, or an official LLaSO-Base directory (see `llaso models`)"
    )


class Llaso:
    """A loaded speech-language model with its processor and decoding engine."""

    def __init__(self, model: LlasoForConditionalGeneration, processor: LlasoProcessor) -> None:
        self.model = model
        self.processor = processor
        self.engine = Engine(model, processor)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = "llaso-tiny", *, device: str | None = None,
                        dtype: str | torch.dtype | None = None, encoder_mode: str | None = None,
                        home: str | os.PathLike | None = None) -> "Llaso":
        """`name_or_path`: "llaso-tiny", a directory written by save_pretrained, a llaso-tiny
        stage output of `llaso train` (or its export), or an official LLaSO-Base checkpoint. `encoder_mode="padded"` forces Whisper's 30 s padding."""
        from llaso.model.base_weights import llaso_home

        home_path = Path(home) if home is not None else llaso_home()
        model, processor = load_model(name_or_path, home=home_path, encoder_mode=encoder_mode)
        target = select_device(device)
        model = model.to(device=target, dtype=select_dtype(dtype, target))
        return cls(model, processor)

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """One self-describing directory: config, safetensors, tokenizer, features, template
        (and `lora/`, the LLM adapter, when the model keeps one apart from the LLM's weights)."""
        from llaso.model.adapter import ADAPTER_DIR, attach_adapter, has_adapter, save_adapter

        path = Path(path)
        lm = self.model.language_model
        if not has_adapter(lm):
            self.model.save_pretrained(path, safe_serialization=True)
        else:  # base weights without the adapter's layers, then the adapter beside them
            path.mkdir(parents=True, exist_ok=True)
            save_adapter(lm, path / ADAPTER_DIR)
            first = next(lm.parameters())
            self.model.language_model = lm.unload()
            try:
                self.model.save_pretrained(path, safe_serialization=True)
            finally:
                restored = attach_adapter(self.model.language_model, path / ADAPTER_DIR, keep_apart=True)
                self.model.language_model = restored.to(device=first.device, dtype=first.dtype)
        self.processor.save_pretrained(path)

    # -- one conversation -----------------------------------------------------------------
    def encode(self, messages: Messages) -> EncodedConversation:
        return self.processor.encode(messages, add_generation_prompt=True)

    def chat(self, messages: Messages, params: SamplingParams | None = None, *, long_audio: str = "error",
             **sampling: Any) -> str:
        """The assistant's answer to the conversation so far. Audio over the model's budget
        (`audio_budget_seconds`) is refused unless `long_audio="map_reduce"` (llaso.inference.longform)."""
        if _long_audio(long_audio) == "map_reduce":
            from llaso.inference.longform import answer_long

            return answer_long(self, messages, _params(params, sampling)).text
        result = self.engine.generate([self.encode(messages)], _params(params, sampling))[0]
        return result.text or ""

    def stream_chat(self, messages: Messages, params: SamplingParams | None = None, *, long_audio: str = "error",
                    **sampling: Any) -> Iterator[str]:
        if _long_audio(long_audio) == "map_reduce":
            from llaso.inference.longform import stream_long

            return stream_long(self, messages, _params(params, sampling))
        return self.engine.stream(self.encode(messages), _params(params, sampling))

    def generate(self, instruction: str | None = None, audio: Any = None,
                 params: SamplingParams | None = None, *, long_audio: str = "error", **sampling: Any) -> str:
        """One user turn: audio (path, bytes or array; or a list of them) then the instruction."""
        return self.chat([user_message(instruction, audio)], params, long_audio=long_audio, **sampling)

    # -- long recordings (llaso.inference.longform, .transcribe; llaso.features.meeting) --------
    @property
    def audio_budget_seconds(self) -> float:
        """The longest audio one conversation may carry (30 s windows x max_audio_windows)."""
        from llaso.inference.longform import budget_seconds

        return budget_seconds(self)

    def transcribe(self, audio: Any, **options: Any) -> Any:
        """Whisper's transcript of a recording of any length (a Transcript with timed
        `.segments`; a list for a list of inputs). Options: see WhisperTranscriber.transcribe."""
        if getattr(self, "_whisper", None) is None:
            from llaso.inference.transcribe import WhisperTranscriber

            self._whisper = WhisperTranscriber.from_pretrained()
        many = isinstance(audio, (list, tuple))
        results = self._whisper.transcribe(list(audio) if many else [audio], **options)
        return results if many else results[0]

    def meeting(self, recording: Any, **options: Any) -> Any:
        """A MeetingReport (transcript, speaker turns, summary, decisions, action items, tone per
        turn): options are MeetingOptions fields (speakers=N, summary=, tone=, ...)."""
        from llaso.features.meeting.pipeline import MeetingOptions, run_meeting

        if getattr(self, "_whisper", None) is None:
            from llaso.inference.transcribe import WhisperTranscriber

            self._whisper = WhisperTranscriber.from_pretrained()
        return run_meeting(recording, model=self, transcriber=self._whisper, options=MeetingOptions(**options))

    # -- many conversations ---------------------------------------------------------------
    def chat_batch(self, conversations: Sequence[Messages], params: SamplingParams | None = None,
                   batch_size: int = 8) -> list[GenerationResult]:
        """Answers in input order; a conversation whose input fails gets `.error`, not an exception."""
        params = params or SamplingParams()
        results: list[GenerationResult | None] = [None] * len(conversations)
        ready: list[tuple[int, EncodedConversation]] = []
        for index, messages in enumerate(conversations):
            try:
                ready.append((index, self.encode(messages)))
            except LlasoError as exc:
                results[index] = GenerationResult(text=None, error=str(exc))
        # Similar lengths together: less padding, and order is restored below.
        ready.sort(key=lambda pair: len(pair[1].input_ids))
        for start in range(0, len(ready), batch_size):
            chunk = ready[start : start + batch_size]
            for (index, _), result in zip(chunk, self.engine.generate([item for _, item in chunk], params)):
                results[index] = result
        return [r for r in results if r is not None]


def _long_audio(value: str) -> str:
    from llaso.inference.longform import check_long_audio

    return check_long_audio(value)


def user_message(instruction: str | None, audio: Any = None) -> dict[str, Any]:
    """A user turn with audio parts first, then the instruction (LLaSO's "<audio>\\ntext")."""
    audios = audio if isinstance(audio, (list, tuple)) else ([audio] if audio is not None else [])
    content: list[dict[str, Any]] = []
    for item in audios:
        if isinstance(item, (str, os.PathLike)):
            content.append({"type": "audio", "path": os.fspath(item)})
        else:
            content.append({"type": "audio", "audio": item})
    if instruction:
        content.append({"type": "text", "text": instruction})
    if not content:
        raise LlasoError("give an instruction, audio, or both")
    return {"role": "user", "content": content}
