"""A page reads its page of rows, not the register, for a user of several estates (#14).

tests/test_page_queries.py counts a page's statements; here the work inside them is counted:
SQLite's virtual-machine instructions for one request (a progress handler on the request's
connection), before and after the register grows fivefold. A statement that reads and sorts
every row of the user's estates to show 50 grows with them; one read in an index's order stops
after its page. Measured in bench/pages_bench.py before migration 024: the demand grid's first
page for a supervisor of ten estates took 2.9 s at 1,000,000 demands.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD, PG_URL, login
from sql_support import vm_steps

from models.base import db, utcnow
from models.callbacks import Callback
from models.demands import Demand
from models.org import Department
from models.passes import TemporaryPass
from models.work_orders import WorkOrder

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")

GROWTH = 5


def _rows(estates, n: int, start: int):
    """n demands (closed, called back), n completed work orders, n passes handed back."""
    now = utcnow()
    for estate in estates:
        department = Department.get_or_create(estate=estate, kind="engineering",
                                              defaults={"name": "工程维修部"})[0]
        received = [now - dt.timedelta(hours=start + i) for i in range(n)]
        Demand.insert_many([{
            "estate": estate, "number": f"XQ-T-{estate.id}-{start + i:06d}", "received_at": at,
            "category": "engineering", "description": "门锁损坏", "status": "closed",
            "reply_due": at + dt.timedelta(days=2), "replied_at": at, "completed_at": at,
            "closed_at": at} for i, at in enumerate(received)]).execute()
        WorkOrder.insert_many([{
            "estate": estate, "department": department, "what": "换锁",
            "number": f"WX-T-{estate.id}-{start + i:06d}",
            "dispatched_at": at, "completed_at": at, "state": "completed"}
            for i, at in enumerate(received)]).execute()
        Callback.insert_many([{
            "estate": estate, "demand": d, "called_at": at, "on_time": 5, "attitude": 5,
            "skill": 5, "etiquette": 5, "satisfied": True} for d, at in Demand.select(
                Demand.id, Demand.received_at).where(
                    Demand.estate == estate, Demand.number.startswith(
                        f"XQ-T-{estate.id}-")).order_by(Demand.id.desc()).limit(n).tuples()
        ]).execute()
        TemporaryPass.insert_many([{
            "estate": estate, "number": f"LS-T-{estate.id}-{start + i:06d}", "holder_name": "送货",
            "id_number": "",
            "purpose": "送货", "issued_at": at, "valid_from": at.date(),
            "valid_to": at.date() + dt.timedelta(days=2), "state": "returned", "returned_at": at}
            for i, at in enumerate(received)]).execute()


# (The key movements grid is not here: without statistics, as production's SQLite runs, the
# planner keeps the estate's index and sorts; with ANALYZE it reads key_movement (at).)
PAGES = ("/admin/demand/", "/admin/callback/", "/admin/temporary_pass/", "/m/")


def test_pages_do_not_read_every_row_of_a_supervisors_estates(app, conn, estate, other_estate,
                                                               make_user, monkeypatch):
    make_user("chief", "supervisor", estate, other_estate)
    for view in app.extensions["admin"][0]._views:  # count up to 20 rows: as past the cap
        if hasattr(view, "count_cap"):
            monkeypatch.setattr(view, "count_cap", 20)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    estates = [estate, other_estate]
    _rows(estates, 60, 0)
    for url in PAGES:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in PAGES}
    _rows(estates, 60 * (GROWTH - 1), 60)  # older rows: the newest page stays the same rows
    after = {url: vm_steps(client, url) for url in PAGES}
    # Reading and sorting every row grows the work about GROWTH-fold; reading one page in an
    # index's order leaves it as it was (a little for a deeper B-tree).
    grown = {url: round(after[url] / before[url], 2) for url in PAGES
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)


def test_monthly_review_counts_a_month_from_its_indexes(conn, estate, other_estate):
    """The review's month-on-month counts of demands and callbacks are read from covering
    indexes (migration 024), not row by row from the tables (about 43,000 rows a month at 1M)."""
    from models.review import month_on_month
    from views.review import month_span, months_ending

    first = month_span(utcnow().date().replace(day=1))[0]
    statements = []
    db.connection().set_trace_callback(statements.append)
    try:
        month_on_month([estate.id, other_estate.id], months_ending(first, 2))
    finally:
        db.connection().set_trace_callback(None)
    plans = {}
    for sql in statements:
        if "COUNT(" in sql and "received_at" in sql and '"demand"' in sql and "SUM" in sql:
            plans["demand"] = sql
        if "COUNT(" in sql and "called_at" in sql and '"callback"' in sql and "SUM" in sql:
            plans["callback"] = sql
    assert set(plans) == {"demand", "callback"}, statements
    for table, sql in plans.items():
        plan = " ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql))
        assert f"COVERING INDEX {table}_month_review" in plan, plan
