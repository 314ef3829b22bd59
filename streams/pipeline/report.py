"""What a batch did, counted and logged once its writes are in Kafka."""

from __future__ import annotations

from streams.domain.outputs import Refusal
from streams.observe import logs
from streams.observe.metrics import Metrics
from streams.pipeline.accounts import Plan
from streams.pipeline.records import Origin


class Report:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def dead_lettered(
        self,
        origin: Origin,
        refusal: Refusal,
        account_id: str | None,
        input_id: str | None = None,
    ) -> None:
        self.metrics.dead_letters.labels(refusal.code).inc()
        logs.dead_letter(
            origin.topic,
            origin.partition,
            origin.offset,
            refusal.code,
            refusal.reason,
            account_id,
            input_id,
        )

    def planned(self, plan: Plan) -> None:
        metrics = self.metrics
        metrics.applied.inc(plan.applied)
        metrics.duplicates.inc(plan.duplicates)
        for letter in plan.letters:
            self.dead_lettered(letter.origin, letter.refusal, letter.account_id, letter.input_id)
        for request in plan.requests:
            metrics.recharge_requests.inc()
            logs.recharge_requested(request)
