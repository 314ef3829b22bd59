"""The Faust application: one per worker process, configured from Settings."""

from __future__ import annotations

import asyncio
from functools import partial

import faust

from streams.api import views
from streams.api.auth import Tokens, check_exposure
from streams.connection import KafkaConnection
from streams.faust_fixes import DrainingWorker, MeteringApp, QuietWorker
from streams.observe.logs import logging_config
from streams.observe.metrics import Metrics, WorkerState
from streams.pipeline import stages
from streams.pipeline.drain import Drain
from streams.pipeline.partitioning import account_partitioner
from streams.pipeline.provisioning import ensure_topics, topic_specs
from streams.pipeline.topics import COMMANDS
from streams.settings import Settings
from streams.wire.decode import Decoder
from streams.wire.rate_card import load_rate_card
from streams.wire.schemas import Validators

# How long a drained worker waits for the group coordinator to take its leave.
LEAVE_GROUP_TIMEOUT = 3.0


def create_app(settings: Settings) -> faust.App:
    """A Faust app speaking raw bytes: decoding and validation are ours, on the hot path."""
    return MeteringApp(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=KafkaConnection.from_settings(settings).faust_credentials(),
        datadir=str(settings.data_dir),
        # Faust's own exactly_once is not used: its transaction manager cannot send a
        # batch that spans partitions. The accounts stage runs its own transactions.
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        key_serializer="raw",
        value_serializer="raw",
        producer_partitioner=account_partitioner,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        web_port=settings.web_port,
        web_host=settings.web_host,
        web_bind=settings.web_bind,
        autodiscover=False,
    )


def create_pipeline(settings: Settings, drain: Drain, tokens: Tokens | None = None) -> faust.App:
    """The metering worker: refuses to build with an invalid rate card (RateCardError).
    ``tokens``: who may call its HTTP API (``check_exposure``)."""
    validators = Validators()
    rate_card = load_rate_card(settings.rate_card, validators)
    app = create_app(settings)
    decoder = Decoder(validators)
    metrics = Metrics()
    stages.register(app, settings, rate_card, decoder, drain, metrics)
    metrics.watch(
        WorkerState(
            lag=app.consumer.lag,
            tables_recovered=app.tables.recovery.completed.is_set,
            records_recovered=lambda: app.tables.recovery.recovered,
        )
    )
    views.register(app, decoder, settings.topic(COMMANDS), metrics, tokens, settings.metrics_public)
    return app


def run_worker(app: faust.App, settings: Settings, drain: Drain | None = None) -> None:
    """Run ``app`` in this process until SIGINT/SIGTERM."""
    options = {
        "loglevel": settings.log_level,
        "logging_config": logging_config(settings.log_level),
        "quiet": True,
    }
    if drain is None:
        worker = QuietWorker(app, **options)
    else:
        worker = DrainingWorker(app, drain.stop, **options)
    worker.execute_from_commandline()


def run_pipeline(settings: Settings) -> None:
    """Run a worker; TokensError before anything starts if its HTTP API would be exposed
    without tokens, or its tokens file is unusable."""
    tokens = check_exposure(settings.web_bind, settings.api_tokens_file)
    drain = Drain()
    app = create_pipeline(settings, drain, tokens)
    drain.on_exit = partial(app.consumer.leave_group, LEAVE_GROUP_TIMEOUT)
    asyncio.run(ensure_topics(settings, topic_specs(app, settings)))
    run_worker(app, settings, drain)
