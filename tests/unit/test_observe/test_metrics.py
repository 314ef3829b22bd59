"""Metrics in Prometheus text: counters, the latency histogram, figures read when scraped."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from streams.observe.metrics import Metrics, WorkerState


def samples(metrics: Metrics) -> dict[tuple, float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counters_and_scrape_time_figures() -> None:
    metrics = Metrics()
    recovered = [False]
    lag = [
        ("usage.call-minutes", 0, 5),
        ("usage.call-minutes", 1, 0),
        ("usage.call-minutes", 2, None),  # its end not known yet: assigned, no lag figure
        ("app-inputs", 0, 2),
    ]
    read_back = {"accounts": 12}
    metrics.watch(
        WorkerState(
            lag=lambda: lag,
            tables_recovered=lambda: recovered[0],
            records_recovered=lambda: read_back,
        )
    )
    metrics.consumed.labels("usage.call-minutes").inc(7)
    metrics.dead_letters.labels("no_rate").inc()
    metrics.latency.labels("accounts").observe(0.3)

    first = samples(metrics)
    assert first[("credits_events_consumed_total", (("topic", "usage.call-minutes"),))] == 7
    assert first[("credits_dead_letters_total", (("reason", "no_rate"),))] == 1
    bucket = ("credits_processing_latency_seconds_bucket", (("le", "0.5"), ("stage", "accounts")))
    assert first[bucket] == 1
    lag_of = ("credits_consumer_lag", (("partition", "0"), ("topic", "usage.call-minutes")))
    assert first[lag_of] == 5
    assigned = ("credits_partitions_assigned", (("topic", "usage.call-minutes"),))
    assert first[assigned] == 3
    unknown = ("credits_consumer_lag", (("partition", "2"), ("topic", "usage.call-minutes")))
    assert unknown not in first
    assert first[("credits_tables_recovered", ())] == 0
    table = ("table", "accounts")
    assert first[("credits_changelog_records_recovered_total", (table,))] == 12

    recovered[0] = True
    lag[0] = ("usage.call-minutes", 0, 0)
    second = samples(metrics)
    assert second[("credits_tables_recovered", ())] == 1
    assert second[lag_of] == 0


def test_two_workers_in_one_process_do_not_share_counters() -> None:
    one, two = Metrics(), Metrics()
    one.applied.inc(3)
    assert samples(two)[("credits_events_applied_total", ())] == 0
