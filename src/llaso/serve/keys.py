"""API keys: generated once, stored only as hashes, each with a name, scopes and limits.

Keys are 256 random bits, so a plain SHA-256 of the key is as hard to reverse as the key is
to guess; a slow password hash would only hand every caller a way to burn our CPU. The
presented key is hashed and compared with every stored hash in constant time, without
stopping at the first match, so response time says nothing about which hash is close.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from llaso.errors import LlasoError

SCOPES = ("chat", "transcribe", "ask", "models", "metrics")
KEY_PREFIX = "llaso-"
HASH_PREFIX = "sha256:"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FILE_HEADER = ("# llaso API keys (`llaso keys add NAME --scopes chat,transcribe`). Only hashes are kept:\n"
               "# a lost key cannot be recovered, add a new one and remove the old entry.\n")


class KeyFileError(LlasoError):
    """A key file that cannot be read or a key entry that cannot work."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: bytes  # SHA-256 of the key
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(SCOPES))
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    created: str | None = None


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_scopes(text: str | list[str]) -> frozenset[str]:
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = sorted(set(items) - set(SCOPES))
    if unknown:
        raise KeyFileError(f"unknown scope(s) {', '.join(unknown)}: choose from {', '.join(SCOPES)}")
    if not items:
        raise KeyFileError(f"a key needs at least one scope ({', '.join(SCOPES)})")
    return frozenset(items)


class KeyStore:
    """The keys a server accepts; `match` finds the one a request presents."""

    def __init__(self, keys: list[ApiKey] | None = None) -> None:
        self.keys = list(keys or [])

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    @classmethod
    def build(cls, plain_keys: list[str], key_file: Path | None) -> KeyStore:
        """Keys given on the command line (all scopes, named `cli-1`, ...) plus a key file."""
        keys = [ApiKey(f"cli-{i + 1}", hash_key(k)) for i, k in enumerate(k for k in plain_keys if k)]
        if key_file is not None:
            keys += read_key_file(key_file)
        return cls(keys)

    def match(self, presented: str) -> ApiKey | None:
        digest = hash_key(presented)
        found = None
        for key in self.keys:  # no early exit: every comparison runs
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found


def read_key_file(path: Path) -> list[ApiKey]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file not found (create it with `llaso keys add NAME --file {path}`)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: not valid TOML ({exc})") from None
    entries = data.get("keys", {})
    if not isinstance(entries, dict):
        raise KeyFileError(f"{path}: [keys] must be a table of named keys")
    keys = []
    for name, entry in entries.items():
        where = f"{path}: key {name!r}"
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            raise KeyFileError(f"{where} has no hash")
        text = entry["hash"]
        if not text.startswith(HASH_PREFIX) or len(text) != len(HASH_PREFIX) + 64:
            raise KeyFileError(f"{where}: hash must be 'sha256:' and 64 hex digits")
        try:
            digest = bytes.fromhex(text[len(HASH_PREFIX):])
        except ValueError:
            raise KeyFileError(f"{where}: hash is not hexadecimal") from None
        limits = {}
        for limit in ("requests_per_minute", "tokens_per_minute"):
            value = entry.get(limit)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise KeyFileError(f"{where}: {limit} must be a positive integer")
            limits[limit] = value
        keys.append(ApiKey(name, digest, parse_scopes(entry.get("scopes", [])), created=entry.get("created"), **limits))
    return keys


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_key_file(keys: list[ApiKey]) -> str:
    lines = [FILE_HEADER]
    for key in keys:
        lines.append(f"[keys.{_toml_string(key.name)}]")
        lines.append(f"hash = {_toml_string(HASH_PREFIX + key.digest.hex())}")
        lines.append("scopes = [" + ", ".join(_toml_string(s) for s in SCOPES if s in key.scopes) + "]")
        for limit in ("requests_per_minute", "tokens_per_minute"):
            if getattr(key, limit) is not None:
                lines.append(f"{limit} = {getattr(key, limit)}")
        if key.created:
            lines.append(f"created = {_toml_string(key.created)}")
        lines.append("")
    return "\n".join(lines)


def write_key_file(path: Path, keys: list[ApiKey]) -> None:
    """Atomically, readable by the owner only (hashes are not secrets, but there is no reason to share them)."""
    from llaso.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(render_key_file(keys), encoding="utf-8")
        os.chmod(tmp, 0o600)
    os.chmod(path, 0o600)


def add_key(path: Path, name: str, scopes: frozenset[str], requests_per_minute: int | None = None,
            tokens_per_minute: int | None = None) -> str:
    """Store a new key's hash under `name` and return the key (shown once, never stored)."""
    if not NAME_PATTERN.match(name):
        raise KeyFileError(f"key name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    keys = read_key_file(path) if path.exists() else []
    if any(k.name == name for k in keys):
        raise KeyFileError(f"{path}: a key named {name!r} exists; remove it first (`llaso keys remove {name}`)")
    key = generate_key()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    keys.append(ApiKey(name, hash_key(key), scopes, requests_per_minute, tokens_per_minute, created))
    write_key_file(path, keys)
    return key


def remove_key(path: Path, name: str) -> None:
    keys = read_key_file(path)
    if not any(k.name == name for k in keys):
        raise KeyFileError(f"{path}: no key named {name!r}")
    write_key_file(path, [k for k in keys if k.name != name])
