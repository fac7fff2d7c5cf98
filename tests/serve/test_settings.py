"""Serve settings: defaults, a TOML file, the command line; the public-bind refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.serve.server import check_bind
from llaso.serve.settings import ServeConfigError, build_settings, is_loopback


def test_layers_defaults_file_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text('port = 9001\napi_key_file = "keys.toml"\ncors_origins = ["https://app.example"]\n'
                      '[limits]\nmax_queue = 7\nmax_tokens = 100\n')
    settings = build_settings(config, max_queue=9, host=None, cors_origins=[])
    assert settings.port == 9001 and settings.limits.max_queue == 9 and settings.limits.max_tokens == 100
    assert settings.api_key_file == tmp_path / "keys.toml"  # relative to the config file
    assert settings.cors_origins == ["https://app.example"] and settings.host == "127.0.0.1"
    assert settings.limits.max_body_bytes == 25 * 1024 * 1024 and settings.model_name == "llaso-tiny"


def test_bad_settings_are_refused_with_the_field(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text("[limits]\nmax_qeue = 7\n")
    with pytest.raises(ServeConfigError, match="limits.max_qeue"):
        build_settings(config)
    config.write_text('api_keys = ["plain"]\n')
    with pytest.raises(ServeConfigError, match="keys do not belong"):
        build_settings(config)
    with pytest.raises(ServeConfigError, match="default_max_tokens"):
        build_settings(max_tokens=10, default_max_tokens=20)
    with pytest.raises(ServeConfigError, match="max_queue"):
        build_settings(max_queue=0)


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True),
                                           ("localhost", True), ("0.0.0.0", False), ("::", False),
                                           ("192.168.1.5", False), ("example.com", False)])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_public_bind_needs_a_key(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("LLASO_API_KEY", raising=False)
    with pytest.raises(ServeConfigError, match="llaso keys add"):
        check_bind(build_settings(host="0.0.0.0"))
    check_bind(build_settings(host="0.0.0.0", api_keys=["k"]))
    check_bind(build_settings(host="127.0.0.1"))
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without an API key" in err and "--api-key-file" in err


def test_docs_list_every_limit_with_its_default() -> None:
    from llaso.serve.settings import Limits

    docs = (Path(__file__).resolve().parents[2] / "docs" / "serving.md").read_text()
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip() for line in docs.splitlines()
            if line.startswith("| `")}
    for name, field in Limits.model_fields.items():
        assert name in rows, f"docs/serving.md has no row for {name}"
        default = field.default
        shown = rows[name].split(" ")[0]
        assert shown == ("None" if default is None else f"{default:g}" if isinstance(default, float) else str(default)), name
