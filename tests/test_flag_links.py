"""A 超时 link reads its page from the rule's flags, in the grid's order (#14, migration 028).

The front desk's 超时 line of a rule opens the register's grid filtered to the rule's active
flags (R-REC-5), newest first as the grid always lists. Each flag keeps its row's place in that
order (overdue_flag.row_order, jobs.flags.ROW_ORDER), so the page walks the rule's flags in
order and stops after its rows, wherever the flagged rows lie among the register's. Measured
in bench/pages_bench.py before (SQLite / PostgreSQL, 100k → 1M demands): demand_callback ×1.67
/ ×1.91, demand_invalid_notice ×1.87 / ×4.04, work_order_callback ×2.27 / ×2.20 — the flagged
rows being old or sparse in the newest-first order, the page either asked every newer row for
its flag or collected and sorted every flag.

Migration 031 gave the other registers whose grid lists by a moment the same (key loans,
print requests, emergencies …: `id IN (every flag of the rule)` before); print requests stand
for them here, also with SQLite's statistics, which made a small register look cheaper to scan.

Here the flagged rows are the register's oldest (the shape of a callback backlog), raised by
the sweep's own code (jobs.flags.sync_rule); the counting tests grow the flagged rows and the
newer unflagged rows fivefold together, past and under the "many flags" threshold the code
before used (DENSE_FLAGS), and count SQLite VM instructions and statements of one page.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import PASSWORD, PG_URL, login
from sql_support import page_plans, page_statements, vm_steps

from jobs.flags import ROW_ORDER, sync_rule
from jobs.overdue import RULES
from models.base import db, utcnow
from models.demands import Demand
from models.org import Department
from models.printing import PrintJob
from models.register import save_record, snapshot
from models.users import User
from models.work_orders import WorkOrder

GROWTH = 5
FLAGGED, NEWER = 15, 80  # per estate before the growth
PAGE = 20  # one of the grids' page sizes


def _rule(rule_id: str):
    return next(rule for rule in RULES if rule.id == rule_id)


def _sweep(*rule_ids: str) -> None:
    now = utcnow()
    with db.atomic():
        for rule_id in rule_ids:
            sync_rule(_rule(rule_id), now)


def _fill(model, estates, n: int, start: int, flagged: bool, row) -> None:
    """n rows of `model` per estate, `row(estate, i, at, now)` each: a flagged row's moment a
    month ago and earlier (the oldest of the register, as a backlog is), another's in the last
    hours, newer than any of them. Numbered PREFIX-L-… (flagged) and PREFIX-A-… (the others:
    first in the number's order, which SQLite without statistics may walk)."""
    now = utcnow()
    for e, estate in enumerate(estates):
        model.insert_many([row(estate, i, now - (
            dt.timedelta(days=30, hours=i, minutes=7 * e) if flagged
            else dt.timedelta(minutes=10 * i + e)), now) for i in range(start, start + n)]
        ).execute()


def _number(prefix: str, estate, i: int, flagged: bool) -> str:
    return f"{prefix}-{'L' if flagged else 'A'}-{estate.code}-{i:05d}"


def _department(estate, kind: str, name: str):
    return Department.get_or_create(estate=estate, kind=kind, defaults={"name": name})[0]


def _demands(estates, n: int, start: int, *, flagged: bool) -> None:
    """Demands completed ten days ago and never called back (demand_callback, R-DEM-9); or
    closed ones."""
    def row(estate, i, at, now):
        done = ({"status": "completed", "completed_at": now - dt.timedelta(days=10),
                 "closed_at": None} if flagged
                else {"status": "closed", "completed_at": at, "closed_at": at})
        return {"estate": estate, "number": _number("XQ", estate, i, flagged),
                "received_at": at, "category": "engineering", "description": "门锁损坏",
                "reply_due": at + dt.timedelta(hours=1), "replied_at": at, **done}
    _fill(Demand, estates, n, start, flagged, row)


def _orders(estates, n: int, start: int, *, flagged: bool) -> None:
    """Work orders finished after hours days ago and never called back (work_order_callback,
    R-DEM-9); or open ones (the grid lists open orders first)."""
    def row(estate, i, at, now):
        state = ({"state": "completed", "completed_at": now - dt.timedelta(days=3),
                  "needs_callback": True} if flagged
                 else {"state": "open", "completed_at": None, "needs_callback": False})
        return {"estate": estate, "department": _department(estate, "engineering", "工程维修部"),
                "what": "换锁", "number": _number("WX", estate, i, flagged),
                "dispatched_at": at, **state}
    _fill(WorkOrder, estates, n, start, flagged, row)


def _prints(estates, n: int, start: int, *, flagged: bool) -> None:
    """Print requests (a register of thousands where demands are a million) waiting for
    approval (print_approval, R-PRINT-1); or printed ones."""
    def row(estate, i, at, now):
        return {"estate": estate, "department": _department(estate, "cs", "客服部"),
                "title": "停水通知", "number": _number("DY", estate, i, flagged),
                "requested_at": at, "state": "requested" if flagged else "printed"}
    _fill(PrintJob, estates, n, start, flagged, row)


# register -> (model, its grid order, the rule of the test, the rows, the numbers' prefix)
REGISTERS = {"demand": (Demand, "received_at", "demand_callback", _demands, "XQ"),
             "work_order": (WorkOrder, "dispatched_at", "work_order_callback", _orders, "WX"),
             "print_job": (PrintJob, "requested_at", "print_approval", _prints, "DY")}


def _numbers(html: str, prefix: str) -> list[str]:
    body = html.split("model-list", 1)[-1].split("</table>", 1)[0]
    return list(dict.fromkeys(re.findall(rf"[>\s]({prefix}-[A-Z]+-[A-Z]+-\d+)[<\s]", body)))


def _expected(model, order_field, estate_ids, rule_id: str) -> list[str]:
    """The rule's flagged rows of the estates, newest first, worked out in Python."""
    from jobs.models import OverdueFlag

    flagged = {f.row_id for f in OverdueFlag.select().where(
        OverdueFlag.rule == rule_id, OverdueFlag.cleared_at.is_null())}
    rows = [r for r in model.select().where(model.estate.in_(estate_ids)) if r.id in flagged]
    return [r.number for r in sorted(rows, key=lambda r: getattr(r, order_field),
                                     reverse=True)][:PAGE]


def _view(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views
                if getattr(v, "endpoint", None) == endpoint)


@pytest.fixture
def chief(app, conn, estate, other_estate, make_user):
    """A supervisor of two estates, logged in."""
    make_user("chief", "supervisor", estate, other_estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    client.estates, client.estate_ids = [estate, other_estate], [estate.id, other_estate.id]
    return client


def _link(client, endpoint: str, rule_id: str) -> str:
    """The front desk's 超时 line of the rule, one page of PAGE rows."""
    home = client.get("/admin/").get_data(as_text=True)
    url = re.search(rf'href="(/admin/{endpoint}/\?flt[^"]*={rule_id})"', home).group(1)
    return url.replace("&amp;", "&") + f"&page_size={PAGE}"


def test_flags_keep_the_grid_order_of_their_rows(app):
    """Each register whose flags keep a row order keeps the moment its grid lists by, newest
    first (its default sort); the work-order grid's 派工时间 after open first (its get_query:
    each work-order rule flags orders of one kind)."""
    from jobs.views import OverdueFilter

    grids = {v.model._meta.table_name: v for v in app.extensions["admin"][0]._views
             if any(isinstance(f, OverdueFilter) for f in getattr(v, "extra_filters", ()))}
    for table, column in ROW_ORDER.items():
        view = grids[table]
        if table == "work_order":
            assert column == "dispatched_at" and not view.column_default_sort
        else:
            assert view.column_default_sort == (column, True), table
        assert type(view.model._meta.fields[column]).__name__ == "AwareDateTimeField", table
    # Every register whose grid lists by a moment keeps it on its flags (migrations 028, 031);
    # those listing by a day (统一施工, tenancies) or the estates themselves do not.
    by_moment = {table for table, view in grids.items() if view.column_default_sort and type(
        view.model._meta.fields[view.column_default_sort[0]]).__name__ == "AwareDateTimeField"}
    assert set(ROW_ORDER) == by_moment | {"work_order"}
    assert set(grids) - set(ROW_ORDER) == {"service_batch", "tenancy", "estate"}


@pytest.mark.parametrize("register", ["demand", "work_order", "print_job"])
def test_a_flag_link_shows_the_rule_rows_newest_first(app, chief, register):
    """The rows of the rule, in the grid's order, on both engines; a row whose order column is
    edited after its flag was raised (a work order's 派工时间) takes its new place at once."""
    model, field, rule_id, fill, prefix = REGISTERS[register]
    fill(chief.estates, FLAGGED, 0, flagged=True)
    fill(chief.estates, NEWER, 0, flagged=False)
    _sweep(rule_id)
    url = _link(chief, register, rule_id)
    html, _sql = page_statements(chief, url)
    expected = _expected(model, field, chief.estate_ids, rule_id)
    assert len(expected) == PAGE and all("-L-" in n for n in expected), expected
    assert _numbers(html, prefix) == expected
    # The same filter twice (a user can add it again): the same rows, no error.
    twice = url + "&" + re.search(r"(flt\d+)_(\d+)=", url).expand(r"flt9_\2=") + rule_id
    html, _sql = page_statements(chief, twice)
    assert _numbers(html, prefix) == expected
    if register != "work_order":
        return  # a demand's 受理时间 is not edited once it is registered
    # The oldest flagged order becomes the newest of them (派工时间 corrected in its form).
    oldest = model.get(model.number == f"{prefix}-L-OTHER-{FLAGGED - 1:05d}")
    before = snapshot(oldest)
    setattr(oldest, field, utcnow() - dt.timedelta(days=29))
    save_record(oldest, User.get(User.username == "chief"), before=before)
    html, _sql = page_statements(chief, url)
    assert _numbers(html, prefix)[0] == oldest.number
    assert _numbers(html, prefix) == _expected(model, field, chief.estate_ids, rule_id)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
@pytest.mark.parametrize("dense", [10, 2000], ids=["many flags", "few flags"])
@pytest.mark.parametrize("register", ["demand", "work_order", "print_job"])
def test_a_flag_link_reads_its_page_not_the_flags(app, chief, monkeypatch, register, dense):
    """Five times the flagged rows (older) and five times the newer rows around them: the
    same rows on the page, the same statements, no more SQLite VM instructions. Before
    (migration 026's mechanism) the link either asked every newer row for its flag (many
    flags) or collected and sorted every flag (few flags, and the work-order grid always)."""
    import jobs.views

    monkeypatch.setattr(jobs.views, "DENSE_FLAGS", dense)
    model, field, rule_id, fill, prefix = REGISTERS[register]
    monkeypatch.setattr(_view(app, register), "count_cap", PAGE)
    fill(chief.estates, FLAGGED, 0, flagged=True)
    fill(chief.estates, NEWER, 0, flagged=False)
    _sweep(rule_id)
    url = _link(chief, register, rule_id)
    expected = _expected(model, field, chief.estate_ids, rule_id)
    vm_steps(chief, url)  # warm-up
    before = vm_steps(chief, url)
    _html, sql_before = page_statements(chief, url)
    fill(chief.estates, FLAGGED * (GROWTH - 1), FLAGGED, flagged=True)
    fill(chief.estates, NEWER * (GROWTH - 1), NEWER, flagged=False)
    _sweep(rule_id)
    after = vm_steps(chief, url)
    html, sql_after = page_statements(chief, url)
    assert _numbers(html, prefix) == expected
    assert len(sql_after) == len(sql_before), (sql_before, sql_after)
    assert after <= 1.3 * before, (before, after)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's planner with statistics")
def test_a_small_register_link_walks_its_flags_with_statistics(app, chief):
    """Where ANALYZE has run (the bench's databases), SQLite rates one rule's active flags at
    the average of every rule's: beside a demand rule's backlog, a small register (print
    requests: thousands where demands are a million) looked cheaper to scan whole, or into a
    Bloom filter, than the rule's flags to walk — the register's size again (#14, migration
    031). The link still walks the rule's flags in order and looks each row up by its id."""
    _demands(chief.estates, 300, 0, flagged=True)  # the average of a rule's flags goes up
    _prints(chief.estates, FLAGGED, 0, flagged=True)
    _prints(chief.estates, NEWER, 0, flagged=False)
    _sweep("demand_callback", "print_approval")
    db.execute_sql("ANALYZE")
    url = _link(chief, "print_job", "print_approval")
    html, _sql = page_statements(chief, url)
    assert _numbers(html, "DY") == _expected(PrintJob, "requested_at", chief.estate_ids,
                                             "print_approval")
    for plan in page_plans(chief, url, "print_job"):
        assert "overdue_flag_active_order" in plan.splitlines()[0], plan
        assert "BLOOM" not in plan and "SCAN" not in plan, plan
