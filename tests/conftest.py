"""Shared fixtures: repository paths and the real public data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The real public data: ``$KBZ_EVAL_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("KBZ_EVAL_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory) -> None:
    """Tests never write the user's cache: parsed open data go to a session folder."""
    if "KBZ_EVAL_CACHE" not in os.environ:
        os.environ["KBZ_EVAL_CACHE"] = str(tmp_path_factory.mktemp("kbz_cache"))
    # the report's date: fixed, so runs either side of midnight give the same bytes
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1796256000")  # 2026-12-03


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("real public data not found: set KBZ_EVAL_DATA or place ../shared/data")
    return found
