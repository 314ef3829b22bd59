"""The README's main command: `streams demo` runs its day of traffic and cleans up after."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Kafka's default port, where a new user's machine may well run a Kafka already.
KAFKA_DEFAULT_PORT = 9092


@contextlib.contextmanager
def taken(port: int) -> Iterator[None]:
    """Something listens on ``port`` for the duration: this test, if the port was free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        with contextlib.suppress(OSError):  # taken already (someone's Kafka?): as good
            other.bind(("127.0.0.1", port))
            other.listen()
        yield


def test_the_demo_plays_its_day_and_stops_everything_it_started() -> None:
    with taken(KAFKA_DEFAULT_PORT):
        done = subprocess.run(
            [sys.executable, "-m", "streams", "demo"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # The demo chose its own ports: 9092 was taken, and no --port was given.
    broker = re.search(r"starting Apache Kafka \S+ on kafka://127\.0\.0\.1:(\d+)", out)
    assert broker, out
    assert int(broker.group(1)) != KAFKA_DEFAULT_PORT
    assert re.search(r"HTTP API on port \d+", out)
    for title in ("Balances", "Account status", "Recharge requests", "Notifications"):
        assert title in out
    assert "Dead letters" in out
    for account in ("contoso", "fabrikam", "northwind", "tailspin", "woodgrove"):
        assert account in out
    assert "recharge_failed" in out  # billing declined one card
    for notice in ("balance_restored", "recharge_limit_reached", "recharge_overdue"):
        assert notice in out
    assert re.search(r"northwind .* limited", out)  # its day's recharge is spent
    assert "not UTF-8 text" in out  # and a bad message reached the dead letter
    assert "time_out_of_range" in out  # with its reason code
    assert "worker and broker stopped" in out
    # Nothing it started is left: no process names its scratch directory, which is gone.
    scratch = re.search(r"log:\s*(/\S*streams-demo-[^/\s]+)/worker\.log", out)
    assert scratch, out
    leftover = subprocess.run(["pgrep", "-af", scratch.group(1)], capture_output=True, text=True)
    assert leftover.returncode != 0, leftover.stdout
    assert not Path(scratch.group(1)).exists()
