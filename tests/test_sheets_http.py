"""The mirror's gspread edge (sync/http.py) through gspread's real client against FakeSheets.

No test waits for real: retries and the rate limiter use a fake clock whose ``sleep`` records
the wait and advances time.  Only the timeout tests spend real time (a few tenths of a second),
because a read timeout can only be provoked by a server that really does not answer.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gspread.exceptions import APIError, SpreadsheetNotFound
from gspread.http_client import BackOffHTTPClient

from sync.http import (
    EMULATOR_ENV,
    SHEETS_SCOPE,
    SheetsHTTPClient,
    SheetsTransportError,
    SlidingWindowLimiter,
    emulator_host_from_env,
    make_client,
)
from tests.sheets_fake import FakeSheets

SPREADSHEET_ID = "1MirrorTestSpreadsheet_0123456789abcdef"
TAB = "投诉登记 2026"


class FakeTime:
    """A clock that only moves when someone sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSheets]:
    with FakeSheets() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSheets) -> FakeSheets:
    server.reset()
    server.create_spreadsheet(SPREADSHEET_ID, "物业客服台账", tabs=["Sheet1", TAB])
    return server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


ClientFactory = Callable[..., gspread.Client]


@pytest.fixture
def client_factory(fake: FakeSheets, fake_time: FakeTime) -> Iterator[ClientFactory]:
    """make_client against the fake, with the fake clock; sessions are closed afterwards."""
    made: list[gspread.Client] = []

    def factory(**kwargs: Any) -> gspread.Client:
        kwargs.setdefault("emulator_host", fake.host)
        kwargs.setdefault("sleep", fake_time.sleep)
        kwargs.setdefault("clock", fake_time.clock)
        client = make_client(**kwargs)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.http_client.session.close()


def _http(client: gspread.Client) -> SheetsHTTPClient:
    assert isinstance(client.http_client, SheetsHTTPClient)
    return client.http_client


def test_client_is_bounded_not_backoff(client_factory: ClientFactory) -> None:
    http = _http(client_factory())
    # BackOffHTTPClient retries a persistent 429 forever (FINDINGS): it must not be in the chain.
    assert not isinstance(http, BackOffHTTPClient)
    assert http.timeout == 30.0
    http.set_timeout(None)  # gspread's "no timeout" must not disable ours
    assert http.timeout == 30.0


def test_open_by_key_and_raw_round_trip(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory()
    spreadsheet = client.open_by_key(SPREADSHEET_ID)
    assert spreadsheet.title == "物业客服台账"
    worksheet = spreadsheet.worksheet(TAB)
    assert (worksheet.row_count, worksheet.col_count) == (1000, 26)

    # Text a resident typed that Sheets would turn into a formula or number under USER_ENTERED.
    rows = [
        ["编号", "内容", "电话", "备注"],
        ['=HYPERLINK("http://x")', "+86 138 0013 8000", "-1", "@张三"],
        ["0042", "2026-11-26", "TRUE", "漏水 停电"],
    ]
    result = worksheet.batch_update([{"range": "A1:D3", "values": rows}])
    assert result["totalUpdatedCells"] == 12
    assert result["responses"][0]["updatedRange"] == f"'{TAB}'!A1:D3"

    got = spreadsheet.values_batch_get([f"'{TAB}'!A1:D3", f"'{TAB}'!A2:B"])
    assert [vr["range"] for vr in got["valueRanges"]] == [f"'{TAB}'!A1:D3", f"'{TAB}'!A2:B1000"]
    assert got["valueRanges"][0]["values"] == rows
    assert got["valueRanges"][1]["values"] == [row[:2] for row in rows[1:]]

    # Stored as text, and written RAW (gspread's default, which the mirror keeps).
    assert fake.values(SPREADSHEET_ID, TAB) == rows
    assert all(isinstance(v, str) for v in fake.raw_cells(SPREADSHEET_ID, TAB).values())
    writes = [r for r in fake.requests if r.path.endswith("values:batchUpdate")]
    assert [w.value_input_option for w in writes] == ["RAW"]
    assert fake_time.sleeps == []


def test_manager_hand_edit_is_visible(client_factory: ClientFactory, fake: FakeSheets) -> None:
    fake.set_values(SPREADSHEET_ID, TAB, [["已处理"]], start="E2")
    worksheet = client_factory().open_by_key(SPREADSHEET_ID).worksheet(TAB)
    assert worksheet.acell("E2").value == "已处理"


def test_unknown_spreadsheet_is_not_retried(
    client_factory: ClientFactory, fake_time: FakeTime
) -> None:
    client = client_factory()
    with pytest.raises(SpreadsheetNotFound):
        client.open_by_key("no-such-spreadsheet")
    assert _http(client).request_count == 1
    assert fake_time.sleeps == []


def test_400_is_not_retried(client_factory: ClientFactory, fake_time: FakeTime) -> None:
    worksheet = client_factory().open_by_key(SPREADSHEET_ID).worksheet(TAB)
    with pytest.raises(APIError) as caught:
        worksheet.update([["x"], ["y"]], "A1000")
    assert caught.value.code == 400
    assert "exceeds grid limits" in caught.value.error["message"]
    assert fake_time.sleeps == []


def test_429_retry_after_is_honoured(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory()
    spreadsheet = client.open_by_key(SPREADSHEET_ID)
    fake.fail_next(429, retry_after=7)
    got = spreadsheet.values_batch_get([f"'{TAB}'!A1"])
    assert got["valueRanges"][0]["range"] == f"'{TAB}'!A1"
    assert fake_time.sleeps == [7.0]
    assert _http(client).request_count == 3  # metadata, 429, success
    assert _http(client).retry_count == 1


def test_retry_after_is_capped(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory()
    fake.fail_next(429, retry_after=3600)
    client.open_by_key(SPREADSHEET_ID)
    assert fake_time.sleeps == [60.0]


def test_persistent_429_gives_up_after_max_retries(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory(max_retries=3)
    http = _http(client)
    http.rand = lambda: 1.0  # the top of the jitter range, to see the exponential ceilings
    fake.fail_next(429, times=1000)
    with pytest.raises(APIError) as caught:
        client.open_by_key(SPREADSHEET_ID)
    assert caught.value.code == 429
    assert caught.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert fake_time.sleeps == [1.0, 2.0, 4.0]
    assert len(fake.requests) == 4  # one try + three retries, then it stops
    assert http.request_count == 4


def test_full_jitter_stays_under_the_ceiling(client_factory: ClientFactory) -> None:
    http = _http(client_factory())
    http.rand = lambda: 0.5
    assert [http.backoff_delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_500_then_success(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory()
    fake.fail_next(500)
    fake.fail_next(503)
    spreadsheet = client.open_by_key(SPREADSHEET_ID)
    assert spreadsheet.title == "物业客服台账"
    assert len(fake_time.sleeps) == 2
    assert fake_time.sleeps[0] <= 1.0 and fake_time.sleeps[1] <= 2.0
    assert [r.status for r in fake.requests] == [500, 503, 200]


def test_hang_is_retried_then_succeeds(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory(timeout=0.2)
    fake.hang_next(1.0)
    assert client.open_by_key(SPREADSHEET_ID).title == "物业客服台账"
    assert len(fake_time.sleeps) == 1
    assert _http(client).request_count == 2


def test_hang_beyond_timeout_fails_cleanly(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory(timeout=0.2, max_retries=2)
    fake.hang_next(1.5, times=3)
    with pytest.raises(SheetsTransportError) as caught:
        client.open_by_key(SPREADSHEET_ID)
    error = caught.value
    assert isinstance(error, APIError)  # callers catch one exception type
    assert error.code == 408
    assert error.error["status"] == "DEADLINE_EXCEEDED"
    assert isinstance(error.cause, requests.Timeout)
    assert "3 attempt(s)" in str(error)
    assert len(fake_time.sleeps) == 2
    assert _http(client).request_count == 3


def test_connection_refused_is_retried_then_fails(fake_time: FakeTime) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(
        emulator_host=f"127.0.0.1:{port}",
        max_retries=2,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    try:
        with pytest.raises(SheetsTransportError) as caught:
            client.open_by_key(SPREADSHEET_ID)
    finally:
        client.http_client.session.close()
    assert caught.value.code == 503
    assert isinstance(caught.value.cause, requests.ConnectionError)
    assert len(fake_time.sleeps) == 2


def test_rate_limiter_waits_beyond_n_per_minute(
    client_factory: ClientFactory, fake: FakeSheets, fake_time: FakeTime
) -> None:
    client = client_factory(requests_per_minute=3)
    spreadsheet = client.open_by_key(SPREADSHEET_ID)  # request 1 at t=1000
    fake_time.now += 10
    spreadsheet.values_batch_get([f"'{TAB}'!A1"])  # request 2 at t=1010
    spreadsheet.values_batch_get([f"'{TAB}'!A1"])  # request 3 at t=1010
    assert fake_time.sleeps == []
    spreadsheet.values_batch_get([f"'{TAB}'!A1"])  # must wait until request 1 is 60 s old
    assert fake_time.sleeps == [50.0]
    spreadsheet.values_batch_get([f"'{TAB}'!A1"])  # next slot: when request 2 is 60 s old
    assert fake_time.sleeps == [50.0, 10.0]
    assert _http(client).throttled_seconds == 60.0
    assert len(fake.requests) == 5


def test_sliding_window_limiter_alone(fake_time: FakeTime) -> None:
    limiter = SlidingWindowLimiter(2, 60, clock=fake_time.clock, sleep=fake_time.sleep)
    assert limiter.acquire() == 0
    fake_time.now += 30
    assert limiter.acquire() == 0
    assert limiter.acquire() == 30  # the first stamp leaves the window at +60
    assert limiter.acquire() == 30
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0)


def test_request_count_and_bytes_sent_match_the_server(
    client_factory: ClientFactory, fake: FakeSheets
) -> None:
    client = client_factory()
    worksheet = client.open_by_key(SPREADSHEET_ID).worksheet(TAB)
    worksheet.batch_update([{"range": "A1:B2", "values": [["业主", "电话"], ["王", "139"]]}])
    fake.fail_next(500)
    worksheet.batch_clear(["A2:B2"])
    http = _http(client)
    # metadata twice (open, worksheet), batchUpdate, the 500, its retry
    assert http.request_count == len(fake.requests) == 5
    assert http.bytes_sent == sum(r.body_length for r in fake.requests) > 0


def test_retries_are_logged_without_bodies(
    client_factory: ClientFactory, fake: FakeSheets, caplog: pytest.LogCaptureFixture
) -> None:
    worksheet = client_factory().open_by_key(SPREADSHEET_ID).worksheet(TAB)
    fake.fail_next(503)
    with caplog.at_level(logging.WARNING, logger="sync.http"):
        worksheet.batch_update([{"range": "A1", "values": [["13800138000 张三"]]}])
    assert len(caplog.records) == 1
    assert "retry 1/5" in caplog.text and "503" in caplog.text
    assert "13800138000" not in caplog.text and "张三" not in caplog.text


def test_drive_calls_reach_the_emulator_not_google(client_factory: ClientFactory) -> None:
    client = client_factory(max_retries=0)
    with pytest.raises(APIError) as caught:
        client.list_spreadsheet_files()
    # The fake's "not implemented": proof the Drive origin was rewritten to the local server.
    assert caught.value.code == 501


def test_emulator_host_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    assert emulator_host_from_env() is None
    monkeypatch.setenv(EMULATOR_ENV, " 127.0.0.1:8085 ")
    assert emulator_host_from_env() == "127.0.0.1:8085"
    monkeypatch.setenv(EMULATOR_ENV, "")
    assert emulator_host_from_env() is None


def test_make_client_needs_credentials_or_emulator() -> None:
    with pytest.raises(ValueError, match="no Google credentials"):
        make_client()
    with pytest.raises(ValueError, match="host:port"):
        make_client(emulator_host="http://127.0.0.1:1")


def test_service_account_is_scoped_to_sheets_only(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "estate-desk-test",
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": "mirror@estate-desk-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    client = make_client(credentials_file=str(path))  # no network: tokens are fetched lazily
    try:
        http = _http(client)
        assert http.auth.scopes == [SHEETS_SCOPE]  # type: ignore[attr-defined]
        assert http.timeout == 30.0
    finally:
        http.session.close()
