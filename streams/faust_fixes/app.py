"""The Faust app class with this package's consumer, stream and table recovery."""

from __future__ import annotations

import faust
from faust.types.transports import TransportT

from streams.faust_fixes.consumer import ProcessedOnlyTransport
from streams.faust_fixes.recovery import MarkerAwareTables
from streams.faust_fixes.stream import AckedStream


class MeteringApp(faust.App):
    """``faust.App`` with the consumer, stream and table manager of this package.

    Replaces: ``faust.App._new_transport``, the one place the app picks its transport
    (and with it the consumer class); ``Stream`` and ``TableManager`` are Faust's own
    options.
    """

    def __init__(self, *args: object, **options: object) -> None:
        super().__init__(*args, Stream=AckedStream, TableManager=MarkerAwareTables, **options)

    def _new_transport(self) -> TransportT:
        return ProcessedOnlyTransport(self.conf.broker_consumer, self)


def leader_topic_name(app: faust.App) -> str:
    """The one-partition topic Faust's leader assignor subscribes to.

    Reads: ``LeaderAssignor._leader_topic_name`` (Faust has no public name for it), so
    that the worker creates the topic itself, replicated like the others: Faust would
    create it with its own replica count and no ``min.insync.replicas``.
    """
    return app._leader_assignor._leader_topic_name  # type: ignore[attr-defined]
