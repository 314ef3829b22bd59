"""``streams accounts``: the table's rows from GET /accounts, and one line for each failure."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
import orjson
import pytest
from click.testing import CliRunner
from rich.console import Console

from streams.cli import main
from streams.cli.accounts import account_row, accounts_table, fetch_accounts

NEW = {
    "account_id": "org-new",
    "balance": "-0.0015",
    "currency": None,
    "auto_recharge": None,
    "pending_recharge": None,
    "last_seq": 1,
    "recharge_suspended": False,
}
RECHARGING = {
    **NEW,
    "account_id": "org-busy",
    "balance": "4.25",
    "currency": "EUR",
    "auto_recharge": {"enabled": True, "recharge_amount": "50.00", "trigger_balance": "5.00"},
    "pending_recharge": {
        "request_id": "org-busy:rr:2",
        "amount": "50.00",
        "requested_at": "2026-11-24T10:00:00Z",
    },
}


def test_an_account_never_configured() -> None:
    assert account_row(NEW) == ("org-new", "-0.0015", "-", "off", "-")


def test_an_account_with_auto_recharge_and_a_pending_request() -> None:
    assert account_row(RECHARGING) == (
        "org-busy",
        "4.25",
        "EUR",
        "50.00 below 5.00",
        "org-busy:rr:2 (50.00)",
    )


def test_auto_recharge_turned_off_or_suspended() -> None:
    off = {**RECHARGING, "auto_recharge": {**RECHARGING["auto_recharge"], "enabled": False}}
    assert account_row(off)[3] == "off"
    suspended = {**RECHARGING, "recharge_suspended": True}
    assert account_row(suspended)[3] == "suspended (50.00 below 5.00)"


def test_the_table_has_a_row_per_account_and_says_how_many() -> None:
    console = Console(width=200, record=True, file=None)
    with console.capture() as captured:
        console.print(accounts_table([RECHARGING, NEW]))
    text = captured.get()
    assert "auto-recharge" in text and "pending request" in text
    rows = [line for line in text.splitlines() if "org-" in line]
    assert [row.split()[1] for row in rows] == ["org-busy", "org-new"]
    assert "4.25" in rows[0] and "org-busy:rr:2 (50.00)" in rows[0]
    assert text.rstrip().endswith("2 accounts")


class _Worker(BaseHTTPRequestHandler):
    """Answers GET /accounts with the class's status and body."""

    status = 200
    body = b""

    def do_GET(self) -> None:
        assert self.path == "/accounts"
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: object) -> None:
        pass


@contextlib.contextmanager
def _worker(status: int, body: dict) -> Iterator[str]:
    handler = type("Handler", (_Worker,), {"status": status, "body": orjson.dumps(body)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_accounts_are_read_from_the_worker() -> None:
    with _worker(200, {"accounts": [NEW, RECHARGING]}) as url:
        assert fetch_accounts(url + "/") == [NEW, RECHARGING]


def test_a_worker_that_cannot_answer_says_why() -> None:
    reason = "no worker owns partition(s) 1: the group is rebalancing, try again"
    with _worker(503, {"error": reason}) as url, pytest.raises(click.ClickException) as raised:
        fetch_accounts(url)
    assert raised.value.message == f"{url}/accounts answered 503: {reason}"


def test_the_command_prints_the_table() -> None:
    with _worker(200, {"accounts": [RECHARGING]}) as url:
        result = CliRunner().invoke(main, ["accounts", "--url", url])
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if "org-busy" in line]
    assert "org-busy:rr:2 (50.00)" in row


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:1", "cannot reach http://127.0.0.1:1/accounts: [Errno 111]"),
        (
            "localhost:6066",
            "expected an http:// URL such as http://127.0.0.1:6066, got 'localhost:6066'",
        ),
    ],
)
def test_a_worker_that_cannot_be_reached_is_one_error_line(url: str, error: str) -> None:
    result = CliRunner().invoke(main, ["accounts", "--url", url])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {error}")
