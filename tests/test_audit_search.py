"""A record's audit trail found by its number (#14, migration 036).

The trail grows with every write (three rows a demand and more: three million in the page
bench's office of a million demands). A register number typed into the audit grid's search was
a substring of every row's summary, username and table: the whole trail read, 1.4 s at three
million rows. It is now looked up in its register (by the number index that register's own
grid searches with) and the rows about that record are read by (table, row_id). Digits alone
stay a text search in the trail. The trail filtered by 时间, by a user, an 操作 or a 表, and
通知发送记录 by a channel or an event with few messages, read their rows newest first by index
too. Their
sorts: tests/test_grid_sorts.py.

Words of text (a name, 派工) are looked for among the newest SEARCH_WINDOW rows, and the page
says since when; with a 时间 filter, within its range.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from attachment_support import new_order
from conftest import PG_URL
from page_rows_support import GROWTH, chief_client, trail_rows
from sql_support import vm_steps

from bench.pages_bench import _filter_arg
from jobs.registry import get_job
from jobs.runner import run_job
from models.base import utcnow
from models.deadlines import office_timezone
from models.register import AuditLog

ROW = '<td class="col-summary">'  # one per row of the grid


def _search(client, term: str) -> str:
    response = client.get("/admin/audit/?" + urlencode({"search": term}))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _trail(table: str, *row_ids) -> int:
    return AuditLog.select().where(AuditLog.table == table, AuditLog.row_id.in_(row_ids)).count()


def _filter(app, endpoint: str, column: str, kind: str | None, value: str) -> str:
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    return f"/admin/{endpoint}/?" + urlencode(_filter_arg(view, column, value, kind))


def _flat_over_an_older_trail(app, client, urls: list[str], estates) -> None:
    """Each page's SQLite VM instructions, before and after the trail and the messages grow
    fivefold with older rows, the statistics gathered by the real job after each fill."""
    trail_rows(estates, 200, 0)
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    for url in urls:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in urls}
    trail_rows(estates, 200 * (GROWTH - 1), 200)  # an older trail
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    after = {url: vm_steps(client, url) for url in urls}
    grown = {url: round(after[url] / before[url], 2) for url in urls
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)


def test_a_number_finds_that_records_trail_in_the_users_estates(
        app, conn, estate, other_estate, make_user, clerk, monkeypatch):
    order = new_order(clerk, estate, description="卫生间漏水")
    other = new_order(clerk, estate, description="厨房水管漏水")
    elsewhere = new_order(make_user("clerk2", "clerk", other_estate), other_estate)
    demand = order.demand
    client = chief_client(app, monkeypatch, make_user, estate)

    # The demand's number: its rows (recorded, dispatched), not the other demand's.
    body = _search(client, demand.number.lower())  # typed in lower case
    assert _trail("demand", demand.id) >= 2
    assert body.count(ROW) == _trail("demand", demand.id)
    assert other.demand.number not in body
    # The work order's number: the work order's rows.
    body = _search(client, order.number)
    assert body.count(ROW) == _trail("work_order", order.id) >= 1
    assert other.number not in body
    # The start of a number: every demand of the estate whose number begins with it.
    stem = demand.number.rsplit("-", 1)[0] + "-"
    assert other.demand.number.startswith(stem)
    body = _search(client, stem)
    assert body.count(ROW) == _trail("demand", demand.id, other.demand.id)
    # Numbers run per estate: another estate's demand of the same number is not this
    # supervisor's, and its rows are not shown with this estate's.
    assert elsewhere.demand.number == demand.number and _trail("demand", elsewhere.demand.id)
    assert _search(client, elsewhere.demand.number).count(ROW) == _trail("demand", demand.id)
    # A number no register holds: no rows, and a clear empty grid (not an error).
    assert _search(client, "XQ-ZZ-99999999").count(ROW) == 0
    # Digits alone are a text search of the trail (a serial names no register here).
    serial = demand.number.rsplit("-", 1)[1]
    assert demand.number in _search(client, serial)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_a_numbers_trail_is_read_by_index_however_long_the_trail(
        app, conn, estate, other_estate, make_user, clerk, monkeypatch):
    order = new_order(clerk, estate)
    client = chief_client(app, monkeypatch, make_user, estate, other_estate)
    urls = ["/admin/audit/?" + urlencode({"search": term})
            for term in (order.demand.number, order.number)]
    _flat_over_an_older_trail(app, client, urls, [estate, other_estate])


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_the_trail_and_the_messages_filtered_read_one_page(
        app, conn, estate, other_estate, make_user, monkeypatch):
    client = chief_client(app, monkeypatch, make_user, estate, other_estate)
    year_ago = "2025-11-01 00:00:00 to 2025-11-30 23:59:59"  # older than every row below
    urls = [_filter(app, "audit", "username", None, "somebody"),  # no rows
            _filter(app, "audit", "username", None, "clerk3"),
            _filter(app, "audit", "created_at", "DateTimeBetweenFilter", year_ago),
            _filter(app, "audit", "action", None, "reveal"),  # none: creates, updates
            _filter(app, "audit", "table", None, "calendar_override"),  # none
            _filter(app, "outbox", "channel", None, "inapp"),  # none: all are SMS
            _filter(app, "outbox", "event", None, "emergency_reported")]
    _flat_over_an_older_trail(app, client, urls, [estate, other_estate])


def test_words_are_looked_for_among_the_newest_rows_or_within_a_time_filter(
        app, conn, estate, make_user, monkeypatch):
    from views.users import AuditLogAdmin

    monkeypatch.setattr(AuditLogAdmin, "SEARCH_WINDOW", 100)
    client = chief_client(app, monkeypatch, make_user, estate)
    trail_rows([estate], 300, 0)  # row k written k hours ago; its summary holds 000k
    recent = _search(client, "000050")
    assert recent.count(ROW) == 1 and "最近 100 条记录" in recent
    old = _search(client, "000250")  # older than the newest hundred
    assert old.count(ROW) == 0 and "更早的记录请先用「时间」筛选" in old
    # An export of the same search reads the whole trail.
    exported = client.get("/admin/audit/export/csv/?search=000250").get_data(as_text=True)
    assert "000250" in exported and "000050" not in exported
    # Within a 时间 filter the words are looked for in its whole range.
    now = utcnow().astimezone(office_timezone())
    span = " to ".join(f"{now - dt.timedelta(hours=h):%Y-%m-%d %H:%M:%S}" for h in (260, 240))
    url = _filter(app, "audit", "created_at", "DateTimeBetweenFilter", span) + "&search=000250"
    body = client.get(url).get_data(as_text=True)
    assert body.count(ROW) == 1 and "最近 100 条记录" not in body


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_a_word_few_rows_hold_reads_the_window_however_long_the_trail(
        app, conn, estate, other_estate, make_user, monkeypatch):
    from views.users import AuditLogAdmin

    monkeypatch.setattr(AuditLogAdmin, "SEARCH_WINDOW", 200)
    client = chief_client(app, monkeypatch, make_user, estate, other_estate)
    url = "/admin/audit/?" + urlencode({"search": "无此记录"})
    trail_rows([estate, other_estate], 200, 2000)  # written long ago
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    vm_steps(client, url)  # warm-up: the process's caches
    before = vm_steps(client, url)
    trail_rows([estate, other_estate], 200 * (GROWTH - 1), 0)  # written since
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    after = vm_steps(client, url)
    assert after <= 1.3 * before, (before, after)
