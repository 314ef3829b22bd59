"""HTTP views: the account view (answered by the worker that owns the account's
partition, whichever worker the request reaches), every account (gathered from every
worker), commands (validated, then published to credits.commands, like any admin tool's),
metrics, liveness and readiness.

Each view is a Faust ``View`` given its collaborators when it is made; ``register`` makes
them and adds them to the app's web server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, ClassVar

import faust
import orjson
from faust.web import Request, Response, View, Web
from prometheus_client import CONTENT_TYPE_LATEST

from streams.api.account_view import account_view
from streams.api.all_accounts import Incomplete
from streams.api.auth import BodyTooLarge, Tokens, bounded_body, caller_of, guard
from streams.api.commands import ADD_FUNDS, CONFIGURE_AUTO_RECHARGE, BadCommand
from streams.api.gather import EveryAccount, Group, LocalPart, Peers, Unavailable
from streams.api.publish import CommandPublisher
from streams.api.usage_view import usage_view
from streams.api.worker import AccountStore, Readiness
from streams.domain.usage import DAY, PERIODS
from streams.observe import logs
from streams.observe.metrics import Metrics
from streams.pipeline.tables import ACCOUNTS, USAGE_WINDOWS
from streams.wire import encode
from streams.wire.decode import Decoder

JSON = "application/json"


def _today() -> date:
    return datetime.now(UTC).date()


class Page(View):
    """A view with the path and name Faust's ``Web.add_view`` reads, and JSON replies."""

    view_name: ClassVar[str]
    view_path: ClassVar[str]

    def reply(self, body: dict[str, Any], status: int = 200) -> Response:
        return self.bytes(orjson.dumps(body), content_type=JSON, status=status)


class AccountsPage(Page):
    """GET /accounts: every account (``?scope=local``: those of this worker's partitions)."""

    view_name = "all_accounts"
    view_path = "/accounts"

    def __init__(self, app: faust.App, web: Web, local: LocalPart, every: EveryAccount) -> None:
        super().__init__(app, web)
        self.local = local
        self.every = every

    async def get(self, request: Request) -> Response:
        try:
            if request.query.get("scope") == "local":
                return self.reply(self.local.part())
            # The other workers check the caller's token too.
            authorization = request.headers.get("Authorization")
            return self.reply({"accounts": await self.every.accounts(authorization)})
        except (Unavailable, Incomplete) as error:
            return self.reply({"error": str(error)}, status=503)


class CommandPage(Page):
    """A command about the account in the path: 202 with its id once published, 400 with
    the reason if the body is not a valid command."""

    command_type: ClassVar[str]

    def __init__(self, app: faust.App, web: Web, publisher: CommandPublisher) -> None:
        super().__init__(app, web)
        self.publisher = publisher

    async def publish(self, request: Request, account_id: str) -> Response:
        try:
            body = await bounded_body(request)
            command_id = await self.publisher.publish(self.command_type, account_id, body)
        except BodyTooLarge as error:
            return self.reply({"error": str(error)}, status=413)
        except BadCommand as error:
            return self.reply({"error": str(error)}, status=400)
        caller = caller_of(request)
        logs.audit(caller and caller.name, request.method, request.path, account_id, command_id)
        return self.reply({"command_id": command_id}, status=202)


class FundsPage(CommandPage):
    """POST /accounts/{account_id}/funds: an add_funds command."""

    view_name = "Funds"
    view_path = "/accounts/{account_id}/funds"
    command_type = ADD_FUNDS

    async def post(self, request: Request, account_id: str) -> Response:
        return await self.publish(request, account_id)


class AutoRechargePage(CommandPage):
    """PUT /accounts/{account_id}/auto-recharge: a configure_auto_recharge command."""

    view_name = "AutoRecharge"
    view_path = "/accounts/{account_id}/auto-recharge"
    command_type = CONFIGURE_AUTO_RECHARGE

    async def put(self, request: Request, account_id: str) -> Response:
        return await self.publish(request, account_id)


class OwnerPage(Page):
    """GET of a view of the account in the path, answered (``answer``) by the worker that
    owns the account's partition of ``table``: Faust's ``table_route`` forwards the
    request to that worker, or answers here if it is this one."""

    def __init__(self, app: faust.App, web: Web, table: faust.Table, store: AccountStore) -> None:
        super().__init__(app, web)
        self.store = store
        self.routed = app.table_route(table=table, match_info="account_id")(type(self).answer)

    async def get(self, request: Request, account_id: str) -> Response:
        return await self.routed(self, request, account_id)

    async def answer(self, request: Request, account_id: str) -> Response:
        raise NotImplementedError

    def no_account(self, account_id: str) -> Response:
        return self.reply({"error": f"no account {account_id!r}"}, status=404)


class AccountPage(OwnerPage):
    """GET /accounts/{account_id}: the account's state; 404 if there is no such account."""

    view_name = "account"
    view_path = "/accounts/{account_id}"
    shown = staticmethod(account_view)  # the state as this page shows it

    async def answer(self, request: Request, account_id: str) -> Response:
        state = self.store.state(account_id)
        if state is None:
            return self.no_account(account_id)
        return self.bytes(self.shown(state), content_type=JSON)


class StatusPage(AccountPage):
    """GET /accounts/{account_id}/status: the document credits.account-status carries."""

    view_name = "account_status"
    view_path = "/accounts/{account_id}/status"
    shown = staticmethod(encode.account_status)


class UsagePage(OwnerPage):
    """GET /accounts/{account_id}/usage?period=day|month: the account's usage windows."""

    view_name = "usage"
    view_path = "/accounts/{account_id}/usage"

    def __init__(
        self,
        app: faust.App,
        web: Web,
        table: faust.Table,
        store: AccountStore,
        today: Callable[[], date] = _today,
    ) -> None:
        super().__init__(app, web, table, store)
        self.today = today

    async def answer(self, request: Request, account_id: str) -> Response:
        period = request.query.get("period", DAY)
        if period not in PERIODS:
            return self.reply({"error": f"period must be day or month, got {period!r}"}, 400)
        state = self.store.state(account_id)
        if state is None:
            return self.no_account(account_id)
        windows = self.store.windows(account_id)
        view = usage_view(account_id, state.currency, windows, period, self.today())
        return self.bytes(view, content_type=JSON)


class MetricsPage(Page):
    """GET /metrics: the Prometheus exposition."""

    view_name = "prometheus"
    view_path = "/metrics"

    def __init__(self, app: faust.App, web: Web, metrics: Metrics) -> None:
        super().__init__(app, web)
        self.metrics = metrics

    async def get(self, request: Request) -> Response:
        # In a header: aiohttp refuses a charset in content_type.
        return self.bytes(self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


class HealthPage(Page):
    """GET /healthz: 200 while the worker serves HTTP at all."""

    view_name = "healthz"
    view_path = "/healthz"

    async def get(self, request: Request) -> Response:
        return self.reply({"status": "alive"})


class ReadyPage(Page):
    """GET /readyz: 200 if ready, else 503; the body says which condition is missing."""

    view_name = "readyz"
    view_path = "/readyz"

    def __init__(self, app: faust.App, web: Web, readiness: Readiness) -> None:
        super().__init__(app, web)
        self.readiness = readiness

    async def get(self, request: Request) -> Response:
        body = self.readiness.state()
        return self.reply(body, status=200 if body["ready"] else 503)


def pages(
    app: faust.App, decoder: Decoder, commands_topic: str, metrics: Metrics
) -> list[Callable[[faust.App, Web], View]]:
    """Each view's class with its collaborators: what ``Web.add_view`` calls with (app, web)."""
    accounts, usage_windows = app.tables[ACCOUNTS], app.tables[USAGE_WINDOWS]
    store = AccountStore(accounts, usage_windows)
    readiness = Readiness(app)
    group = Group(app, accounts)
    local = LocalPart(group, store, readiness)
    publisher = CommandPublisher(decoder, app, commands_topic)
    return [
        partial(AccountsPage, local=local, every=EveryAccount(group, local, Peers(app))),
        partial(FundsPage, publisher=publisher),
        partial(AutoRechargePage, publisher=publisher),
        partial(AccountPage, table=accounts, store=store),
        partial(StatusPage, table=accounts, store=store),
        partial(UsagePage, table=usage_windows, store=store),
        partial(MetricsPage, metrics=metrics),
        HealthPage,
        partial(ReadyPage, readiness=readiness),
    ]


def register(
    app: faust.App,
    decoder: Decoder,
    commands_topic: str,
    metrics: Metrics,
    tokens: Tokens | None,
    metrics_public: bool = False,
) -> None:
    # Web.add_view makes the view itself, as view_cls(app, web), and Faust has no public
    # way to give it more constructor arguments: each page here is its class with the
    # rest bound. add_view reads view_path and view_name from the view it made.
    for page in pages(app, decoder, commands_topic, metrics):
        app.web.add_view(page)  # type: ignore[arg-type]
    # Before every route, Faust's own included: aiohttp's middleware, on its application.
    app.web.web_app.middlewares.append(guard(tokens, metrics_public))
