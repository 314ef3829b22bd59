"""Every workaround of Faust, mode and aiokafka internals, and nothing else.

Each class or function here names, in its docstring, the upstream behaviour it replaces
and why. The rest of ``streams/`` uses Faust's public API and what this package exports.
``upstream.py`` lists the upstream code each one replaces or relies on, with a digest of
its source; ``tests/unit/test_faust_fixes/test_upstream.py`` fails when an upgrade
changes any of it.

- ``MeteringApp`` (app.py): the app with the consumer, stream and recovery below;
  ``leader_topic_name``: the name of Faust's leader-assignor topic.
- ``ProcessedOnlyConsumer`` (consumer.py): commits only what the stages processed, hands
  fetched runs to the stages' inboxes, reads committed records only, leaves the group.
- ``MarkerAwareTables`` (recovery.py): table recovery that ends at transaction markers.
- ``AckedStream`` (stream.py): acks of Faust agents through the consumer's checks.
- ``QuietWorker``, ``DrainingWorker`` (worker.py): no spinner; SIGTERM drains.
- ``PartitionedStore``, ``store_url``, ``table_state`` (stores.py): the tables' store,
  partition stores with their changelog offsets (``streams/state``).
- ``exit_now``, ``exit_for_redelivery`` (exit.py): leaving without Faust's shutdown.
"""

from streams.faust_fixes.app import MeteringApp, leader_topic_name
from streams.faust_fixes.consumer import ProcessedOnlyConsumer
from streams.faust_fixes.exit import EXIT_FOR_REDELIVERY, exit_for_redelivery, exit_now
from streams.faust_fixes.stores import store_url, table_state
from streams.faust_fixes.worker import DrainingWorker, QuietWorker

__all__ = [
    "EXIT_FOR_REDELIVERY",
    "DrainingWorker",
    "MeteringApp",
    "ProcessedOnlyConsumer",
    "QuietWorker",
    "exit_for_redelivery",
    "exit_now",
    "leader_topic_name",
    "store_url",
    "table_state",
]
