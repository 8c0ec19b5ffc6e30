"""Every sort a large register's grid offers reads one page, not the user's estates' rows (#14).

The page bench measures one sort per register; measured for every sortable column at 100k and
1M demands (a supervisor of ten estates, the database analysed as the db_statistics job leaves
it), the callback grid sorted by a score took 32 → 180 ms and the pass, key-movement and
work-order grids ×2–3 for columns no index reads in order. Those grids now offer only the sorts
an index serves (`column_sortable_list`; migration 034 for 派工时间 and the pass number). Here
every column each grid lets a user sort by, both ways, is counted in SQLite VM instructions for
a supervisor of two estates, before and after the registers grow fivefold with older rows, the
statistics gathered by the real job after each fill; a column added to a sortable list without
an index to read it in order fails. The audit trail and 通知发送记录 (millions of rows in a
working office) sort by time through their primary key, and by a few indexed columns.
"""

from __future__ import annotations

import pytest
from conftest import PG_URL
from page_rows_support import (
    GROWTH,
    chief_client,
    movement_rows,
    register_rows,
    trail_rows,
    vm_steps,
)

from jobs.registry import get_job
from jobs.runner import run_job

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")

# The registers of hundreds of thousands of rows at 1M demands (bench/jobs_data.py), and the
# audit trail and the messages sent, millions (bench/pages_data.py's layout 3).
LARGE = ("demand", "work_order", "callback", "temporary_pass", "key_movement", "audit", "outbox")
ROWS = 60  # per estate before the growth


def _fill(estates, n: int, start: int) -> None:
    register_rows(estates, n, start)
    movement_rows(estates, n, start)
    trail_rows(estates, n, start)


def test_every_sort_of_a_large_grid_reads_its_page(app, conn, estate, other_estate, make_user,
                                                  monkeypatch):
    client = chief_client(app, monkeypatch, make_user, estate, other_estate)
    estates = [estate, other_estate]
    views = {v.endpoint: v for v in app.extensions["admin"][0]._views}
    urls = []
    for endpoint in LARGE:
        view = views[endpoint]
        names = [name for name, _ in view._list_columns]
        sortable = [name for name in view.get_sortable_columns() if name in names]
        assert sortable, endpoint
        urls += [f"/admin/{endpoint}/?sort={names.index(name)}&desc={desc}"
                 for name in sortable for desc in (0, 1)]
    _fill(estates, ROWS, 0)
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    for url in urls:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in urls}
    _fill(estates, ROWS * (GROWTH - 1), ROWS)  # older rows
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"  # the next night
    after = {url: vm_steps(client, url) for url in urls}
    grown = {url: round(after[url] / before[url], 2) for url in urls
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)
