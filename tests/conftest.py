"""Test session wiring: fast unit tests and integration tests against a real broker."""

from __future__ import annotations

from pathlib import Path

import hypothesis  # noqa: F401
import pytest

# hypothesis is imported here, at a shallow depth, rather than by its plugin at the end of an
# integration-only run, where CPython 3.11.7 failed to parse it ("AST constructor
# recursion depth mismatch").
pytest_plugins = ["tests.fixtures.broker", "tests.fixtures.workers"]

INTEGRATION = Path(__file__).parent / "integration"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-replays",
        action="store_true",
        help="write the outputs of tests/recordings/ instead of comparing them",
    )
    crash = parser.getgroup("crash test", "tests/integration/test_crash.py")
    crash.addoption("--crash-seed", type=int, default=20261124, help="seed of the run")
    crash.addoption("--crash-events", type=int, default=4000, help="usage events")
    crash.addoption("--crash-accounts", type=int, default=200, help="accounts")
    crash.addoption("--crash-kills", type=int, default=3, help="workers stopped and replaced")
    crash.addoption("--crash-workers", type=int, default=2, help="workers in the group")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed integration test shows the logs of its workers and of the broker."""
    report = yield
    fixtures = getattr(item, "funcargs", {})
    if report.failed and report.when == "call":
        for worker in getattr(fixtures.get("workers"), "started", []):
            report.sections.append((f"log of {worker.name} (tail)", worker.log()[-20000:]))
        kafka = fixtures.get("kafka")
        if kafka is not None and kafka.local is not None:
            report.sections.append(("Kafka broker log (tail)", kafka.local.log_tail(80)))
        cluster = fixtures.get("cluster")  # a test's own KafkaCluster
        if cluster is not None:
            report.sections.append(("Kafka cluster logs (tails)", cluster.log_tails(40)))
    return report
