"""The phone page (/m/, 我的工单) reads only its page of open orders (#14, migration 030).

It lists up to 200 open and arrived orders of the user's departments (R-REC-4), mine first,
then by deadline: the demand's reply deadline (R-DEM-7), else the dispatch time. Sorted by that
expression across the join to the demand, every open order of the estates was read and sorted
on each visit (bench/pages_bench.py "phone page": ×1.95 on SQLite from 100k to 1M demands).
Kept on the order (work_order.deadline) and read in its indexes' order, mine and then the
others, each read stops after its rows: the work does not grow when the open orders do.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD, PG_URL, login
from page_rows_support import GROWTH, open_orders, vm_steps
from sql_support import page_statements

from models.base import utcnow
from models.demands import Demand
from models.field import field_orders
from models.work_orders import WorkOrder


def _grow(estates, user, n: int, start: int) -> None:
    """n open orders of each department (engineering, cs) of the estates; every fifth one the
    user's when `user` is given."""
    for estate in estates:
        for kind in ("engineering", "cs"):
            open_orders(estate, kind, n, start, assignee=user)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
@pytest.mark.parametrize("role", ["dept", "supervisor"])
def test_the_phone_page_reads_its_page_not_every_open_order(app, conn, estate, other_estate,
                                                            make_user, role):
    user = make_user("worker", role, estate, other_estate)
    client = app.test_client()
    assert login(client, "worker", PASSWORD).status_code == 302
    estates = [estate, other_estate]
    _grow(estates, user, 150, 0)  # more than a page: the page's 200 rows are read either way
    vm_steps(client, "/m/")  # warm-up: the process's caches
    html, sql = page_statements(client, "/m/")
    before = vm_steps(client, "/m/")
    # Later deadlines, none of them mine: the page stays the same rows.
    _grow(estates, None, 150 * (GROWTH - 1), 150)
    html_after, sql_after = page_statements(client, "/m/")
    after = vm_steps(client, "/m/")
    assert html_after.count("<li") == html.count("<li")
    assert len(sql_after) == len(sql), (sql, sql_after)
    # Reading and sorting every open order grows the work about GROWTH-fold; reading the
    # indexes' order stops after the page (a little more for deeper B-trees).
    assert after < 1.3 * before, (before, after)


@pytest.mark.parametrize("role", ["dept", "supervisor"])
def test_the_page_keeps_its_order_mine_first_then_by_deadline(conn, estate, other_estate,
                                                              make_user, role):
    """The rows and their order are those of the one sorted statement the page had (R-REC-4,
    R-DEM-7): mine first, then COALESCE(reply_due, dispatched_at), then id."""
    user = make_user("worker", role, estate, other_estate)
    _grow([estate, other_estate], user, 40, 0)
    # A promise revised later (R-DEM-7) and an order redispatched move the orders' deadlines.
    demand = Demand.select().where(Demand.estate == estate).order_by(Demand.id).first()
    Demand.update(reply_due=utcnow() - dt.timedelta(days=30)).where(
        Demand.id == demand.id).execute()
    order = WorkOrder.select().where(WorkOrder.demand.is_null(), WorkOrder.assignee.is_null(),
                                     WorkOrder.number.contains("-eng-")).order_by(
        WorkOrder.id.desc()).first()
    WorkOrder.update(dispatched_at=utcnow() - dt.timedelta(days=40)).where(
        WorkOrder.id == order.id).execute()

    def expected(limit):
        rows = [(o.assignee_id != user.id, (o.demand.reply_due if o.demand_id else None)
                 or o.dispatched_at, o.id)
                for o in WorkOrder.select().where(WorkOrder.state.in_(("open", "arrived")),
                                                  WorkOrder.voided == False)  # noqa: E712
                if user.role != "dept" or o.department.kind == user.department]
        return [row[2] for row in sorted(rows)][:limit]

    for limit in (200, 30, 5):
        assert [row.id for row in field_orders(user, limit)] == expected(limit)
    ids = [row.id for row in field_orders(user)]
    first_other = next(row.id for row in field_orders(user) if row.assignee_id != user.id)
    assert first_other == order.id  # forty days ago: the most urgent of the others
    assert demand.work_orders.first().id in ids
