import logging
import sys

import pytest

from streams.app import create_app, run_worker
from streams.settings import Settings


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture
def started():
    """Workers set up here. Setting up logging redirects stdout and stderr to the log until
    the worker's exit stack closes: closed here, not whenever the worker is garbage
    collected (which put sys.__stdout__ back in the middle of a later CliRunner test)."""
    workers, streams = [], (sys.stdout, sys.stderr)
    yield workers
    for worker in workers:
        worker.exit_stack.close()
    sys.stdout, sys.stderr = streams


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_a_quiet_worker_does_not_build_debug_records(
    monkeypatch, root_logging, started, tmp_path, level
):
    monkeypatch.setattr(
        "faust.Worker.execute_from_commandline",
        lambda worker: (worker._setup_logging(), started.append(worker)),
    )
    settings = Settings(data_dir=tmp_path, log_level=level)
    run_worker(create_app(settings), settings)

    assert started
    assert not logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)
    assert root_logging.getEffectiveLevel() == logging.getLevelName(level)
