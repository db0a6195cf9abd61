"""ruff and mypy are part of the suite, so CI keeps the code clean as well as working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["app", "domain", "models", "services", "providers", "jobs", "schema", "resolvers", "bench", "tests"]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    existing = [name for name in PACKAGES if (ROOT / name).is_dir()]
    result = run("mypy", *existing)
    assert result.returncode == 0, result.stdout + result.stderr
