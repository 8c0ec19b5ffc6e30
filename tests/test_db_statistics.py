"""The db_statistics job: the planner's statistics of every table, each night (#14).

Production's SQLite had none (SQLite gathers them only when told: ANALYZE), and without them a
grid that has no `voided` column to lead an order index — the key movements, the deposit
ledger — read every row of the user's estates through the estate's index and sorted them for
each page (the ledger's first page 20,000 deposits at 1M). The bench's files were analysed, so
its table did not show it. The job runs ANALYZE table by table; these tests run it through the
real runner, then count a page's SQLite VM instructions as the registers grow fivefold.
"""

from __future__ import annotations

import pytest
from conftest import PG_URL
from page_rows_support import GROWTH, chief_client, ledger_rows, movement_rows, vm_steps

from jobs.registry import get_job
from jobs.runner import run_job
from jobs.statistics import tables
from models.base import db

ROWS = 60  # per estate before the growth


def _analysed() -> set[str]:
    if PG_URL:
        return {name for (name,) in db.execute_sql(  # what ANALYZE wrote, in its transaction
            "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()")}
    if not db.table_exists("sqlite_stat1"):  # made by the first ANALYZE
        return set()
    return {name for (name,) in db.execute_sql("SELECT DISTINCT tbl FROM sqlite_stat1")}


def test_the_job_gathers_the_statistics_of_every_table(app, conn, estate):
    movement_rows([estate], ROWS, 0)
    ledger_rows([estate], ROWS, 0)
    if not PG_URL:  # a fresh file; PostgreSQL's tables are emptied, not made, between tests
        assert not {"key_movement", "deposit"} & _analysed()
    run = run_job(get_job("db_statistics"), app=app)
    assert run.status == "succeeded", run.error
    assert f"更新了 {len(tables())} 张表的统计信息" in run.note
    assert {"key_movement", "deposit", "decoration", "estate"} <= _analysed()
    # The search index's virtual tables and SQLite's own are not the job's to analyse.
    assert all(not name.startswith("sqlite_") and "_fts" not in name for name in tables())


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_after_the_job_a_grid_reads_its_page_not_the_estates_rows(app, conn, estate,
                                                                   other_estate, make_user,
                                                                   monkeypatch):
    """The key movements' and the deposit ledger's newest-first pages and the ledger's sort by
    amount, for a supervisor of two estates: the same work with five times the rows, once the
    nightly job has run (before it, the estate's index and a sort of every row: ×4–5)."""
    client = chief_client(app, monkeypatch, make_user, estate, other_estate)
    estates = [estate, other_estate]
    views = {v.endpoint: v for v in app.extensions["admin"][0]._views}
    amount = [name for name, _ in views["deposit"]._list_columns].index("amount")
    pages = ("/admin/key_movement/", "/admin/deposit/", f"/admin/deposit/?sort={amount}&desc=1")
    movement_rows(estates, ROWS, 0)
    ledger_rows(estates, ROWS, 0)
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"
    for url in pages:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in pages}
    movement_rows(estates, ROWS * (GROWTH - 1), ROWS)  # older rows: the same first page
    ledger_rows(estates, ROWS * (GROWTH - 1), ROWS)
    assert run_job(get_job("db_statistics"), app=app).status == "succeeded"  # the next night
    after = {url: vm_steps(client, url) for url in pages}
    grown = {url: round(after[url] / before[url], 2) for url in pages
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)
