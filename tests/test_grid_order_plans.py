"""The register grids' orders, filters and sorts read one page from an index (#14, migration 025).

tests/test_page_rows.py pins the demand, callback and pass grids' newest-first pages; here the
grids bench/pages_bench.py measured still growing with their register at 1,000,000 demands
(1M/100k above ×1.3): the work-order grid (open orders first, for a supervisor and for the
department's own staff, and sorted by 完工时间), the
callback grid filtered by 满意=否 and sorted by 满意, the deposit ledger (newest first, filtered
by state) and the decoration grid (newest first, filtered by state, and sorted by 计划完工日期:
migration 033, measured on the bench's layout 2 with a decoration for every unit). Each page is
counted in SQLite VM instructions for a supervisor of two estates, before and after the
registers grow fivefold with older rows; without migration 025's (033's) indexes each reads and
sorts every row of the two estates. On both engines: the decoration grid's sort by 计划完工日期
is read from its index, no sort (EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN).

Not here: the deposit ledger's first page and its sort by amount, whose indexes SQLite chooses
only with statistics (production's SQLite runs without; the ledger's 20,000 rows at 1M sort in
about a millisecond), and the ledger's totals above the grid, a sum of every deposit of the
estates (read from a covering index since migration 025, still growing: README, Performance).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from conftest import PASSWORD, PG_URL, login
from page_rows_support import GROWTH, capped_grids, ledger_rows, register_rows, vm_steps
from sql_support import page_plans

from bench.pages_bench import _filter_arg, _sort_arg
from models.base import db
from models.callbacks import Callback
from models.deposits import Deposit
from models.work_orders import WorkOrder

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")

# (grid, filter column and value or None, sort column or None)
PAGES = (
    ("work_order", None, None),
    ("work_order", None, "completed_at"),
    ("callback", ("satisfied", "0"), None),
    ("callback", None, "satisfied"),
    ("deposit", ("state", "due"), None),
    ("decoration", None, None),
    ("decoration", ("state", "permitted"), None),
    ("decoration", None, "works_end"),
)


def _urls(app) -> list[str]:
    views = {v.endpoint: v for v in app.extensions["admin"][0]._views}
    urls = []
    for endpoint, flt, sort in PAGES:
        args = _filter_arg(views[endpoint], *flt) if flt else {}
        if sort:
            args.update(_sort_arg(views[endpoint], sort))
        urls.append(f"/admin/{endpoint}/" + (f"?{urlencode(args)}" if args else ""))
    return urls


@sqlite_only
def test_grid_pages_stop_after_their_rows(app, conn, estate, other_estate, make_user,
                                          monkeypatch):
    make_user("chief", "supervisor", estate, other_estate)
    capped_grids(app, monkeypatch)
    make_user("fixer", "dept", estate, other_estate)  # the engineering department's
    client, fixer = app.test_client(), app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    assert login(fixer, "fixer", PASSWORD).status_code == 302
    estates = [estate, other_estate]
    # The ledger's totals sum every deposit (see the docstring): left out of the count.
    monkeypatch.setattr(Deposit, "totals", classmethod(lambda cls, estate_ids: {}))
    register_rows(estates, 60, 0)
    ledger_rows(estates, 130, 0)  # a full first page of permitted decorations and due deposits
    # The newest rows hold the pages' few open orders and unhappy owners.
    WorkOrder.update(state="open", completed_at=None).where(WorkOrder.id % 5 == 0).execute()
    Callback.update(satisfied=False).where(Callback.id % 5 == 0).execute()
    urls = _urls(app)
    for url in urls:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in urls}
    before["dept: /admin/work_order/"] = vm_steps(fixer, "/admin/work_order/")
    register_rows(estates, 60 * (GROWTH - 1), 60)  # older rows: the first page stays the same
    ledger_rows(estates, 130 * (GROWTH - 1), 130)
    after = {url: vm_steps(client, url) for url in urls}
    after["dept: /admin/work_order/"] = vm_steps(fixer, "/admin/work_order/")
    grown = {url: round(after[url] / before[url], 2) for url in before
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)


@pytest.mark.parametrize("desc", [True, False])
def test_the_decoration_grid_sorted_by_works_end_reads_its_index(app, conn, estate, other_estate,
                                                                 make_user, desc):
    """Sorted by 计划完工日期 either way, the decoration page walks decoration (voided,
    works_end) and stops after its rows (migration 033, #14): no sort of every decoration of the
    user's estates, which grew ×2.45 (SQLite) and ×1.56 (PostgreSQL) from 100k to 1M."""
    make_user("chief", "supervisor", estate, other_estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    ledger_rows([estate, other_estate], 130, 0)
    if PG_URL:
        db.execute_sql("ANALYZE decoration")
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "decoration")
    args = _sort_arg(view, "works_end")
    if not desc:
        del args["desc"]
    for plan in page_plans(client, f"/admin/decoration/?{urlencode(args)}", "decoration"):
        assert "decoration_works_end_order" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort Key" not in plan, plan


# The smaller registers' sorts that grew with them on the page bench (migration 037, #14).
SMALL_SORTS = (("goods_release", "number", "goods_release_number_order"),
               ("goods_release", "bearer_name", "goods_release_bearer_order"),
               ("tenancy", "contract_number", "tenancy_contract_order"),
               ("unit", "code", "unit_code_order"),
               ("unit", "room", "unit_room_order"))


@sqlite_only
@pytest.mark.parametrize("endpoint,column,index", SMALL_SORTS)
@pytest.mark.parametrize("desc", [True, False])
def test_the_smaller_registers_sorts_read_their_index(app, conn, estate, other_estate,
                                                      make_user, endpoint, column, index, desc):
    """Sorted either way, the page walks (voided, column) and stops after its rows: no sort of
    every row of the user's estates (×1.28–1.71 from 100k to 1M on SQLite before 037; on
    PostgreSQL ≤ ×1.21, and its planner sorts an empty table's rows instead)."""
    make_user("chief", "supervisor", estate, other_estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    args = _sort_arg(view, column)
    if not desc:
        del args["desc"]
    plans = page_plans(client, f"/admin/{endpoint}/?{urlencode(args)}", view.model._meta.table_name)
    assert plans
    for plan in plans:
        assert index in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort Key" not in plan, plan
