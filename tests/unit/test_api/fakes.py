"""Stand-ins for what the views ask of Faust: a table, the app's table routing and
producer, a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import faust
import orjson
from faust.web import Response

# A real web driver: the views' replies are aiohttp responses, as when served.
WEB = faust.App("api-unit-tests", autodiscover=False).web


class FakeTable:
    def __init__(
        self, name: str, rows: dict[bytes, bytes] | None = None, changelog: str = ""
    ) -> None:
        self.name = name
        self.data = dict(rows or {})
        self.changelog_topic = SimpleNamespace(get_topic_name=lambda: changelog)

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    async def send_and_wait(self, *args: Any) -> None:
        self.sent.append(args)


class FakeApp:
    """Routes every request as if this worker owned the key (Faust's SameNode), and
    records what each view asked to be routed by."""

    def __init__(self) -> None:
        self.routes: list[tuple[object, str]] = []
        self.producer = FakeProducer()

    def table_route(self, table: object, match_info: str) -> Callable[[Callable], Callable]:
        self.routes.append((table, match_info))

        def decorator(fun: Callable[..., Awaitable[Response]]) -> Callable:
            async def routed(view: Any, request: Any, *args: Any) -> Response:
                return await fun(view, request, *args)

            return routed

        return decorator


class FakeRequest:
    def __init__(self, body: bytes = b"", **query: str) -> None:
        self.body = body
        self.query = query

    async def read(self) -> bytes:
        return self.body


def replied(response: Response) -> tuple[int, Any]:
    return response.status, orjson.loads(response.body)
