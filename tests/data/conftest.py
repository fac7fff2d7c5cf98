"""A small llaso-mini build shared by the data tests (built once per session into a tmp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

OFFICIAL = Path(__file__).resolve().parents[3] / "shared" / "llaso-official" / "LLaSO-Base"
DATA_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


@pytest.fixture(scope="session")
def mini_small(tmp_path_factory) -> tuple[Path, dict]:
    """(folder, manifest) of `build_mini(scale='small', seed=0)`."""
    from llaso.data.build_mini import build_mini

    out = tmp_path_factory.mktemp("llaso-mini-small")
    manifest = build_mini(out, scale="small", seed=0, workers=2, progress=False)
    return out, manifest


@pytest.fixture(scope="session")
def data_fixtures() -> Path:
    return DATA_FIXTURES


@pytest.fixture(scope="session")
def official_dir() -> Path:
    if not OFFICIAL.is_dir():
        pytest.skip(f"official LLaSO files not present at {OFFICIAL}")
    return OFFICIAL
