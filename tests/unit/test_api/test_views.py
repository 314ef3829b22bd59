"""The views, each made with its collaborators: status codes and bodies, the table each
account view is routed by, and the routes ``register`` serves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import faust
import orjson
import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from streams.api import views
from streams.api.account_view import account_fields
from streams.api.all_accounts import Incomplete
from streams.api.commands import ADD_FUNDS
from streams.api.gather import Unavailable
from streams.api.publish import CommandPublisher
from streams.api.worker import AccountStore, readiness
from streams.domain import AccountState
from streams.domain.usage import UsageWindows
from streams.observe.metrics import Metrics
from streams.pipeline.state import encode, encode_windows
from streams.pipeline.tables import Tables
from streams.wire.decode import Decoder
from streams.wire.schemas import Validators
from tests.unit.test_api.fakes import WEB, FakeApp, FakeRequest, FakeTable, replied

STATE = AccountState(account_id="org-1", balance=25_000, currency="USD")
WINDOWS = UsageWindows(days={"2026-12-01": {"call:domestic": [120, 40_000]}}, months={})


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def store() -> AccountStore:
    accounts = FakeTable("accounts", {b"org-1": encode(STATE, applied_offset=7)})
    windows = FakeTable("usage-windows", {b"org-1": encode_windows(WINDOWS, counted_offset=7)})
    return AccountStore(accounts, windows)  # type: ignore[arg-type]


async def test_an_account_is_routed_by_the_accounts_table_and_shown(app, store) -> None:
    page = views.AccountPage(app, WEB, store.accounts, store)

    assert app.routes == [(store.accounts, "account_id")]
    assert replied(await page.get(FakeRequest(), "org-1")) == (200, account_fields(STATE))
    status, body = replied(await page.get(FakeRequest(), "org-nobody"))
    assert (status, body) == (404, {"error": "no account 'org-nobody'"})


async def test_the_status_is_routed_by_the_accounts_table_and_shown(app, store) -> None:
    page = views.StatusPage(app, WEB, store.accounts, store)

    assert app.routes == [(store.accounts, "account_id")]
    assert replied(await page.get(FakeRequest(), "org-1")) == (
        200,
        {
            "account_id": "org-1",
            "balance": "0.025",
            "currency": "USD",
            "status": "active",
            "auto_recharge": "off",
            "pending_request_id": None,
            "seq": 0,
            "updated_at": None,
        },
    )
    assert replied(await page.get(FakeRequest(), "org-nobody"))[0] == 404


async def test_usage_is_routed_by_the_usage_table_and_shown_by_period(app, store) -> None:
    page = views.UsagePage(app, WEB, store.usage_windows, store, today=lambda: date(2026, 12, 2))

    assert app.routes == [(store.usage_windows, "account_id")]
    status, body = replied(await page.get(FakeRequest(period="day"), "org-1"))
    assert (status, body["currency"], body["period"]) == (200, "USD", "day")
    assert [w["start"][:10] for w in body["windows"]] == ["2026-12-02", "2026-12-01"]
    status, body = replied(await page.get(FakeRequest(), "org-1"))
    assert (status, body["period"]) == (200, "day")


async def test_usage_of_a_bad_period_or_no_account_is_refused(app, store) -> None:
    page = views.UsagePage(app, WEB, store.usage_windows, store)

    status, body = replied(await page.get(FakeRequest(period="week"), "org-1"))
    assert (status, body) == (400, {"error": "period must be day or month, got 'week'"})
    assert replied(await page.get(FakeRequest(), "org-2"))[0] == 404


def _publisher(app: FakeApp) -> CommandPublisher:
    return CommandPublisher(
        Decoder(Validators()),
        app,  # type: ignore[arg-type]
        "credits.commands",
        now=lambda: datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
        new_id=lambda: "api-1",
    )


async def test_a_command_is_published_keyed_by_its_account_202_with_its_id(app) -> None:
    page = views.FundsPage(app, WEB, _publisher(app))
    body = orjson.dumps({"amount": "25.00", "currency": "USD"})

    assert replied(await page.post(FakeRequest(body), "org-1")) == (202, {"command_id": "api-1"})
    [(topic, key, value, *rest)] = app.producer.sent
    assert (topic, key, rest) == ("credits.commands", b"org-1", [None, None, None])
    assert orjson.loads(value)["type"] == ADD_FUNDS


async def test_a_bad_command_is_refused_400_and_not_published(app) -> None:
    page = views.AutoRechargePage(app, WEB, _publisher(app))

    status, body = replied(await page.put(FakeRequest(b"[1]"), "org-1"))
    assert (status, body) == (400, {"error": "the body must be a JSON object"})
    assert app.producer.sent == []


class _Local:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def part(self) -> dict:
        if self.error:
            raise self.error
        return {"partitions": [0], "accounts": []}


class _Every:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def accounts(self, authorization: str | None = None) -> list:
        self.authorization = authorization
        if self.error:
            raise self.error
        return [{"account_id": "org-1"}]


async def test_every_account_or_the_local_part(app) -> None:
    page = views.AccountsPage(app, WEB, _Local(), _Every())  # type: ignore[arg-type]

    assert replied(await page.get(FakeRequest())) == (200, {"accounts": [{"account_id": "org-1"}]})
    local = replied(await page.get(FakeRequest(scope="local")))
    assert local == (200, {"partitions": [0], "accounts": []})


@pytest.mark.parametrize("error", [Unavailable("w2 did not answer"), Incomplete("rebalancing")])
async def test_every_account_not_to_be_had_now_is_503_with_why(app, error) -> None:
    page = views.AccountsPage(app, WEB, _Local(error), _Every(error))  # type: ignore[arg-type]

    for request in (FakeRequest(), FakeRequest(scope="local")):
        assert replied(await page.get(request)) == (503, {"error": str(error)})


class _Readiness:
    def __init__(self, **conditions: bool) -> None:
        self.conditions = conditions

    def state(self) -> dict[str, bool]:
        return readiness(**self.conditions)


@pytest.mark.parametrize(
    ("recovered", "assigned", "rebalancing", "status"),
    [
        (True, True, False, 200),
        (False, True, False, 503),
        (True, False, False, 503),
        (True, True, True, 503),
    ],
)
async def test_ready_only_when_recovered_assigned_and_not_rebalancing(
    app, recovered, assigned, rebalancing, status
) -> None:
    conditions = {"recovered": recovered, "assigned": assigned, "rebalancing": rebalancing}
    page = views.ReadyPage(app, WEB, _Readiness(**conditions))  # type: ignore[arg-type]

    assert replied(await page.get(FakeRequest())) == (
        status,
        {"ready": status == 200, "tables_recovered": recovered, "partitions_assigned": assigned},
    )


async def test_health_and_metrics(app) -> None:
    assert replied(await views.HealthPage(app, WEB).get(FakeRequest())) == (
        200,
        {"status": "alive"},
    )
    response = await views.MetricsPage(app, WEB, Metrics()).get(FakeRequest())
    assert (response.status, response.headers["Content-Type"]) == (200, CONTENT_TYPE_LATEST)


def test_register_serves_each_path_with_its_methods() -> None:
    app = faust.App("api-register-test", autodiscover=False)
    Tables.declare(app, partitions=4, store="memory")

    views.register(app, Decoder(Validators()), "credits.commands", Metrics(), tokens=None)

    served = {(r.method, r.resource.canonical) for r in app.web.web_app.router.routes()}
    assert served - {(m, p) for m, p in served if m == "HEAD"} == {
        ("GET", "/accounts"),
        ("POST", "/accounts/{account_id}/funds"),
        ("PUT", "/accounts/{account_id}/auto-recharge"),
        ("GET", "/accounts/{account_id}"),
        ("GET", "/accounts/{account_id}/usage"),
        ("GET", "/accounts/{account_id}/status"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    }
    assert {type(view).__name__ for view in app.web.views.values()} == {
        "AccountsPage",
        "FundsPage",
        "AutoRechargePage",
        "AccountPage",
        "UsagePage",
        "StatusPage",
        "MetricsPage",
        "HealthPage",
        "ReadyPage",
    }
