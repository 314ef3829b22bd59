"""The README's main command: `streams demo` runs its day of traffic and cleans up after."""

from __future__ import annotations

import subprocess
import sys

from streams.broker.local import free_port


def test_the_demo_plays_its_day_and_stops_everything_it_started() -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "streams", "demo", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for title in ("Balances", "Recharge requests", "Notifications", "Dead letters"):
        assert title in out
    for account in ("contoso", "fabrikam", "northwind", "tailspin"):
        assert account in out
    assert "recharge_failed" in out  # billing declined one card
    assert "not UTF-8 text" in out  # and a bad message reached the dead letter
    assert "time_out_of_range" in out  # with its reason code
    assert "worker and broker stopped" in out
    jvm = subprocess.run(["pgrep", "-f", f"PLAINTEXT://127.0.0.1:{port}"], capture_output=True)
    leftover = subprocess.run(["pgrep", "-af", "kafka.Kafka"], capture_output=True, text=True)
    assert jvm.returncode != 0 or str(port) not in leftover.stdout
