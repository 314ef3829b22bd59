"""The upstream code this package replaces or relies on, and the versions it was read in.

Each entry names an upstream function (``module:Class.attribute``), what here depends on
it, and a digest of its source as installed. ``tests/unit/test_faust_fixes/test_upstream.py``
checks the installed versions and every digest: an upgrade that changes one of them fails
there, and the entry says which workaround to read again before changing the digest.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import dataclass

VERSIONS = {"faust-streaming": "0.15.3", "mode-streaming": "0.7.1", "aiokafka": "0.14.0"}


@dataclass(frozen=True)
class Upstream:
    target: str  # module:qualified.name
    digest: str  # first 16 hex digits of the sha256 of its source
    used_by: str  # what here replaces it or reads what it sets


def _entry(target: str, digest: str, used_by: str) -> Upstream:
    return Upstream(target, digest, used_by)


_CONSUMER = "faust.transport.consumer:Consumer."
_DRIVER = "faust.transport.drivers.aiokafka:"
_RECOVERY = "faust.tables.recovery:Recovery."

UPSTREAM = (
    # ProcessedOnlyConsumer (consumer.py)
    _entry(
        _CONSUMER + "__init__",
        "302410d59e6972d1",
        "reads _unacked_messages, _read_offset, _waiting_for_ack, _buffered_partitions",
    ),
    _entry(_CONSUMER + "_drain_messages", "44a2500309e83c63", "_drain_messages, replaced"),
    _entry(_CONSUMER + "_wait_next_records", "6218e1969a636b3f", "_drain_messages calls it"),
    _entry(_CONSUMER + "_to_message", "6a0ee0c2072f534c", "_drain_messages calls it"),
    _entry(_CONSUMER + "ack", "5fcf41cf45153475", "ack, replaced (takes the same ack_lock)"),
    _entry("faust.types.tuples:Message.ack", "4751b72c4ed84153", "ack: the lock it shares"),
    _entry(_CONSUMER + "_filter_tps_with_pending_acks", "f6f9239774234e7e", "replaced"),
    _entry(_CONSUMER + "_filter_committable_offsets", "dc5e9baf5d994485", "replaced"),
    _entry(_CONSUMER + "_commit_offsets", "1a69799041188441", "_commit_offsets, extended"),
    _entry(_CONSUMER + "wait_empty", "e4662fe24f094819", "wait_empty, extended"),
    _entry(_CONSUMER + "on_partitions_assigned", "29ce96596f05a18c", "before_assignment hooks"),
    _entry(_CONSUMER + "perform_seek", "0e8c130ff4b0afd8", "perform_seek, extended"),
    _entry(_CONSUMER + "seek_to_committed", "8d52f70fc8826291", "seek_to_committed, extended"),
    _entry(_DRIVER + "Consumer._new_consumer_thread", "0870ec53dea75083", "replaced"),
    _entry(_DRIVER + "Consumer.__init__", "7072ae80eac1ff62", "reads _thread"),
    _entry(
        _DRIVER + "AIOKafkaConsumerThread._create_worker_consumer",
        "c2701bfc3e6f6cad",
        "ReadCommittedConsumerThread, extended",
    ),
    _entry(_DRIVER + "AIOKafkaConsumerThread._ensure_consumer", "ff4a4c693b7ec63f", "leave_group"),
    _entry(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "01506f316191f7c9",
        "ReadCommittedConsumerThread sets _isolation_level",
    ),
    _entry(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.stop",
        "bc5da9c98595299a",
        "leave_group does what it does to leave",
    ),
    _entry(
        "aiokafka.consumer.group_coordinator:GroupCoordinator._maybe_leave_group",
        "016cd88a16e6c4b5",
        "leave_group calls it",
    ),
    _entry(
        "mode.services:Service.__init__",
        "ab4d12a25b93044a",
        "_drain_messages reads the fetcher's _stopped",
    ),
    # MarkerAwareTables, MarkerAwareRecovery (recovery.py)
    _entry(
        _RECOVERY + "_restart_recovery",
        "6bd8a8558a2dffe4",
        "_check_partition_ends ends a recovery as it does",
    ),
    _entry(_RECOVERY + "_set_recovery_started", "bcfebf81ae13fc75", "extended"),
    _entry(_RECOVERY + "_set_recovery_ended", "84badf3f2cfe0d02", "_check_partition_ends"),
    _entry(_RECOVERY + "_seek_offsets", "19598ca63d94d250", "_seek_offsets, extended"),
    _entry(_RECOVERY + "_build_highwaters", "91b4cc0d3724ae7b", "_build_highwaters, extended"),
    _entry("mode.services:Service.crash", "14980000465df0af", "the recovery's crash, replaced"),
    _entry("faust.tables.manager:TableManager.recovery", "f0bf5de78b4c3d23", "replaced"),
    _entry(_RECOVERY + "_slurp_changelogs", "7825c7e50f766d5a", "apply_run does its work"),
    _entry(_RECOVERY + "_add", "1584a197b11bf835", "starts from the store's persisted_offset"),
    _entry(_RECOVERY + "_build_offsets", "27eec86be06cb51f", "apply_run: offsets it sets"),
    _entry(_RECOVERY + "need_recovery", "fd1dc345b5d5e121", "apply_run ends a recovery"),
    _entry(_RECOVERY + "standby_remaining_total", "15bd44e3a39bb01f", "apply_run: standbys"),
    # AckedStream (stream.py), MeteringApp (app.py)
    _entry("faust.streams:Stream.__aiter__", "e815c0e831f1d2cc", "replaced"),
    _entry("faust.streams:Stream._py_aiter", "3a48ee257a65435b", "AckedStream uses it"),
    _entry("faust.app.base:App._new_transport", "42db531312dd776f", "replaced"),
    _entry(
        "faust.assignor.leader_assignor:LeaderAssignor",
        "c3f79f79c3ef88d6",
        "leader_topic_name reads _leader_topic_name",
    ),
    # QuietWorker, DrainingWorker (worker.py)
    _entry("faust.worker:Worker.__init__", "25a4d782432f0968", "QuietWorker: the spinner"),
    _entry("mode.worker:Worker._on_sigterm", "6b99528ef557db1d", "replaced"),
    _entry("mode.worker:Worker._on_sigint", "25334ac514b211b2", "replaced"),
    # PartitionedStore (stores.py)
    _entry("faust.stores.base:Store.__init__", "d1705e3cfe39e787", "PartitionedStore's base"),
    _entry(
        "faust.tables.base:Collection._new_store_by_url",
        "343a8125107d3f69",
        "builds PartitionedStore from the streams:// URL",
    ),
    _entry(
        "faust.tables.base:Collection.apply_changelog_batch",
        "b980a78d3ae9b1e8",
        "PartitionedStore.apply_changelog_batch",
    ),
    _entry(
        "faust.tables.manager:TableManager.on_rebalance",
        "2d2c23a07bf54328",
        "PartitionedStore.on_rebalance, before the recovery reads its offsets",
    ),
    _entry(
        "mode.utils.imports:FactoryMapping._finalize",
        "7326bf552151ddef",
        "finds the faust.stores entry point",
    ),
)


def resolve(target: str) -> object:
    module, _, name = target.partition(":")
    found: object = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    if isinstance(found, property):
        return found.fget
    return getattr(found, "fun", found)  # mode's Service.task wraps the function


def digest_of(target: str) -> str:
    source = inspect.getsource(resolve(target))  # type: ignore[arg-type]
    return hashlib.sha256(source.encode()).hexdigest()[:16]
