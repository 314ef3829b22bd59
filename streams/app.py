"""The Faust application: one per worker process, configured from Settings."""

from __future__ import annotations

import faust

from streams.settings import Settings


def create_app(settings: Settings) -> faust.App:
    """A Faust app speaking raw bytes: decoding and validation are ours, on the hot path."""
    return faust.App(
        settings.app_id,
        broker=settings.broker,
        datadir=str(settings.data_dir),
        processing_guarantee=settings.processing_guarantee,
        topic_partitions=settings.partitions,
        topic_allow_declare=True,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        web_port=settings.web_port,
        web_host="127.0.0.1",
        web_bind="0.0.0.0",
        autodiscover=False,
    )


def run_worker(app: faust.App, settings: Settings) -> None:
    """Run ``app`` in this process until SIGINT/SIGTERM, then shut down cleanly."""
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
