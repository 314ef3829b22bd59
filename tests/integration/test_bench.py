"""The benchmark command works (CI runs it small; the figures come from full runs)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.fixtures.broker import Kafka


def test_the_benchmark_prints_both_throughputs_and_their_ratio(kafka: Kafka) -> None:
    command = [sys.executable, "-m", "bench", "--events", "300", "--accounts", "100"]
    done = subprocess.run(
        [*command, "--broker", kafka.url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = dict(re.findall(r"^(ceiling|worker) .*?: ([\d,]+) events/s", done.stdout, re.M))
    assert set(figures) == {"ceiling", "worker"}, done.stdout
    assert all(int(value.replace(",", "")) > 0 for value in figures.values())
    ratio = re.search(r"^ratio worker/ceiling: (\d+\.\d+)", done.stdout, re.M)
    assert ratio and float(ratio.group(1)) > 0, done.stdout
