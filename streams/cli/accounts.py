"""``streams accounts``: every account's balance, from a worker's HTTP API, as a table."""

from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from streams.cli.common import settings as load

# GET /accounts asks every worker for its part, each within 5 s: wait a little longer.
HTTP_TIMEOUT = 10.0

EXAMPLE_URL = "http://127.0.0.1:6066"
COLUMNS = ("account", "balance", "currency", "auto-recharge", "pending request")


def account_row(account: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """One account of GET /accounts as the table shows it; amounts as the API writes them."""
    auto, pending = account["auto_recharge"], account["pending_recharge"]
    if auto is None or not auto["enabled"]:
        recharge = "off"
    else:
        recharge = f"{auto['recharge_amount']} below {auto['trigger_balance']}"
        if account["recharge_suspended"]:
            recharge = f"suspended ({recharge})"
    return (
        account["account_id"],
        account["balance"],
        account["currency"] or "-",
        recharge,
        "-" if pending is None else f"{pending['request_id']} ({pending['amount']})",
    )


def accounts_table(accounts: list[dict[str, Any]]) -> Table:
    table = Table(caption=f"{len(accounts)} account{'' if len(accounts) == 1 else 's'}")
    for name in COLUMNS:
        table.add_column(name, justify="right" if name == "balance" else "left")
    for account in accounts:
        table.add_row(*account_row(account))
    return table


def fetch_accounts(
    url: str, token: str | None = None, timeout: float = HTTP_TIMEOUT
) -> list[dict[str, Any]]:
    """GET {url}/accounts, with ``token`` as the bearer token if given; ClickException
    with one line if it cannot be had."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"expected an http:// URL such as {EXAMPLE_URL}, got {url!r}")
    endpoint = url.rstrip("/") + "/accounts"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        request = urllib.request.Request(endpoint, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return orjson.loads(response.read())["accounts"]
    except urllib.error.HTTPError as error:
        raise click.ClickException(
            f"{endpoint} answered {error.code}: {_error_of(error.read()) or error.reason}"
        ) from None
    except urllib.error.URLError as error:
        raise click.ClickException(f"cannot reach {endpoint}: {error.reason}") from None
    except TimeoutError:
        raise click.ClickException(f"no answer from {endpoint} within {timeout:g} s") from None
    except (ValueError, KeyError, TypeError) as error:  # not a worker's answer
        raise click.ClickException(f"{endpoint}: {error}") from None


def _error_of(body: bytes) -> str | None:
    try:
        return orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None


@click.command()
@click.option(
    "--url",
    metavar="URL",
    help="A worker's HTTP API; any worker answers for all "
    "[default: http://127.0.0.1:$STREAMS_WEB_PORT].",
)
def accounts(url: str | None) -> None:
    """List every account's balance, from a worker's HTTP API.

    A table of each account's balance, currency, auto-recharge and pending recharge
    request. It asks one worker (GET /accounts), which gathers the accounts of every worker in its
    group, with the bearer token in STREAMS_API_TOKEN if the workers check tokens.
    Amounts are shown exactly as the API returns them.

    \b
    Example:
      streams accounts --url http://10.0.0.5:6066
    """
    settings = load()
    url = url or f"http://127.0.0.1:{settings.web_port}"
    found = fetch_accounts(url, settings.api_token)
    # Piped or redirected, rich would fit the table into 80 columns; whole rows read better.
    width = None if sys.stdout.isatty() else 10_000
    Console(width=width).print(accounts_table(found))
