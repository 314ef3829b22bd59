"""``streams worker`` as a child process, for the demo and the benchmark."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.settings import Settings


@contextmanager
def worker_process(settings: Settings, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker configured by ``settings``, its output in ``log_path``; stopped on exit
    with SIGTERM, and killed if it has not exited a minute later."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"],
            env=settings.as_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
