"""Who may call the HTTP API: bearer tokens with a role, checked for every request.

The tokens file (``STREAMS_API_TOKENS_FILE``) holds no token, only each one's sha256:
``{"tokens": [{"name": "ops", "sha256": "<hex>", "role": "admin"}]}``. A request's token
is hashed and compared with every entry in constant time. ``admin`` may read and write,
``read`` may only read. Without a tokens file nothing is checked, which the worker
allows on a loopback address only (``check_exposure``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # for probes: they say nothing of accounts
METRICS_PATH = "/metrics"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 64 * 1024


class TokenEntry(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    role: Literal["admin", "read"]


class TokensFile(BaseModel):
    tokens: list[TokenEntry] = Field(min_length=1)


class TokensError(ValueError):
    """The tokens file cannot be used; str() says why, in one line."""


@dataclass(frozen=True)
class Caller:
    """Whose token a request carried."""

    name: str
    role: str


class Tokens:
    def __init__(self, entries: list[TokenEntry]) -> None:
        self.entries = [(bytes.fromhex(e.sha256), Caller(e.name, e.role)) for e in entries]

    @classmethod
    def load(cls, path: Path) -> Tokens:
        try:
            parsed = TokensFile.model_validate(orjson.loads(path.read_bytes()))
        except (OSError, orjson.JSONDecodeError) as error:
            raise TokensError(f"{path}: {error}") from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise TokensError(f"{path}: {where}: {first['msg']}") from None
        return cls(parsed.tokens)

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller a ``Bearer`` header names, None for no valid token. Every entry is
        compared, in constant time, whichever matches."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hashlib.sha256(token.strip().encode()).digest()
        found = None
        for expected, caller in self.entries:
            if hmac.compare_digest(digest, expected):
                found = caller
        return found


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CALLER = web.RequestKey("caller", Caller)  # set by ``guard`` on each request it lets in


def refusal(status: int, error: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="credits"'} if status == 401 else None
    body = orjson.dumps({"error": error})
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


def guard(tokens: Tokens | None, metrics_public: bool) -> Callable:
    """aiohttp middleware: 413 for a body over 64 KiB, before it is read; then, with
    tokens, 401 without a valid one and 403 for a ``read`` token on a write."""

    @web.middleware
    async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return refusal(413, f"request body over {MAX_BODY_BYTES} bytes")
        if tokens is None or request.path in OPEN_PATHS:
            return await handler(request)
        if request.path == METRICS_PATH and metrics_public:
            return await handler(request)
        caller = tokens.caller(request.headers.get("Authorization"))
        if caller is None:
            return refusal(401, "a valid bearer token is required")
        if request.method not in READ_METHODS and caller.role != "admin":
            return refusal(403, f"token {caller.name!r} may only read")
        request[CALLER] = caller
        return await handler(request)

    return guarded


def caller_of(request: web.Request) -> Caller | None:
    """The caller ``guard`` let through, None when no tokens are configured."""
    return request.get(CALLER)


class BodyTooLarge(Exception):
    pass


async def bounded_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read no further than ``limit`` bytes (BodyTooLarge past it): a
    chunked body declares no length for ``guard`` to check."""
    chunks, size = [], 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body over {limit} bytes")
    return b"".join(chunks)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def check_exposure(bind: str, tokens_file: Path | None) -> Tokens | None:
    """The tokens the worker checks; TokensError if it would serve a non-loopback address
    without any (anyone who reaches it could move money) or the file is unusable."""
    if tokens_file is None:
        if not is_loopback(bind):
            raise TokensError(
                f"STREAMS_WEB_BIND={bind} needs STREAMS_API_TOKENS_FILE: without tokens "
                "the HTTP API (which adds funds) listens on loopback only"
            )
        return None
    return Tokens.load(tokens_file)
