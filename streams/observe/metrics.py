"""The worker's Prometheus metrics, in a registry of its own, served at ``GET /metrics``.

Counters are counted once a batch's writes are in Kafka, so they say what took effect.
Lag, assignment and table recovery are read when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

# Seconds from the oldest input of a batch arriving in Kafka to the batch's writes
# acknowledged: the slowest input's latency, one observation per batch.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.consumed = Counter(
            "credits_events_consumed",
            "Messages taken from each topic and processed (inputs and account-inputs)",
            ["topic"],
            registry=registry,
        )
        self.applied = Counter(
            "credits_events_applied", "Inputs applied to an account's state", registry=registry
        )
        self.duplicates = Counter(
            "credits_duplicates_dropped",
            "Inputs dropped as repeats: an id already applied, or a redelivered offset",
            registry=registry,
        )
        self.dead_letters = Counter(
            "credits_dead_letters",
            "Inputs sent to the dead letter, by reason (the dead letter's reason_code)",
            ["reason"],
            registry=registry,
        )
        self.recharge_requests = Counter(
            "credits_recharge_requests",
            "Recharge requests sent to billing",
            registry=registry,
        )
        self.overdue_looks = Counter(
            "credits_overdue_looks",
            "Looks at this worker's pending recharge requests for late ones",
            registry=registry,
        )
        self.overdue_checks = Counter(
            "credits_overdue_checks",
            "Overdue checks written for late recharge requests (each notifies at most once)",
            registry=registry,
        )
        self.latency = Histogram(
            "credits_processing_latency_seconds",
            "Per batch: from its oldest message's timestamp in Kafka to its writes "
            "acknowledged, by stage",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def watch(self, collector: Collector) -> None:
        """Add figures read at scrape time (lag, assignment, recovery)."""
        self.registry.register(collector)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class WorkerState(Collector):
    """Consumer lag per partition, assigned partitions, whether tables are recovered, and
    how many changelog records their recoveries read."""

    def __init__(
        self,
        lag: Callable[[], Iterable[tuple[str, int, int | None]]],
        tables_recovered: Callable[[], bool],
        records_recovered: Callable[[], Mapping[str, int]],
    ) -> None:
        self._lag = lag
        self._tables_recovered = tables_recovered
        self._records_recovered = records_recovered

    def describe(self) -> list:
        return []  # figures change with the assignment: not checked at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "credits_consumer_lag",
            "Messages in each assigned partition not yet processed by this worker",
            labels=["topic", "partition"],
        )
        assigned = GaugeMetricFamily(
            "credits_partitions_assigned", "Partitions assigned to this worker", labels=["topic"]
        )
        per_topic: dict[str, int] = {}
        for topic, partition, behind in self._lag():
            if behind is not None:
                lag.add_metric([topic, str(partition)], behind)
            per_topic[topic] = per_topic.get(topic, 0) + 1
        for topic, count in sorted(per_topic.items()):
            assigned.add_metric([topic], count)
        yield lag
        yield assigned
        yield GaugeMetricFamily(
            "credits_tables_recovered",
            "1 once this worker's tables are recovered from their changelogs, else 0",
            value=1 if self._tables_recovered() else 0,
        )
        recovered = CounterMetricFamily(
            "credits_changelog_records_recovered",
            "Changelog records read into this worker's tables since it started (recoveries "
            "and standby copies), by table",
            labels=["table"],
        )
        for table, count in sorted(self._records_recovered().items()):
            recovered.add_metric([table], count)
        yield recovered


async def scrape_totals(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """A worker's /metrics at ``url``, each sample name summed over its labels; {} while
    the worker does not answer (for the benchmark and the tests)."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            if response.status != 200:
                return {}
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name] = found.get(sample.name, 0.0) + sample.value
    return found
