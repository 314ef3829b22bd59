"""The Faust worker, with two of its behaviours replaced."""

from __future__ import annotations

from collections.abc import Callable

import faust


class QuietWorker(faust.Worker):
    """A Faust worker without the terminal spinner.

    Replaces: ``faust.Worker.__init__`` keeping its spinner when the log level is WARNING
    or above, and setting the root logger to DEBUG for it, so that every debug call of
    aiokafka and Faust builds a record for the handlers to drop (7% of the worker's time
    in a profile).
    """

    def __init__(self, app: faust.App, **options: object) -> None:
        super().__init__(app, **options)
        self.spinner = None


class DrainingWorker(QuietWorker):
    """A worker whose SIGTERM and SIGINT call ``on_stop`` instead of shutting down.

    Replaces: ``mode.Worker._on_sigterm``/``_on_sigint``, which start Faust's shutdown:
    it leaves the group and commits while a stage may still be writing a batch (see
    ``streams.pipeline.drain``).
    """

    def __init__(self, app: faust.App, on_stop: Callable[[], None], **options: object) -> None:
        super().__init__(app, **options)
        self.on_stop = on_stop

    def _on_sigterm(self) -> None:
        self.on_stop()

    def _on_sigint(self) -> None:
        self.on_stop()
