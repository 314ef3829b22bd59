"""The wheel on its own: built from the repository, installed with the locked runtime
dependencies into a fresh venv outside it, it runs `streams` and a worker's decoding and
validation of messages, its schemas and default rate card read from the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements-runtime.lock"
# Not copied into the build: what a working tree holds besides the sources. A stale build/
# would put files in the wheel that the sources no longer have.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)

# Run by the installed Python, from a directory that holds nothing of the repository.
DECODE = """
import json
from datetime import UTC, datetime

import streams
from streams.wire.decode import Decoder
from streams.wire.errors import InvalidMessage
from streams.wire.rate_card import load_rate_card
from streams.wire.schemas import SCHEMAS_DIR, Validators

validators = Validators()
decoder = Decoder(validators)
call = {
    "event_id": "evt-1", "account_id": "contoso", "occurred_at": "2026-11-24T10:00:00Z",
    "call_type": "domestic", "direction": "outbound", "country": "US", "duration_seconds": 90,
}
# Kafka's time of the message: a second after the call.
reference_ms = int(datetime(2026, 11, 24, 10, 0, 1, tzinfo=UTC).timestamp() * 1000)
good = decoder.message("call-usage", json.dumps(call).encode(), reference_ms)
try:
    bad = dict(call, duration_seconds=-5)
    decoder.message("call-usage", json.dumps(bad).encode(), reference_ms)
    refusal = None
except InvalidMessage as error:
    refusal = [error.code, str(error)]
card = load_rate_card(None, validators)
print(json.dumps({
    "package": streams.__file__, "schemas": str(SCHEMAS_DIR), "good": good,
    "refusal": refusal, "rate_card": type(card).__name__,
}))
"""


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHON* variable of this session (PYTHONPATH could reach the repository).
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the wheel and the runtime lock only."""
    root = tmp_path_factory.mktemp("package")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCES, symlinks=True)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", root / "dist", source, cwd=root)
    (wheel,) = (root / "dist").glob("credits_streams-*.whl")
    _run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    _run(
        python,
        "-m",
        "pip",
        "install",
        "--no-compile",
        "--require-hashes",
        "-r",
        RUNTIME_LOCK,
        cwd=root,
    )
    _run(python, "-m", "pip", "install", "--no-deps", wheel, cwd=root)
    _run(python, "-m", "pip", "check", cwd=root)
    return root / "venv"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


def test_the_installed_command_runs(venv: Path, elsewhere: Path) -> None:
    result = _run(venv / "bin" / "streams", "--help", cwd=elsewhere)
    for command in ("worker", "broker", "replay", "redrive", "tail", "accounts", "demo"):
        assert f"  {command} " in result.stdout


def test_a_worker_validates_messages_with_the_schemas_in_the_package(
    venv: Path, elsewhere: Path
) -> None:
    result = _run(venv / "bin" / "python", "-c", DECODE, cwd=elsewhere)
    report = json.loads(result.stdout)
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    assert Path(report["package"]).parent == site_packages / "streams"
    assert Path(report["schemas"]) == site_packages / "streams" / "schemas"
    assert report["good"]["duration_seconds"] == 90
    assert report["refusal"] == ["schema", "duration_seconds: -5 is less than the minimum of 0"]
    assert report["rate_card"] == "RateCard"
