"""Bearer tokens with roles: the tokens file, the check of every request (401, 403, 413),
the open probes, and the refusal to serve a non-loopback address without tokens."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.api import views
from streams.api.auth import (
    CALLER,
    Caller,
    Tokens,
    TokensError,
    bounded_body,
    caller_of,
    check_exposure,
    guard,
)
from tests.unit.test_api.fakes import WEB, FakeApp, FakeRequest, replied
from tests.unit.test_api.test_views import _publisher

ADMIN, READER = "admin-token-1", "read-token-2"


def _tokens_file(tmp_path: Path, entries: list[dict] | None = None) -> Path:
    path = tmp_path / "tokens.json"
    entries = entries or [
        {"name": "ops", "sha256": hashlib.sha256(ADMIN.encode()).hexdigest(), "role": "admin"},
        {"name": "dash", "sha256": hashlib.sha256(READER.encode()).hexdigest(), "role": "read"},
    ]
    path.write_bytes(orjson.dumps({"tokens": entries}))
    return path


def test_a_token_is_known_by_its_sha256_and_names_its_caller(tmp_path: Path) -> None:
    tokens = Tokens.load(_tokens_file(tmp_path))
    assert tokens.caller(f"Bearer {ADMIN}") == Caller("ops", "admin")
    assert tokens.caller(f"bearer {READER}") == Caller("dash", "read")
    for wrong in (None, "", ADMIN, f"Basic {ADMIN}", "Bearer ", "Bearer nope"):
        assert tokens.caller(wrong) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "unexpected end of data"),
        (b'{"tokens": []}', "tokens: List should have at least 1 item"),
        (b'{"tokens": [{"name": "x", "sha256": "abc", "role": "admin"}]}', "tokens.0.sha256"),
        (b'{"tokens": [{"name": "x", "sha256": "' + b"a" * 64 + b'", "role": "root"}]}', "role"),
    ],
)
def test_an_unusable_tokens_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    with pytest.raises(TokensError) as raised:
        Tokens.load(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_non_loopback_address_needs_tokens(tmp_path: Path) -> None:
    assert check_exposure("127.0.0.1", None) is None
    assert check_exposure("::1", None) is None
    with pytest.raises(TokensError, match=r"STREAMS_WEB_BIND=0\.0\.0\.0 needs STREAMS_API_TOKENS"):
        check_exposure("0.0.0.0", None)
    assert isinstance(check_exposure("0.0.0.0", _tokens_file(tmp_path)), Tokens)


async def _ok(request: web.Request) -> web.Response:
    caller = caller_of(request)
    return web.json_response({"caller": caller and caller.name})


async def _client(tokens: Tokens | None, metrics_public: bool = False) -> TestClient:
    app = web.Application(middlewares=[guard(tokens, metrics_public)])
    for path in ("/accounts/org-1", "/healthz", "/readyz", "/metrics"):
        app.router.add_get(path, _ok)
    app.router.add_post("/accounts/org-1/funds", _ok)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_every_endpoint_but_the_probes_needs_a_token(tmp_path: Path) -> None:
    client = await _client(Tokens.load(_tokens_file(tmp_path)))
    try:
        refused = await client.get("/accounts/org-1")
        assert refused.status == 401
        assert await refused.json() == {"error": "a valid bearer token is required"}
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await client.get("/accounts/org-1", headers=_bearer("nope"))).status == 401
        assert (await client.get("/metrics")).status == 401
        for probe in ("/healthz", "/readyz"):
            assert (await client.get(probe)).status == 200
    finally:
        await client.close()


async def test_a_read_token_reads_and_only_an_admin_token_writes(tmp_path: Path) -> None:
    client = await _client(Tokens.load(_tokens_file(tmp_path)))
    try:
        read = await client.get("/accounts/org-1", headers=_bearer(READER))
        assert (read.status, await read.json()) == (200, {"caller": "dash"})
        write = await client.post("/accounts/org-1/funds", headers=_bearer(READER), data=b"{}")
        assert (write.status, await write.json()) == (403, {"error": "token 'dash' may only read"})
        admin = await client.post("/accounts/org-1/funds", headers=_bearer(ADMIN), data=b"{}")
        assert (admin.status, await admin.json()) == (200, {"caller": "ops"})
    finally:
        await client.close()


async def test_metrics_may_be_public_and_nothing_is_checked_without_tokens(tmp_path: Path) -> None:
    public = await _client(Tokens.load(_tokens_file(tmp_path)), metrics_public=True)
    open_api = await _client(None)
    try:
        assert (await public.get("/metrics")).status == 200
        assert (await public.get("/accounts/org-1")).status == 401
        assert (await open_api.post("/accounts/org-1/funds", data=b"{}")).status == 200
    finally:
        await public.close()
        await open_api.close()


async def test_a_body_over_64_kib_is_refused_before_it_is_read(tmp_path: Path) -> None:
    client = await _client(Tokens.load(_tokens_file(tmp_path)))
    try:
        big = b"x" * (64 * 1024 + 1)
        refused = await client.post("/accounts/org-1/funds", headers=_bearer(ADMIN), data=big)
        assert refused.status == 413
        assert await refused.json() == {"error": "request body over 65536 bytes"}
    finally:
        await client.close()


async def test_a_chunked_body_is_read_no_further_than_the_limit() -> None:
    request = FakeRequest(b"y" * 200_000)
    with pytest.raises(Exception, match="over 65536 bytes"):
        await bounded_body(request)  # type: ignore[arg-type]
    assert len(request.content.body) == 200_000 - (64 * 1024 + 1)  # the rest never read
    assert await bounded_body(FakeRequest(b"small")) == b"small"  # type: ignore[arg-type]


async def test_an_accepted_write_logs_one_audit_line(caplog: pytest.LogCaptureFixture) -> None:
    app = FakeApp()
    page = views.FundsPage(app, WEB, _publisher(app))
    request = FakeRequest(
        orjson.dumps({"amount": "5.00", "currency": "USD", "command_id": "c-9"}),
        method="POST",
        path="/accounts/org-1/funds",
    )
    request[CALLER] = Caller("ops", "admin")
    with caplog.at_level(logging.INFO, logger="streams.events"):
        assert replied(await page.post(request, "org-1"))[0] == 202
    (line,) = [r for r in caplog.records if getattr(r, "audit", False)]
    assert (line.token, line.method, line.path, line.account_id, line.command_id) == (
        "ops",
        "POST",
        "/accounts/org-1/funds",
        "org-1",
        "c-9",
    )
