"""A taken port is one line naming it, told before anything starts; other failures are short.

No JVM here: a broker whose port is taken must fail before it would start one.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.broker import BrokerError, LocalBroker, PortUnavailable
from streams.broker.local import LOG_EXCERPT_LINES, free_port, port_problem
from streams.cli import main


class NoDistribution:
    """A distribution that fails the test if the broker goes as far as wanting its jars."""

    version = "3.9.1"
    classpath = "/nonexistent/*"

    def ensure(self) -> NoDistribution:
        raise AssertionError("the broker went on to start although its port is taken")

    def is_resolved(self) -> bool:
        return True


def _broker(state_dir: Path, port: int | None = None) -> LocalBroker:
    return LocalBroker(NoDistribution(), state_dir, port=port)  # type: ignore[arg-type]


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something listens on, as another Kafka would."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_listening_port_is_taken_and_a_free_one_is_not(taken: int) -> None:
    assert port_problem(taken) == "is taken"
    assert port_problem(taken, "0.0.0.0") == "is taken"  # what the worker's web server binds
    assert port_problem(free_port()) is None


def test_a_broker_on_a_taken_port_fails_before_it_starts_anything(
    taken: int, tmp_path: Path
) -> None:
    broker = _broker(tmp_path / "kafka", taken)
    with pytest.raises(PortUnavailable) as raised:
        broker.start()
    assert str(raised.value) == f"port {taken} on 127.0.0.1 is taken (another Kafka?)"
    assert not (tmp_path / "kafka").exists()
    assert not broker.running


def test_a_taken_controller_port_is_replaced_not_reported(taken: int, tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.controller_port = taken
    broker.check_ports()
    assert broker.controller_port != taken
    assert port_problem(broker.controller_port) is None


def test_streams_broker_on_a_taken_port_says_so_in_one_line(
    taken: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_start(self: LocalBroker, timeout: float = 60.0) -> None:
        raise AssertionError("started a broker on a taken port")

    monkeypatch.setattr(LocalBroker, "start", no_start)
    state_dir = tmp_path / "state"
    result = CliRunner().invoke(
        main, ["broker", "--port", str(taken), "--state-dir", str(state_dir)]
    )
    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {taken} on 127.0.0.1 is taken (another Kafka?); "
        "choose another with --port N\n"
    )
    assert not state_dir.exists()


@pytest.mark.parametrize("option", ["--port", "--web-port"])
def test_streams_demo_on_a_taken_port_says_so_in_one_line(
    option: str, taken: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_start(self: LocalBroker, timeout: float = 60.0) -> None:
        raise AssertionError("started a broker although a port is taken")

    monkeypatch.setattr(LocalBroker, "start", no_start)
    result = CliRunner().invoke(main, ["demo", option, str(taken)])
    assert result.exit_code == 1
    host, hint = (
        ("127.0.0.1", "another Kafka?") if option == "--port" else ("0.0.0.0", "another worker?")
    )
    assert result.output == (
        f"Error: port {taken} on {host} is taken ({hint}); "
        f"choose another with {option} N, or leave it out for a free one\n"
    )


def _log_line(n: int, level: str = "INFO") -> str:
    return f"[2026-12-03 07:33:{n % 60:02d},000] {level} line {n} (kafka.Something)"


def test_a_failed_start_shows_its_first_error_and_last_lines_and_where_the_log_is(
    tmp_path: Path,
) -> None:
    broker = _broker(tmp_path)
    earlier = [_log_line(n, "ERROR") for n in range(5)]  # a previous start's: not this one's
    broker.log_file.write_text("\n".join(earlier) + "\n")
    broker._log_start = broker.log_file.stat().st_size
    lines = [_log_line(n) for n in range(100)]
    lines[20] = _log_line(20, "ERROR")
    lines.insert(21, "java.lang.RuntimeException: the cause")
    with broker.log_file.open("a") as log:
        log.write("\n".join(lines) + "\n")

    excerpt = broker.log_excerpt().splitlines()
    assert excerpt[:3] == [
        "first error:",
        _log_line(20, "ERROR"),
        "java.lang.RuntimeException: the cause",
    ]
    assert excerpt[-LOG_EXCERPT_LINES - 1 : -1] == lines[-LOG_EXCERPT_LINES:]
    assert excerpt[-1] == f"full log: {broker.log_file}"
    assert len(excerpt) <= LOG_EXCERPT_LINES + 6
    assert not any(line in excerpt for line in earlier)


def test_a_jvm_that_never_started_shows_what_it_printed(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.jvm_output.write_text("Invalid initial heap size: -Xmsbogus\n")
    assert broker.log_excerpt().splitlines() == [
        "the JVM printed:",
        "Invalid initial heap size: -Xmsbogus",
        f"(in {broker.jvm_output})",
    ]


def _exited(status: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({status})"])
    process.wait()
    return process


def test_a_port_taken_after_the_check_is_still_told_in_one_line(tmp_path: Path) -> None:
    """Something bound the port between our check and Kafka's bind: Kafka's log says so."""
    broker = _broker(tmp_path)
    broker.log_file.write_text(
        _log_line(1, "ERROR") + " Unable to start acceptor for ListenerName(PLAINTEXT)\n"
        "org.apache.kafka.common.KafkaException: Socket server failed to bind to "
        f"127.0.0.1:{broker.port}: Address already in use.\n" + _log_line(2) + "\n"
    )
    broker._process = _exited(1)
    with pytest.raises(PortUnavailable, match=f"^port {broker.port} on 127.0.0.1 is taken"):
        asyncio.run(broker._wait_ready(5))


def test_a_broker_that_exits_for_another_reason_shows_a_short_excerpt(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.log_file.write_text("\n".join(_log_line(n) for n in range(60)) + "\n")
    broker._process = _exited(1)
    with pytest.raises(BrokerError) as raised:
        asyncio.run(broker._wait_ready(5))
    assert not isinstance(raised.value, PortUnavailable)
    message = str(raised.value).splitlines()
    assert message[0] == "the broker exited with status 1; last 10 lines of its log:"
    assert message[1:-1] == [_log_line(n) for n in range(50, 60)]
    assert message[-1] == f"full log: {broker.log_file}"
