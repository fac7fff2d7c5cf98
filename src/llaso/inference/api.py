"""`Llaso`: the Python API. Load a model by name or path, then chat, generate or batch."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from llaso.data.layout import LISTEN_PROMPT, Layout
from llaso.errors import LlasoError
from llaso.generation.engine import Engine, GenerationResult
from llaso.generation.sampling import SamplingParams
from llaso.model.modeling_llaso import LlasoForConditionalGeneration
from llaso.processing import EncodedConversation, LlasoProcessor

Messages = list[dict[str, Any]]


def _params(params: SamplingParams | None, overrides: dict[str, Any]) -> SamplingParams:
    if params is not None and overrides:
        raise TypeError("pass either params= or sampling keyword arguments, not both")
    return params or SamplingParams(**overrides)


class Llaso:
    """A loaded speech-language model with its processor and decoding engine."""

    def __init__(self, model: LlasoForConditionalGeneration, processor: LlasoProcessor,
                 audio_to_text: Callable[[Messages], Messages] | None = None) -> None:
        """`audio_to_text` turns audio parts into text before encoding (the cascade baseline)."""
        self.model = model
        self.processor = processor
        self.engine = Engine(model, processor)
        self.audio_to_text = audio_to_text

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = "llaso-tiny", *, device: str | None = None,
                        dtype: str | torch.dtype | None = None, encoder_mode: str | None = None,
                        fidelity: bool = False, audio_tower: str | os.PathLike | None = None,
                        home: str | os.PathLike | None = None) -> Llaso:
        """`name_or_path`: "llaso-tiny", a folder written by save_pretrained, a stage folder of
        `llaso train`, or an official LLaSO-Base checkpoint (see `llaso.checkpoints.load`);
        "cascade:NAME" is NAME's own Whisper transcribing each audio into its LLM as text.
        `fidelity=True` (or `encoder_mode="padded"`) encodes audio in padded 30 s windows, as
        LLaSO-Base does; `audio_tower` fills in an official checkpoint saved without its encoder."""
        from llaso.checkpoints import LoadOptions, load
        from llaso.inference import cascade

        if cascade.is_cascade(name_or_path):
            inner = cascade.inner_name(name_or_path)
            whisper = cascade.whisper_folder(inner, Path(home) if home is not None else None)
            model = cls.from_pretrained(inner, device=device, dtype=dtype, home=home)
            transcribe = cascade.transcriber_for(whisper, device)
            return cls(model.model, model.processor,
                       audio_to_text=lambda messages: cascade.audio_parts_as_text(messages, transcribe))
        options = LoadOptions(
            device=device, dtype=dtype, encoder_mode="padded" if fidelity else encoder_mode,
            audio_tower=Path(audio_tower) if audio_tower is not None else None,
            home=Path(home) if home is not None else None,
        )
        return cls(*load(name_or_path, options))

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """One self-describing folder: config, safetensors, tokenizer, features, template
        (and `lora/`, the LLM adapter, when the model keeps one apart from the LLM's weights)."""
        from llaso.checkpoints import save

        save(self.model, self.processor, path)

    # -- one conversation -----------------------------------------------------------------
    def encode(self, messages: Messages) -> EncodedConversation:
        """The prompt as the model reads it. A grounded model (`transcript_grounding`) encodes each
        audio once, lets its Whisper decoder write the transcript from those frames, and puts it
        beside the audio's tokens; the engine then projects the same frames."""
        if self.audio_to_text is not None:
            messages = self.audio_to_text(messages)
        encoded = self.processor.encode(messages, add_generation_prompt=True)
        if not (getattr(self.model.config, "transcript_grounding", False) and encoded.audio_features):
            return encoded
        from llaso.generation.grounding import ground

        return ground(self.model, self.processor, messages, encoded)

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

    def generate(self, instruction: str | None = None, audio: Any = None, params: SamplingParams | None = None,
                 *, layout: str | Layout = Layout.TEXT_AUDIO, long_audio: str = "error", **sampling: Any) -> str:
        """One user turn about `audio` (path, bytes or array; or a list of them), in a LLaSO
        layout (see `user_message`): by default the instruction is text, then the audio."""
        return self.chat([user_message(instruction, audio, layout=layout)], params, long_audio=long_audio, **sampling)

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

    def ask(self, index: Any, audio: Any = None, question: str | None = None, **options: Any) -> Any:
        """Answer from your documents with citations: `llaso.features.retrieval.ask`."""
        from llaso.features.retrieval import ask

        return ask(self, index, audio=audio, question=question, **options)


def _long_audio(value: str) -> str:
    from llaso.inference.longform import check_long_audio

    return check_long_audio(value)


def user_message(instruction: str | None, audio: Any = None,
                 layout: str | Layout = Layout.TEXT_AUDIO) -> dict[str, Any]:
    """A user turn in one of LLaSO's layouts, the order every LLaSO model was trained on:

    - "t,a" (default): the text is the instruction about the audio: `instruction<audio>`;
    - "a,t": the audio is a spoken instruction, the text its input: `<audio>text`;
    - "a": everything is in the audio; without a text, LLaSO's listening prompt goes first.
    Audio alone with no layout given is "a"."""
    layout = Layout.parse(layout)
    audios = audio if isinstance(audio, (list, tuple)) else ([audio] if audio is not None else [])
    parts = [{"type": "audio", "path": os.fspath(a)} if isinstance(a, (str, os.PathLike))
             else {"type": "audio", "audio": a} for a in audios]
    if not parts and not instruction:
        raise LlasoError("give an instruction, audio, or both")
    if parts and not instruction:
        layout = Layout.AUDIO
        instruction = LISTEN_PROMPT
    text = [{"type": "text", "text": instruction}] if instruction else []
    content = parts + text if layout is Layout.AUDIO_TEXT else text + parts
    return {"role": "user", "content": content}
