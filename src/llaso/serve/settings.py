"""What `llaso serve` runs with: one typed settings object, validated once at start-up.

Sources, later ones winning: the defaults here, a TOML file (`--config serve.toml`), then
the command line. Every limit the server enforces lives in `Limits`, so `docs/serving.md`
and the error messages name the same settings.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llaso.errors import LlasoError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class ServeConfigError(LlasoError):
    """Settings that cannot work: a bad config file, a public bind without keys, ..."""


class Limits(BaseModel):
    """Every limit is checked before the work it bounds is done."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="request body, counted while it streams in (413)")
    body_timeout_s: float = Field(60.0, gt=0, description="time allowed to send the whole body (408)")
    max_audios: int = Field(8, ge=0, description="audio parts per chat request")
    max_audio_seconds: float = Field(120.0, gt=0, description="decoded audio per chat request, all parts together")
    max_transcription_seconds: float = Field(600.0, gt=0, description="audio per transcription request")
    max_tokens: int = Field(1024, ge=1, description="the largest max_tokens a request may ask for")
    default_max_tokens: int = Field(256, ge=1, description="max_tokens when a request gives none")
    max_text_chars: int = Field(100_000, ge=1, description="characters of text per request, all messages together")
    max_stop: int = Field(4, ge=0, description="stop strings per request")
    max_queue: int = Field(64, ge=1, description="requests admitted at once (waiting + decoding); then 429")
    max_batch_size: int = Field(8, ge=1, description="conversations decoded together in one forward")
    batch_wait_ms: float = Field(5.0, ge=0, description="how long the engine waits for more requests to batch")
    requests_per_minute: int | None = Field(None, ge=1, description="per key, unless its entry says otherwise")
    tokens_per_minute: int | None = Field(None, ge=1, description="per key (prompt + completion)")
    max_connections: int = Field(256, ge=1, description="open connections; uvicorn answers 503 beyond")
    drain_timeout_s: float = Field(30.0, ge=0, description="on SIGTERM, how long in-flight requests may finish")

    @field_validator("default_max_tokens")
    @classmethod
    def _default_within_cap(cls, value: int, info: Any) -> int:
        cap = info.data.get("max_tokens")
        if cap is not None and value > cap:
            raise ValueError(f"default_max_tokens ({value}) is above max_tokens ({cap})")
        return value


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "llaso-tiny"
    served_model_name: str | None = None
    device: str | None = None
    dtype: str | None = None
    threads: int | None = Field(None, ge=1, description="torch CPU threads (process-wide; default: torch's choice)")
    fidelity: bool = Field(False, description="encode audio as LLaSO-Base does (30 s padded windows)")
    whisper: str | None = Field(None, description="Whisper checkpoint for /v1/audio/transcriptions (default: tiny.en)")
    index: Path | None = Field(None, description="a `llaso index build` file for POST /v1/llaso/ask")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    api_keys: list[str] = Field(default_factory=list, exclude=True, repr=False)
    api_key_file: Path | None = None
    cors_origins: list[str] = Field(default_factory=list)
    log_content: bool = False
    limits: Limits = Field(default_factory=Limits)

    @property
    def model_name(self) -> str:
        """The name clients put in `model`: --served-model-name, else the model's own name."""
        if self.served_model_name:
            return self.served_model_name
        path = Path(self.model)
        return path.name if path.name and (path.is_dir() or "/" in self.model) else self.model


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_config(path: Path) -> dict[str, Any]:
    """A serve.toml as a dict of settings (validated by `build_settings`)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServeConfigError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ServeConfigError(f"{path}: not valid TOML ({exc})") from None
    if "api_keys" in data:
        raise ServeConfigError(f"{path}: keys do not belong in the config file; store their hashes with "
                               "`llaso keys add NAME --file keys.toml` and set api_key_file")
    if "api_key_file" in data and data["api_key_file"]:
        data["api_key_file"] = str((path.parent / data["api_key_file"]).expanduser())
    return data


def build_settings(config: Path | None = None, **overrides: Any) -> ServeSettings:
    """Defaults, then `config`, then the non-None `overrides` (limits by their own names)."""
    data: dict[str, Any] = read_config(config) if config is not None else {}
    limit_names = set(Limits.model_fields)
    limits = dict(data.pop("limits", {}) or {})
    for name, value in overrides.items():
        if value is None or (isinstance(value, list) and not value):
            continue
        (limits if name in limit_names else data)[name] = value
    data["limits"] = limits
    try:
        return ServeSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        where = f"{config}: " if config else ""
        raise ServeConfigError(f"{where}invalid serve settings ({problems})") from None
