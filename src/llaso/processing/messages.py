"""Chat messages with audio parts -> (role, text with placeholders) turns plus the audios."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llaso.errors import LlasoError, PlaceholderMismatchError

ROLES = ("system", "user", "assistant")


@dataclass
class AudioRef:
    """One audio part of a message: a path, encoded bytes or samples."""

    source: Any
    sampling_rate: int | None = None
    name: str | None = None


@dataclass
class FlatConversation:
    """Turns whose content is text, with one placeholder string where each audio goes."""

    turns: list[dict[str, str]] = field(default_factory=list)
    audios: list[AudioRef] = field(default_factory=list)


def audio_ref(part: dict[str, Any], where: str) -> AudioRef:
    """An audio content part (path, bytes, array, or OpenAI input_audio) as an AudioRef."""
    nested = part.get("input_audio")
    if isinstance(nested, dict):  # OpenAI's {"type": "input_audio", "input_audio": {"data": b64, "format"}}
        import base64
        import binascii

        try:
            data = base64.b64decode(nested.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            raise LlasoError(f"{where}: input_audio.data is not valid base64") from None
        return AudioRef(source=data, name=f"{where} input_audio ({nested.get('format', 'unknown format')})")
    if "path" in part and part["path"] is not None:
        return AudioRef(source=part["path"], name=str(part["path"]))
    for key in ("audio", "data", "array"):
        if key in part and part[key] is not None:
            return AudioRef(source=part[key], sampling_rate=part.get("sampling_rate"), name=part.get("name"))
    raise LlasoError(f"{where}: an audio part needs 'path' or 'audio' (bytes or a numpy array)")


def defuse(text: str, control_tokens: Sequence[str]) -> str:
    """`text` with each chat-control token (`<|im_start|>`, `<|eot_id|>`, ...) broken by a
    zero-width space: the words stay readable, but a message can no longer open a turn of
    another role or end the prompt (the template alone writes those tokens)."""
    for token in control_tokens:
        if token and token in text:
            text = text.replace(token, token[0] + "\u200b" + token[1:])
    return text


def flatten_messages(
    messages: list[dict[str, Any]], audio_token: str, audio_text: str | Sequence[str] | None = None,
    control_tokens: Sequence[str] = (),
) -> FlatConversation:
    """Check roles and parts, put `audio_text` (default: the audio token; a sequence gives each
    audio its own, in order) where each audio goes; message text is `defuse`d of `control_tokens`.

    Parts in one message are joined with newlines, as LLaSO writes "<audio>\\ninstruction".
    """
    if not isinstance(messages, list) or not messages:
        raise LlasoError("a conversation is a non-empty list of messages")
    flat = FlatConversation()
    for index, message in enumerate(messages):
        where = f"message {index}"
        if not isinstance(message, dict):
            raise LlasoError(f"{where}: expected a dict with 'role' and 'content'")
        role = message.get("role")
        if role not in ROLES:
            raise LlasoError(f"{where}: role must be one of {ROLES}, got {role!r}")
        content = message.get("content", "")
        pieces: list[str] = []
        texts: list[str] = []
        if isinstance(content, str):
            pieces.append(defuse(content, control_tokens))
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, str):
                    pieces.append(defuse(part.strip(), control_tokens))
                    texts.append(part)
                    continue
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    # Parts are joined by one newline, so "<audio>\ntext" and [audio, text] agree.
                    texts.append(str(part.get("text", "")).strip())
                    pieces.append(defuse(texts[-1], control_tokens))
                elif kind in ("audio", "input_audio"):
                    if role != "user":
                        raise LlasoError(f"{where}: audio is only accepted in user turns, not {role!r}")
                    flat.audios.append(audio_ref(part, where))
                    if isinstance(audio_text, str) or audio_text is None:
                        pieces.append(audio_text or audio_token)
                    else:
                        index = len(flat.audios) - 1
                        pieces.append(audio_text[index] if index < len(audio_text) else audio_token)
                else:
                    raise LlasoError(f"{where}: unknown content part type {kind!r} (use 'text' or 'audio')")
        else:
            raise LlasoError(f"{where}: content must be a string or a list of parts")
        if any(audio_token in text for text in texts):
            raise PlaceholderMismatchError(
                f"{where}: the text contains the reserved audio token {audio_token!r}; "
                "attach audio as an audio part instead"
            )
        flat.turns.append({"role": role, "content": "\n".join(p for p in pieces if p)})
    first = next((t["role"] for t in flat.turns if t["role"] != "system"), None)
    if first != "user":
        raise LlasoError("the first non-system message must come from the user")
    return flat
