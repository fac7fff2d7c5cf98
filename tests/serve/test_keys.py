"""API keys: generated once, stored as hashes, matched in constant time; `llaso keys`."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.serve.keys import (
    SCOPES,
    ApiKey,
    KeyFileError,
    KeyStore,
    add_key,
    generate_key,
    hash_key,
    parse_scopes,
    read_key_file,
    remove_key,
)


def test_generated_keys_are_long_random_and_distinct() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(k.startswith("llaso-") and len(k) >= 40 for k in keys)


def test_file_keeps_only_hashes_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    key = add_key(path, "alice", frozenset({"chat", "transcribe"}), requests_per_minute=30)
    text = path.read_text()
    assert key not in text and hash_key(key).hex() in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tomllib.loads(text)  # valid TOML
    (stored,) = read_key_file(path)
    assert stored.name == "alice" and stored.scopes == {"chat", "transcribe"}
    assert stored.requests_per_minute == 30 and stored.tokens_per_minute is None and stored.created
    other = add_key(path, "bob.ci-1", frozenset(SCOPES))
    store = KeyStore.build([], path)
    assert store.match(key).name == "alice" and store.match(other).name == "bob.ci-1"
    assert store.match(key + "x") is None and store.match("") is None
    remove_key(path, "alice")
    assert [k.name for k in read_key_file(path)] == ["bob.ci-1"]


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    add_key(path, "alice", frozenset({"chat"}))
    with pytest.raises(KeyFileError, match="exists"):
        add_key(path, "alice", frozenset({"chat"}))
    with pytest.raises(KeyFileError, match="key name"):
        add_key(path, "no spaces please", frozenset({"chat"}))
    with pytest.raises(KeyFileError, match="unknown scope.*admin"):
        parse_scopes("chat,admin")
    with pytest.raises(KeyFileError, match="at least one scope"):
        parse_scopes(" , ")
    with pytest.raises(KeyFileError, match="not found"):
        read_key_file(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[keys.x\n")
    with pytest.raises(KeyFileError, match="not valid TOML"):
        read_key_file(tmp_path / "broken.toml")
    (tmp_path / "short.toml").write_text('[keys.x]\nhash = "sha256:abc"\nscopes = ["chat"]\n')
    with pytest.raises(KeyFileError, match="64 hex"):
        read_key_file(tmp_path / "short.toml")
    with pytest.raises(KeyFileError, match="no key named"):
        remove_key(path, "carol")


def test_cli_plain_keys_have_every_scope() -> None:
    store = KeyStore.build(["one", "", "two"], None)
    assert [k.name for k in store.keys] == ["cli-1", "cli-2"]
    assert all(k.scopes == frozenset(SCOPES) for k in store.keys)
    assert store.match("two").name == "cli-2"
    assert not KeyStore([]).enabled and KeyStore([ApiKey("a", hash_key("k"))]).enabled


def test_keys_command_prints_the_key_once(tmp_path: Path, capsys) -> None:
    path = tmp_path / "keys.toml"
    assert main(["keys", "add", "ci", "--scopes", "chat,metrics", "--tokens-per-minute", "5000", "--file", str(path)]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("llaso-") and "shown only now" in err
    assert KeyStore.build([], path).match(key).scopes == {"chat", "metrics"}
    assert main(["keys", "list", "--file", str(path)]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("ci\tchat,metrics\ttokens_per_minute=5000") and key not in listed
    assert main(["keys", "add", "x", "--scopes", "everything", "--file", str(path)]) == 2
    assert "unknown scope" in capsys.readouterr().err
    assert main(["keys", "remove", "ci", "--file", str(path)]) == 0
    assert read_key_file(path) == []
