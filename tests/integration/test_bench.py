"""The benchmark command works (CI runs it small; the figures come from full runs)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.fixtures.broker import Kafka

SMALL = {
    "--events": 300,
    "--accounts": 100,
    "--latency-rate": 50,
    "--latency-seconds": 2,
    "--restart-accounts": 200,
    "--memory-accounts": 50,
    "--memory-events": "200,400",
    "--memory-per-day": 100,
    "--scale-partitions": 4,
}


def test_the_benchmark_prints_every_figure(kafka: Kafka) -> None:
    command = [sys.executable, "-m", "bench", "--broker", kafka.url]
    for option, value in SMALL.items():
        command += [option, str(value)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = dict(re.findall(r"^(ceiling|worker) .*?: ([\d,]+) events/s", done.stdout, re.M))
    assert set(figures) == {"ceiling", "worker"}, done.stdout
    assert all(int(value.replace(",", "")) > 0 for value in figures.values())
    ratio = re.search(r"^ratio worker/ceiling: (\d+\.\d+)", done.stdout, re.M)
    assert ratio and float(ratio.group(1)) > 0, done.stdout
    latency = re.search(r"^latency, .*: p50 ([\d,]+) ms, p99 ([\d,]+) ms", done.stdout, re.M)
    assert latency and 0 < _number(latency.group(1)) <= _number(latency.group(2)), done.stdout
    memory = re.search(
        r"^worker resident memory with 200 accounts: ([\d,]+) MiB", done.stdout, re.M
    )
    assert memory and _number(memory.group(1)) > 0, done.stdout
    # A worker that never finished starting is a finding the benchmark reports, not a crash.
    for restart in ("data directory intact", "empty"):
        found = re.search(
            rf"^restart with 200 accounts, {restart}: (first output after ([\d.]+) s|NO output "
            r"in .*); ([\d,]+) changelog records recovered",
            done.stdout,
            re.M,
        )
        assert found and (found.group(2) is None or float(found.group(2)) > 0), done.stdout
    grown = re.findall(
        r"^worker resident memory after ([\d,]+) usage events over 50 accounts, ([\d.]+) days "
        r"of input time, dedupe window 1 day: ([\d,]+) MiB",
        done.stdout,
        re.M,
    )
    assert [(events, days) for events, days, _ in grown] == [("200", "2"), ("400", "4")]
    assert all(_number(mib) > 0 for _, _, mib in grown), done.stdout
    scaled = re.search(
        r"^scale-out \(2 worker processes, 4 partitions\): ([\d,]+) events/s", done.stdout, re.M
    )
    assert scaled and _number(scaled.group(1)) > 0, done.stdout


def _number(text: str) -> int:
    return int(text.replace(",", ""))
