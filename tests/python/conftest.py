"""Shared fixtures for the groupkv Python suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

import groupkv

# No example database in the working tree; a bounded, deterministic-enough budget for CI.
settings.register_profile(
    "groupkv",
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("groupkv")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a database that does not exist yet."""
    return tmp_path / "db"


@pytest.fixture
def db(db_path: Path) -> Iterator[groupkv.DB]:
    """A fresh open database, closed after the test."""
    handle = groupkv.DB(db_path)
    try:
        yield handle
    finally:
        handle.close()


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (this one, so groupkv is importable)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
