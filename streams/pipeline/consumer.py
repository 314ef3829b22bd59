"""A Faust consumer whose commits never pass a message the agents did not process.

Faust 0.15.3 acks every message its streams skip while a rebalance is under way (flow
control suspended, or the message fetched in an older generation). An ack is a promise
that the offset may be committed. Those acks of skipped messages stay in the consumer's
ack list, and when the partition comes back to the same worker they are committed: the
group's position then jumps over messages nobody processed. The crash test lost the
first recharge results of a partition this way.

Here an ack only counts when it comes from the current generation with the flow
running. A refused ack costs nothing but a redelivery, which the dedupe absorbs.
"""

from __future__ import annotations

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import Message
from faust.types.transports import TransportT


class ProcessedOnlyConsumer(aiokafka_driver.Consumer):
    def ack(self, message: Message) -> bool:
        app = self.app
        if message.generation_id != app.consumer_generation_id or not app.flow_control.is_active():
            message.acked = True
            self._unacked_messages.discard(message)
            return False
        return super().ack(message)


class _Transport(aiokafka_driver.Transport):
    Consumer = ProcessedOnlyConsumer


class MeteringApp(faust.App):
    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
