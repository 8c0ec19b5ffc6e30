"""The queue pages read their page, not the queue (#14 items 1 and 3).

The callback queue (回访队列) and the front desk's queue links (已超期 / 待派工 / 待回访, the
demand grid filtered by 工作队列) show the same rows in the same order as before, and the work
one page costs does not follow the size of the backlog: SQLite VM instructions (a progress
handler, tests/sql_support.py) and the statements of one request, before and after the queues
grow fivefold with rows that fall outside the first page. Measured in bench/pages_bench.py
before the change (SQLite, 1,000,000 demands, a supervisor of ten estates): the callback queue
sorted all 40,000 completed demands to show 50 (175 ms, ×6.3 of 100k), the 已超期 link collected
all 40,000 overdue demands through a multi-index OR and sorted them (202 ms, ×6.2).

Also held flat here: the front desk's queue cards and 超时 lines (counted up to a cap), a short
queue among a growing register (each queue reads its own partial index, migration 026), and a
超时 link whose rule has many flags (old and sparse ones: tests/test_flag_links.py). The plans
these tests see are those of SQLite without statistics, as production runs it; the bench's
files are analysed (README, "The queue pages").
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import PASSWORD, PG_URL, login
from sql_support import page_plans, page_statements, vm_steps

from models.base import utcnow
from models.demands import Demand
from models.org import Department
from models.work_orders import WorkOrder

GROWTH = 5
BASE = 60  # demands per estate before the growth; kinds cycle every 6
QUEUES = ("overdue", "awaiting_dispatch", "awaiting_callback")


def _demand(estate, tag: str, i: int, received: dt.datetime, completed_late: dt.datetime | None):
    """The i-th demand of a batch: open and overdue, dispatched and answered, completed
    (awaiting its callback), invalid with its notice overdue, closed, or voided (every row
    names every column: insert_many takes the first row's)."""
    kind = i % 6
    row = {"estate": estate, "number": f"XQ-{tag}-{estate.code}-{i:05d}", "received_at": received,
           "category": "engineering", "description": "门锁损坏", "status": "open",
           "reply_due": received + dt.timedelta(hours=1), "replied_at": None,
           "completed_at": None, "closed_at": None, "invalid_notice_due": None, "voided": False}
    if kind == 1:
        row.update(status="dispatched", replied_at=received)
    elif kind == 2:
        row.update(status="completed", replied_at=received,
                   completed_at=completed_late or received + dt.timedelta(minutes=30))
    elif kind == 3:
        row.update(status="invalid", invalid_notice_due=received + dt.timedelta(hours=1))
    elif kind == 4:
        row.update(status="closed", replied_at=received, completed_at=received,
                   closed_at=received)
    elif kind == 5:
        row.update(voided=True)
    return row


def _queues(estates, n: int, *, grown: bool) -> None:
    """n demands per estate, and n // 6 stand-alone work orders awaiting their callback.

    The first batch is the newest received (the grid shows newest first) and the earliest
    completed (the callback queue shows the longest waiting first); a grown batch is older on
    the one and later on the other, so the first pages stay the same rows. In the first batch
    every second completed demand was finished after hours (its work order waits for the day
    shift) and comes first in the callback queue."""
    now, tag = utcnow(), "G" if grown else "B"
    for e, estate in enumerate(estates):
        department = Department.get_or_create(estate=estate, kind="engineering",
                                              defaults={"name": "工程维修部"})[0]
        offset = BASE if grown else 0
        rows = []
        for i in range(n):
            received = now - dt.timedelta(hours=offset + i + 2, minutes=7 * e)
            late = (now - dt.timedelta(minutes=30 - e, seconds=i)) if grown else None
            rows.append(_demand(estate, tag, i, received, late))
        Demand.insert_many(rows).execute()
        if not grown:
            after_hours = Demand.select(Demand.id, Demand.completed_at).where(
                Demand.estate == estate, Demand.status == "completed",
                Demand.number.startswith(f"XQ-{tag}-")).order_by(Demand.id).tuples()
            WorkOrder.insert_many([{
                "estate": estate, "department": department, "demand": demand_id, "what": "换锁",
                "number": f"WX-D-{estate.code}-{demand_id:05d}", "dispatched_at": at,
                "completed_at": at, "state": "completed", "needs_callback": True}
                for k, (demand_id, at) in enumerate(after_hours) if k % 2 == 0]).execute()
        WorkOrder.insert_many([{
            "estate": estate, "department": department, "what": "公共区域维修",
            "number": f"WX-{tag}-{estate.code}-{i:05d}",
            "dispatched_at": now - dt.timedelta(days=3),
            "completed_at": (now - dt.timedelta(days=1, minutes=e, seconds=i) if grown
                             else now - dt.timedelta(days=2, minutes=7 * i + e)),
            "state": "completed", "needs_callback": not grown and i % 3 == 0}
            for i in range(n // 6)]).execute()


def _numbers(html: str, start: str, prefix: str) -> list[str]:
    """The record numbers a table shows, in its order (each once)."""
    body = html.split(start, 1)[-1].split("</table>", 1)[0]
    return list(dict.fromkeys(re.findall(rf"[>\s]({prefix}-[A-Z]+-[A-Z]+-\d+)[<\s]", body)))


def _expected_demands(estate_ids) -> dict[str, list[str]]:
    """What each queue holds, worked out in Python from the rows (not from the queries)."""
    now = utcnow()
    live = [d for d in Demand.select().where(Demand.estate.in_(estate_ids)) if not d.voided]
    newest_first = sorted(live, key=lambda d: d.received_at, reverse=True)
    after_hours = {o.demand_id for o in WorkOrder.select().where(
        WorkOrder.needs_callback == True, WorkOrder.demand.is_null(False))}  # noqa: E712
    waiting = [d for d in live if d.status == "completed"]
    return {
        "overdue": [d.number for d in newest_first if d.replied_at is None and (
            (d.status in ("open", "dispatched") and d.reply_due < now)
            or (d.status == "invalid" and d.invalid_notice_due < now))],
        "awaiting_dispatch": [d.number for d in newest_first if d.status == "open"],
        "awaiting_callback": [d.number for d in newest_first if d.status == "completed"],
        "callback_queue": [d.number for d in sorted(waiting, key=lambda d: (
            d.id not in after_hours, d.completed_at, d.id))],
    }


def _expected_orders(estate_ids) -> list[str]:
    orders = WorkOrder.select().where(WorkOrder.estate.in_(estate_ids),
                                      WorkOrder.demand.is_null(), WorkOrder.state == "completed")
    return [o.number for o in sorted(orders, key=lambda o: (not o.needs_callback,
                                                            o.completed_at, o.id))]


def _queue_links(client) -> dict[str, str]:
    html = client.get("/admin/").get_data(as_text=True)
    return {name: re.search(rf'href="([^"]+)" id="queue-{name}"', html).group(1)
            .replace("&amp;", "&") for name in QUEUES}


def _view(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views
                if getattr(v, "endpoint", None) == endpoint)


def _supervisor(app, make_user, estates, n: int):
    """A supervisor of the estates, logged in, with n demands per estate in the queues."""
    make_user("chief", "supervisor", *estates)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    _queues(estates, n, grown=False)
    client.estates = estates
    client.estate_ids = [e.id for e in estates]
    return client


@pytest.fixture
def chief(app, conn, estate, other_estate, make_user):
    """A supervisor of two estates, logged in, with both estates' queues filled."""
    return _supervisor(app, make_user, [estate, other_estate], BASE)


def test_callback_queue_pages_through_its_rows_in_order(app, chief, monkeypatch):
    """After-hours work first (the day shift calls back what the night finished), then the
    longest waiting; a page of 4 pages through exactly the completed demands and stand-alone
    orders awaiting a callback, with 下一页 until the last page (R-DEM-9)."""
    monkeypatch.setattr(_view(app, "callback_queue"), "page_size", 4)
    expected = _expected_demands(chief.estate_ids)["callback_queue"]
    orders = _expected_orders(chief.estate_ids)
    assert len(expected) == 20 and len(orders) == 20
    shown, shown_orders, page = [], [], 1
    while True:
        html = chief.get(f"/admin/callback_queue/?dpage={page}&opage={page}").get_data(
            as_text=True)
        rows = _numbers(html, 'id="queue-demands"', "XQ")
        shown += rows
        shown_orders += _numbers(html, 'id="queue-orders"', "WX")
        more = f"dpage={page + 1}" in html
        assert more == (len(shown) < len(expected)), page
        if not more:
            break
        assert len(rows) == 4
        page += 1
    assert shown == expected
    assert shown_orders == orders
    assert html.count("下班完工") == 0  # the last page: no after-hours work left
    first = chief.get("/admin/callback_queue/").get_data(as_text=True)
    assert first.count("下班完工") == 8  # 4 demands and 4 orders finished after hours


def test_queue_links_show_the_queue_newest_first(chief):
    """已超期 / 待派工 / 待回访 open the demand grid with exactly the queue's demands, newest
    received first (the grid's own order), voided ones left out."""
    expected = _expected_demands(chief.estate_ids)
    for name, url in _queue_links(chief).items():
        html = chief.get(url).get_data(as_text=True)
        assert _numbers(html, "model-list", "XQ") == expected[name], name
        assert expected[name], name


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_queue_pages_do_not_read_the_whole_backlog(app, chief, monkeypatch):
    """The queues grow fivefold (older received, later completed): the first page of each
    runs the same statements and no more SQLite instructions (a little for deeper B-trees);
    reading and sorting every match grew them with the backlog."""
    import views.home

    monkeypatch.setattr(views.home, "QUEUE_COUNT_CAP", 10)  # the cards past their cap
    monkeypatch.setattr(_view(app, "demand"), "count_cap", 20)  # the grid's count too
    monkeypatch.setattr(_view(app, "callback_queue"), "page_size", 5)
    links = _queue_links(chief)
    pages = ["/admin/", "/admin/callback_queue/",
             *(f"{url}&page_size=20" for url in links.values())]  # full first pages
    for url in pages:
        vm_steps(chief, url)  # warm-up: the process's caches
    before = {url: (vm_steps(chief, url), page_statements(chief, url)[1]) for url in pages}
    first_pages = {url: page_statements(chief, url)[0] for url in pages[1:]}
    _queues(chief.estates, BASE * (GROWTH - 1), grown=True)
    after = {url: (vm_steps(chief, url), page_statements(chief, url)[1]) for url in pages}
    for url in pages[1:]:  # the same rows on the first page
        table = 'id="queue-demands"' if "callback_queue" in url else "model-list"
        assert (_numbers(page_statements(chief, url)[0], table, "XQ")
                == _numbers(first_pages[url], table, "XQ")), url
    statements = {url: (len(before[url][1]), len(after[url][1])) for url in pages
                  if len(before[url][1]) != len(after[url][1])}
    assert not statements, statements
    grown = {url: round(after[url][0] / before[url][0], 2) for url in pages
             if after[url][0] > 1.3 * before[url][0]}
    assert not grown, (grown, {url: (before[url][0], after[url][0]) for url in pages})


def _closed(estates, n: int, start: int) -> None:
    """n answered and closed demands per estate: the register the queues sit in."""
    now = utcnow()
    for e, estate in enumerate(estates):
        rows = []
        for i in range(start, start + n):
            row = _demand(estate, "C", 4, now - dt.timedelta(minutes=10 * i + e), None)
            rows.append({**row, "number": f"XQ-C-{estate.code}-{i:05d}"})
        Demand.insert_many(rows).execute()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_a_short_queue_is_not_found_by_reading_the_register(app, conn, estate, other_estate,
                                                            make_user, monkeypatch):
    """A healthy office: the queues hold a few demands among many closed ones, newer and
    older. Each queue link reads its own index (migration 026), so the register growing
    fivefold around it costs nothing; walking the grid's order index (voided, received_at)
    and filtering would read every closed demand to find fewer than a page."""
    chief = _supervisor(app, make_user, [estate, other_estate], 12)
    monkeypatch.setattr(_view(app, "demand"), "count_cap", 20)
    expected = _expected_demands(chief.estate_ids)
    assert all(0 < len(expected[name]) < 20 for name in QUEUES), expected
    links = {name: f"{url}&page_size=20" for name, url in _queue_links(chief).items()}
    _closed(chief.estates, 100, 0)
    for url in links.values():
        vm_steps(chief, url)  # warm-up
    before = {name: vm_steps(chief, url) for name, url in links.items()}
    _closed(chief.estates, 400, 100)
    after = {name: vm_steps(chief, url) for name, url in links.items()}
    for name, url in links.items():
        html = chief.get(url).get_data(as_text=True)
        assert _numbers(html, "model-list", "XQ") == expected[name], name
    grown = {name: (before[name], after[name]) for name in links
             if after[name] > 1.3 * before[name]}
    assert not grown, grown


def _flags(estates, n: int, start: int) -> None:
    """n active 超时 flags of the reply rule per estate (as the sweep leaves them)."""
    from jobs.models import OverdueFlag

    now = utcnow()
    for estate in estates:
        OverdueFlag.insert_many([{
            "rule": "demand_reply", "table": "demand", "row_id": 100_000 * estate.id + i,
            "estate": estate, "raised_at": now} for i in range(start, start + n)]).execute()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_front_desk_counts_each_rule_up_to_its_cap(app, conn, estate, other_estate, make_user,
                                                    monkeypatch):
    """The 超时 lines count each rule's active flags up to QUEUE_COUNT_CAP ("10+"), from
    overdue_flag_active_estate: five times the flags, the same work (R-FRONT-1, R-REC-5)."""
    import views.home

    monkeypatch.setattr(views.home, "QUEUE_COUNT_CAP", 10)
    chief = _supervisor(app, make_user, [estate, other_estate], 12)
    _flags(chief.estates, 30, 0)
    vm_steps(chief, "/admin/")  # warm-up
    before = vm_steps(chief, "/admin/")
    _flags(chief.estates, 120, 30)
    after = vm_steps(chief, "/admin/")
    html = chief.get("/admin/").get_data(as_text=True)
    assert re.search(r'id="overdue-1">[^<]*：<strong>10\+</strong>', html), html
    assert after <= 1.3 * before, (before, after)


def _flag_overdue(estates) -> None:
    """A reply-rule flag on every overdue demand not flagged yet, as the sweep leaves them."""
    from jobs.models import OverdueFlag

    flagged = {f.row_id for f in OverdueFlag.select(OverdueFlag.row_id)}
    now = utcnow()
    rows = [{"rule": "demand_reply", "table": "demand", "row_id": d.id, "estate": d.estate_id,
             "raised_at": now, "row_order": d.received_at}
            for d in Demand.overdue(now).where(Demand.estate.in_([e.id for e in estates]))
            if d.id not in flagged]
    OverdueFlag.insert_many(rows).execute()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_overdue_link_with_many_flags_reads_its_page(app, chief, monkeypatch):
    """The front desk's 超时 line for the reply rule opens the demand grid filtered by 超时;
    the grid walks the rule's flags in its own order (row_order, migration 028; more in
    tests/test_flag_links.py) and stops after the page: fivefold the flagged demands, the
    same work, the same rows (R-REC-5)."""
    monkeypatch.setattr(_view(app, "demand"), "count_cap", 20)
    _flag_overdue(chief.estates)
    home = chief.get("/admin/").get_data(as_text=True)
    url = re.search(r'href="(/admin/demand/\?flt[^"]*=demand_reply)"', home).group(1)
    url = url.replace("&amp;", "&") + "&page_size=20"
    expected = _expected_demands(chief.estate_ids)["overdue"][:20]  # all flagged here
    vm_steps(chief, url)  # warm-up
    before = vm_steps(chief, url)
    _queues(chief.estates, BASE * (GROWTH - 1), grown=True)
    _flag_overdue(chief.estates)
    after = vm_steps(chief, url)
    response = chief.get(url)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert _numbers(html, "model-list", "XQ") == expected
    assert after <= 1.3 * before, (before, after)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_callback_queue_orders_read_in_their_order_with_statistics(app, chief):
    """The callback queue's stand-alone orders, on an analysed database (the db_statistics job,
    each night): five times the completed orders that need no callback, finished before the
    queue's, and the same work; the page reads them from work_order_callback_queue with no
    sort. On the bench's analysed 1M file SQLite read every completed order in finishing order
    through work_order_completed_order and filtered them (0.9 → 8 ms from 100k; here, with
    fewer orders, it chose work_order_callback_sweep and a sort: migration 035, #14)."""
    from jobs.registry import get_job
    from jobs.runner import run_job

    def orders(n: int, start: int, *, waiting: bool) -> None:
        """n stand-alone orders per estate: waiting for their callback (finished three weeks
        ago and later), or called back and done (a month ago and earlier)."""
        now = utcnow()
        for e, estate in enumerate(chief.estates):
            department = Department.get(Department.estate == estate,
                                        Department.kind == "engineering")
            WorkOrder.insert_many([{
                "estate": estate, "department": department, "what": "换灯泡",
                "number": f"WX-{'W' if waiting else 'F'}-{estate.code}-{i:05d}",
                "dispatched_at": now - dt.timedelta(days=40, minutes=i),
                "completed_at": now - dt.timedelta(days=21 if waiting else 30,
                                                   minutes=(1 if waiting else -1) * 10 * i + e),
                "state": "completed", "needs_callback": waiting, "callback_done": not waiting}
                for i in range(start, start + n)]).execute()

    orders(BASE, 0, waiting=True)  # beside the queues the chief fixture filled
    orders(BASE * 2, 0, waiting=False)
    url = "/admin/callback_queue/"
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    vm_steps(chief, url)  # warm-up: the process's caches
    before = vm_steps(chief, url)
    orders(BASE * 2 * (GROWTH - 1), BASE * 2, waiting=False)
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"  # the next night
    after = vm_steps(chief, url)
    assert after <= 1.3 * before, (before, after)
    # Read in the queue's own order, whatever the statistics say of the others: no sort.
    plan = page_plans(chief, url, "work_order")[-1]
    assert "work_order_callback_queue" in plan and "TEMP B-TREE" not in plan, plan
