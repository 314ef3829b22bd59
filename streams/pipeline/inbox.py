"""Fetched messages on their way to a stage, handed over a batch at a time.

Faust hands each fetched message over on its own: two tasks, an event, a queue put and
a stream step per message, most of a worker's time in a profile. The worker's consumer
instead puts each partition's fetched run into its stage's inbox as one list, and the
stage takes all that has gathered, up to a batch, in one step.
"""

from __future__ import annotations

import asyncio
from collections import deque

from faust.types import Message


class Inbox:
    def __init__(self, room: int) -> None:
        self.room = room  # the consumer fetches no more while this many messages wait
        self._runs: deque[list[Message]] = deque()
        self._waiting = 0
        self._arrived = asyncio.Event()
        self._has_room = asyncio.Event()
        self._has_room.set()
        self._in_hand = False
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, run: list[Message]) -> None:
        """Add one partition's fetched run; never waits (see ``wait_for_room``)."""
        self._runs.append(run)
        self._waiting += len(run)
        self._arrived.set()
        if self._waiting >= self.room:
            self._has_room.clear()

    async def wait_for_room(self) -> None:
        await self._has_room.wait()

    async def take(self, limit: int) -> list[Message]:
        """The runs waiting, oldest first, up to about ``limit`` messages (at least one run).

        The batch is in hand until ``done``.
        """
        while not self._runs:
            self._arrived.clear()
            await self._arrived.wait()
        runs = self._runs
        batch = runs.popleft()
        while runs and len(batch) + len(runs[0]) <= limit:
            batch += runs.popleft()
        self._waiting -= len(batch)
        if self._waiting < self.room:
            self._has_room.set()
        self._in_hand = True
        self._idle.clear()
        return batch

    def done(self) -> None:
        """The batch taken last is written, or given up."""
        self._in_hand = False
        self._idle.set()

    @property
    def waiting(self) -> int:
        return self._waiting

    async def wait_idle(self) -> None:
        """Until no batch is in hand (messages may still wait)."""
        await self._idle.wait()
