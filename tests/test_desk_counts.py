"""The front desk's queue cards count up to a cap, like the grids they open (#14).

At 1,000,000 demands (bench/pages_bench.py) the 已超期 card counted 80,000 overdue demands on
every visit of the front desk (0.3 s warm, 2.5 s cold on SQLite); the count now stops after
QUEUE_COUNT_CAP + 1 rows and the card says "1000+".
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import PG_URL
from sql_support import page_statements, vm_steps

from models.base import utcnow
from models.demands import Demand


def _overdue(estate, n: int, prefix: str) -> None:
    """n demands owed a reply, past their deadline."""
    now = utcnow()
    Demand.insert_many([{
        "estate": estate, "number": f"{prefix}-{i:06d}", "received_at": now - dt.timedelta(days=3),
        "category": "engineering", "description": "门锁损坏", "status": "open",
        "reply_due": now - dt.timedelta(hours=1 + i)} for i in range(n)]).execute()


def _home(client) -> tuple[str, list[str]]:
    return page_statements(client, "/admin/")


def _card(html: str, name: str) -> str:
    return re.search(rf'id="queue-{name}".*?data-count="([^"]+)"', html, re.S).group(1)


def test_overdue_card_counts_up_to_its_cap(login_as, conn, estate, monkeypatch):
    import views.home

    monkeypatch.setattr(views.home, "QUEUE_COUNT_CAP", 3)
    client = login_as("supervisor")
    _overdue(estate, 3, "XQ-T")
    html, _sql = _home(client)
    assert _card(html, "overdue") == "3"  # at the cap: the exact number
    _overdue(estate, 2, "XQ-U")
    html, sql = _home(client)
    assert _card(html, "overdue") == "3+"
    # Each queue's count is one statement that stops after cap + 1 rows.
    counts = [s for s in sql if re.search(r"COUNT\(1\) FROM \(SELECT 1 FROM \"demand\"", s)
              and "reply_due" in s]
    assert counts and all(re.search(r"LIMIT (\?|%s)\) AS", s) for s in counts), counts
    assert any("4" in s.rsplit("[", 1)[-1] for s in counts), counts  # the cap + 1 rows


def _after_hours(estate, n: int, start: int) -> None:
    """n work orders finished after hours, days ago, still waiting for the day shift's callback."""
    from models.org import Department
    from models.work_orders import WorkOrder

    department = Department.get(Department.estate == estate, Department.kind == "engineering")
    at = utcnow() - dt.timedelta(days=3)
    WorkOrder.insert_many([{
        "estate": estate, "department": department, "what": "换锁", "location": "1-1-101",
        "number": f"WX-T-{i:06d}", "dispatched_at": at, "arrived_at": at, "completed_at": at,
        "state": "completed", "needs_callback": True} for i in range(start, start + n)]).execute()


def _after_hours_line(html: str) -> str:
    return re.search(r"下班时间完工、待白班回访的维修单 (\S+) 张", html).group(1)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_after_hours_card_counts_up_to_its_cap(login_as, conn, estate, monkeypatch):
    """下班完工 (R-DEM-9) is not bounded by the shift: every after-hours order still waiting for
    its callback. It counted them all on every visit; now up to the cap, like the queue cards:
    five times the orders, the same work (#14 item 3)."""
    import views.home

    monkeypatch.setattr(views.home, "QUEUE_COUNT_CAP", 10)
    client = login_as("supervisor")
    _after_hours(estate, 10, 0)
    assert _after_hours_line(_home(client)[0]) == "10"  # at the cap: the exact number
    _after_hours(estate, 40, 10)
    vm_steps(client, "/admin/")  # warm-up
    before = vm_steps(client, "/admin/")
    _after_hours(estate, 200, 50)
    after = vm_steps(client, "/admin/")
    html, sql = _home(client)
    assert _after_hours_line(html) == "10+"
    counts = [s for s in sql if "needs_callback" in s and "COUNT(" in s]
    assert counts and all(re.search(r"LIMIT (\?|%s)\) AS", s) for s in counts), counts
    assert after <= 1.1 * before, (before, after)
