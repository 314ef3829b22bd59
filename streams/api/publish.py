"""Commands sent over HTTP, validated (``commands.build_command``), then published to
credits.commands like any admin tool's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import faust

from streams.api.commands import build_command
from streams.wire.decode import Decoder


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"api-{uuid.uuid4()}"


class CommandPublisher:
    """Publishes a command keyed by its account. The producer is the app's, taken when
    first used (the app makes it when it starts)."""

    def __init__(
        self,
        decoder: Decoder,
        app: faust.App,
        topic: str,
        now: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.decoder = decoder
        self.app = app
        self.topic = topic
        self.now = now
        self.new_id = new_id

    async def publish(self, command_type: str, account_id: str, body: bytes) -> str:
        """The published command's id; BadCommand, and nothing sent, if it is not valid."""
        command_id, value = build_command(
            self.decoder, command_type, account_id, body, self.now(), new_id=self.new_id()
        )
        await self.app.producer.send_and_wait(
            self.topic, account_id.encode(), value, None, None, None
        )
        return command_id
