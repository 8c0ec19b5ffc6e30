"""The front desk's queue cards count up to a cap, like the grids they open (#14).

At 1,000,000 demands (bench/pages_bench.py) the 已超期 card counted 80,000 overdue demands on
every visit of the front desk (0.3 s warm, 2.5 s cold on SQLite); the count now stops after
QUEUE_COUNT_CAP + 1 rows and the card says "1000+".
"""

from __future__ import annotations

import datetime as dt
import re

from sql_support import page_statements

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
