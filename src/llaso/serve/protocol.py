"""OpenAI's wire format: request bodies checked field by field, responses built to its schema.

The top-level parameters are a pydantic model (strict types: `"12"` is not a number); the
messages are walked by hand so that each refusal names its place, e.g.
`messages[1].content[0].input_audio.format`, as OpenAI's own errors do.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from llaso.serve.audio_input import AudioBlob, decode_base64, parse_audio_url, probe
from llaso.serve.errors import ApiError
from llaso.serve.settings import Limits

MAX_SEED = 2**63 - 1
# Parameters OpenAI clients send that this server does not implement: refused, never ignored,
# when they ask for something (a value other than the neutral one).
UNSUPPORTED_UNLESS_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "tools": (None, []), "tool_choice": (None, "none", "auto"), "functions": (None, []),
    "function_call": (None, "none", "auto"), "logprobs": (None, False), "top_logprobs": (None, 0),
    "logit_bias": (None, {}), "frequency_penalty": (None, 0, 0.0), "presence_penalty": (None, 0, 0.0),
    "modalities": (None, ["text"]), "audio": (None,), "prediction": (None,), "web_search_options": (None,),
}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: StrictBool = False


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions parameters; unknown extra fields are ignored as OpenAI SDKs add new ones."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr = Field(min_length=1)
    messages: list[Any] = Field(min_length=1)
    max_tokens: StrictInt | None = None
    max_completion_tokens: StrictInt | None = None
    temperature: StrictFloat | StrictInt | None = None
    top_p: StrictFloat | StrictInt | None = None
    seed: StrictInt | None = None
    stop: StrictStr | list[StrictStr] | None = None
    n: StrictInt | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    user: StrictStr | None = None


class TranscriptionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: StrictStr = Field(min_length=1)
    language: StrictStr | None = None
    prompt: StrictStr | None = None
    response_format: Literal["json", "text", "srt", "vtt", "verbose_json"] = "json"
    temperature: float = Field(0.0, ge=0.0, le=1.0)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """The body as JSON, or a 400 that says why not (no NaN, no 10,000-deep nesting)."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text", "invalid_json") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                       "invalid_json") from None
    except ValueError as exc:  # NaN/Infinity, or an integer past Python's digit limit
        raise ApiError(400, f"the body is not valid JSON ({exc})", "invalid_json") from None
    except RecursionError:
        raise ApiError(400, "the body is not valid JSON (nested too deeply)", "invalid_json") from None


def validation_error(exc: ValidationError) -> ApiError:
    first = exc.errors()[0]
    param = ".".join(str(p) for p in first["loc"]) or None
    got = first.get("input")
    shown = "" if first["type"] == "missing" else f" (got {type(got).__name__} {_short(got)})"
    return ApiError(400, f"{param}: {first['msg']}{shown}", "invalid_value" if first["type"] != "missing"
                    else "missing_field", param=param)


def _short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def parse_model(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, not {type(data).__name__}", "invalid_request")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


# ------------------------------------------------------------------------ chat parameters
@dataclass(frozen=True)
class Decoding:
    """Per-request decoding settings, resolved against the limits."""

    max_tokens: int
    max_tokens_given: bool
    temperature: float
    top_p: float
    seed: int | None
    stop: tuple[str, ...]

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def decoding_from(request: ChatCompletionRequest, limits: Limits) -> Decoding:
    extras = request.model_extra or {}
    for name, neutral in UNSUPPORTED_UNLESS_NEUTRAL.items():
        if name in extras and extras[name] not in neutral:
            raise ApiError(400, f"{name} is not supported by this server", "unsupported_parameter", param=name)
    if request.n is not None and request.n != 1:
        raise ApiError(400, f"n must be 1 (got {request.n}): this server returns one choice per request",
                       "unsupported_parameter", param="n")
    if request.max_tokens is not None and request.max_completion_tokens is not None \
            and request.max_tokens != request.max_completion_tokens:
        raise ApiError(400, "max_tokens and max_completion_tokens disagree; give one", "invalid_value", param="max_tokens")
    asked = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    param = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    if asked is not None and asked < 1:
        raise ApiError(400, f"{param} must be at least 1 (got {asked})", "invalid_value", param=param)
    if asked is not None and asked > limits.max_tokens:
        raise ApiError(400, f"{param} is {asked}; the limit is {limits.max_tokens} (max_tokens)",
                       "max_tokens_too_large", param=param)
    temperature = 0.0 if request.temperature is None else float(request.temperature)
    if not (math.isfinite(temperature) and 0.0 <= temperature <= 2.0):
        raise ApiError(400, f"temperature must be between 0 and 2 (got {temperature})", "invalid_value", param="temperature")
    top_p = 1.0 if request.top_p is None else float(request.top_p)
    if not (math.isfinite(top_p) and 0.0 < top_p <= 1.0):
        raise ApiError(400, f"top_p must be in (0, 1] (got {top_p})", "invalid_value", param="top_p")
    if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
        raise ApiError(400, f"seed must be between 0 and 2**63-1 (got {request.seed})", "invalid_value", param="seed")
    stops = (request.stop,) if isinstance(request.stop, str) else tuple(request.stop or ())
    if len(stops) > limits.max_stop:
        raise ApiError(400, f"{len(stops)} stop strings; the limit is {limits.max_stop} (max_stop)",
                       "too_many_stop", param="stop")
    if any(not s for s in stops):
        raise ApiError(400, "stop strings must not be empty", "invalid_value", param="stop")
    if any(len(s) > 256 for s in stops):
        raise ApiError(400, "stop strings are at most 256 characters", "invalid_value", param="stop")
    return Decoding(max_tokens=asked or limits.default_max_tokens, max_tokens_given=asked is not None,
                    temperature=temperature, top_p=top_p, seed=request.seed, stop=stops)


# ------------------------------------------------------------------------------ messages
@dataclass
class Conversation:
    """The request's messages in llaso's format; audio parts get their samples once decoded."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    audio_parts: list[tuple[dict[str, Any], AudioBlob, str]] = field(default_factory=list)  # part, blob, param
    text_chars: int = 0

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_parts)

    def text_for_log(self) -> str:
        return " | ".join(f"{m['role']}: " + (m["content"] if isinstance(m["content"], str) else " ".join(
            p.get("text", "<audio>") for p in m["content"])) for m in self.messages)


def _text(value: Any, where: str, param: str) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"{where}: text must be a string (got {type(value).__name__})", "invalid_type", param=param)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"{where}: the text is not valid Unicode (a lone surrogate)", "invalid_value",
                       param=param) from None
    return value


ROLE_MAP = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
PART_TYPES = ("text", "input_audio", "audio_url")


def build_conversation(raw_messages: list[Any], limits: Limits) -> Conversation:
    """OpenAI messages -> llaso messages; audio checked from its header, not yet decoded."""
    conversation = Conversation()
    for index, message in enumerate(raw_messages):
        where, param = f"messages[{index}]", f"messages.{index}"
        if not isinstance(message, dict):
            raise ApiError(400, f"{where}: a message is an object with role and content", "invalid_type", param=param)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLE_MAP:
            hint = " (tool calls are not supported)" if role in ("tool", "function") else ""
            raise ApiError(400, f"{where}: role must be one of system, developer, user, assistant; got "
                           f"{_short(role)}{hint}", "invalid_value", param=f"{param}.role")
        if message.get("tool_calls") or message.get("function_call"):
            raise ApiError(400, f"{where}: tool calls are not supported", "unsupported_parameter", param=f"{param}.tool_calls")
        content = message.get("content")
        ours = ROLE_MAP[role]
        if isinstance(content, str):
            conversation.text_chars += len(_text(content, where, f"{param}.content"))
            conversation.messages.append({"role": ours, "content": content})
            continue
        if not isinstance(content, list) or (not content and ours == "user"):
            raise ApiError(400, f"{where}: content must be a string or a non-empty list of parts", "invalid_type",
                           param=f"{param}.content")
        parts: list[dict[str, Any]] = []
        for number, part in enumerate(content):
            pwhere, pparam = f"{where}.content[{number}]", f"{param}.content.{number}"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in PART_TYPES:
                raise ApiError(400, f"{pwhere}: content part type {_short(kind)} is not supported "
                               f"(use {', '.join(PART_TYPES)})", "unsupported_content_part", param=f"{pparam}.type")
            if kind == "text":
                text = _text(part.get("text"), pwhere, f"{pparam}.text")
                conversation.text_chars += len(text)
                parts.append({"type": "text", "text": text})
                continue
            if ours != "user":
                raise ApiError(400, f"{pwhere}: audio is accepted in user messages only", "invalid_value", param=pparam)
            if len(conversation.audio_parts) >= limits.max_audios:
                raise ApiError(400, f"more than {limits.max_audios} audio parts; the limit is {limits.max_audios} "
                               "(max_audios)", "too_many_audios", param=pparam)
            if kind == "input_audio":
                spec = part.get("input_audio")
                if not isinstance(spec, dict):
                    raise ApiError(400, f"{pwhere}: input_audio must be an object with data and format",
                                   "invalid_type", param=f"{pparam}.input_audio")
                declared = spec.get("format")
                if not isinstance(declared, str):
                    raise ApiError(400, f"{pwhere}: input_audio.format is required (wav, mp3, flac or ogg)",
                                   "missing_field", param=f"{pparam}.input_audio.format")
                data = decode_base64(spec.get("data"), pwhere, f"{pparam}.input_audio.data")
                blob = probe(data, declared.lower(), pwhere, f"{pparam}.input_audio.format")
                blob_param = f"{pparam}.input_audio.data"
            else:
                spec = part.get("audio_url")
                url = spec.get("url") if isinstance(spec, dict) else spec
                data, declared = parse_audio_url(url, pwhere, f"{pparam}.audio_url.url")
                blob = probe(data, declared, pwhere, f"{pparam}.audio_url.url")
                blob_param = f"{pparam}.audio_url.url"
            llaso_part = {"type": "audio", "audio": None, "sampling_rate": 16000, "name": pwhere}
            parts.append(llaso_part)
            conversation.audio_parts.append((llaso_part, blob, blob_param))
        conversation.messages.append({"role": ours, "content": parts})
    if conversation.text_chars > limits.max_text_chars:
        raise ApiError(400, f"the messages hold {conversation.text_chars} characters of text; the limit is "
                       f"{limits.max_text_chars} (max_text_chars)", "text_too_long", param="messages")
    first = next((m["role"] for m in conversation.messages if m["role"] != "system"), None)
    if first != "user":
        raise ApiError(400, "the first message that is not a system message must come from the user",
                       "invalid_value", param="messages")
    return conversation


# ----------------------------------------------------------------------------- responses
def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chat_completion(cid: str, model: str, content: str, finish_reason: str, prompt_tokens: int,
                    completion_tokens: int) -> dict[str, Any]:
    return {
        "id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason, "logprobs": None}],
        "usage": usage(prompt_tokens, completion_tokens),
    }


def chunk(cid: str, model: str, created: int, delta: dict[str, Any] | None, finish_reason: str | None = None,
          with_usage: dict[str, int] | None = None, include_usage: bool = False) -> str:
    """One SSE event: `data: {...}\\n\\n` (a usage chunk has `choices: []`)."""
    body: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
    if delta is None:
        body["choices"] = []
    else:
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
    if with_usage is not None:
        body["usage"] = with_usage
    elif include_usage:
        body["usage"] = None
    return "data: " + json.dumps(body, ensure_ascii=False) + "\n\n"


SSE_DONE = "data: [DONE]\n\n"


def sse_error(error: ApiError) -> str:
    return "data: " + json.dumps(error.body()) + "\n\n"
