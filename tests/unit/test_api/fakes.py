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


class FakeBody:
    """A request's body stream, handed out in pieces of at most ``piece`` bytes."""

    def __init__(self, body: bytes, piece: int = 1000) -> None:
        self.body, self.piece = body, piece

    async def read(self, most: int) -> bytes:
        taken = self.body[: min(most, self.piece)]
        self.body = self.body[len(taken) :]
        return taken


class FakeRequest(dict):
    """A request: its body, query, method and path (and what middleware put in it)."""

    def __init__(
        self, body: bytes = b"", method: str = "GET", path: str = "/", **query: str
    ) -> None:
        super().__init__()
        self.content = FakeBody(body)
        self.query = query
        self.method, self.path = method, path
        self.headers: dict[str, str] = {}


def replied(response: Response) -> tuple[int, Any]:
    return response.status, orjson.loads(response.body)
