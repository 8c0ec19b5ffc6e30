"""Searching a register number finds it through the number column's index (#14).

A number typed into a grid's search box (WX-2026-00123) was a substring search across every
searchable column, `LIKE '%WX-2026-00123%'`, which no index serves: 0.3–2.2 s at 1,000,000 rows
(bench/pages_bench.py). A word that is one of the register's numbers is now looked up by
equality, the start of one (WX-2026-001) by a prefix range, on the number column alone
(models.search.split_number_search, GridMixin.column_number_search). These tests pin that the
rows are the ones the substring search found for a whole number, that a prefix finds the
numbers that begin with it, and that the page's plan reads the number index (EXPLAIN QUERY PLAN
on SQLite, EXPLAIN on PostgreSQL), not the table.

A serial typed alone (5–8 digits: 00123 of WX-2026-00123) was the same substring search; it is now
each of the register's numbers with that serial, one per year (models.search.serial_clause): the
same rows as the substring search for next_number's five-digit serials, read by index; the
page's work does not grow with the register.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from conftest import PG_URL
from sql_support import page_plans, page_statements, vm_steps

from models.base import db, utcnow
from models.deposits import Deposit
from models.org import Department
from models.passes import TemporaryPass
from models.search import split_number_search
from models.work_orders import WorkOrder

# grid endpoint -> (table, a number of its register)
GRIDS = {
    "work_order": ("work_order", "WX-2026-00007"),
    "temporary_pass": ("temporary_pass", "LS-2026-00007"),
    "key_movement": ("key_movement", "JY-2026-00007"),
    "deposit": ("deposit", "SJ-2026-00007"),
    "decoration": ("decoration", "ZX-2026-00007"),
}
INDEX_PLAN = re.compile(r"SEARCH \S+ USING (COVERING )?INDEX \w*number"  # SQLite
                        r"|Index (Only )?Scan using \w*number|Bitmap Index Scan on \w*number")


def test_number_words_are_split_from_the_other_words():
    assert split_number_search("wx-2026-00123 漏水", {"WX": "number"}) == (
        ["WX-2026-00123"], "漏水")
    assert split_number_search("WX-2026-001", {"WX": "number"}) == (["WX-2026-001"], "")
    # Another register's prefix, shorter digits, text: the substring search as before; 5–8
    # digits alone are a serial (serial_clause).
    assert split_number_search("LS-2026-00001 502 0123 张三", {"WX": "number"}) == (
        [], "LS-2026-00001 502 0123 张三")
    assert split_number_search("00123 张三 12345678 123456789", {"WX": "number"}) == (
        ["00123", "12345678"], "张三 123456789")


def _orders(estate, n=30, start=1):
    department = Department.get(Department.estate == estate, Department.kind == "engineering")
    now = utcnow()
    WorkOrder.insert_many([{
        "estate": estate, "department": department, "what": "换锁", "location": "1-1-101",
        "number": f"WX-2026-{i:05d}", "dispatched_at": now - dt.timedelta(hours=i),
        "state": "open"} for i in range(start, start + n)]).execute()


def _passes(estate, n=30, start=1):
    now = utcnow()
    TemporaryPass.insert_many([{
        "estate": estate, "number": f"LS-2026-{i:05d}", "holder_name": "送货", "id_number": "",
        "purpose": "送货", "issued_at": now - dt.timedelta(hours=i), "valid_from": now.date(),
        "valid_to": now.date() + dt.timedelta(days=2), "state": "issued"}
        for i in range(start, start + n)]).execute()


def _deposits(estate, n=30, start=1):
    Deposit.insert_many([{
        "estate": estate, "kind": "pass_deposit", "payer": "张三", "amount": Decimal("50.00"),
        "purpose": "出入证押金", "state": "held", "receipt_number": f"SJ-2026-{i:05d}"}
        for i in range(start, start + n)]).execute()


def _grid_numbers(client, endpoint: str, search: str) -> list[str]:
    html = client.get(f"/admin/{endpoint}/?search={search}").get_data(as_text=True)
    return re.findall(r"[A-Z]{2}-20\d\d-\d{5}", html)


@pytest.mark.parametrize("endpoint, make", [("work_order", _orders), ("temporary_pass", _passes),
                                            ("deposit", _deposits)])
def test_a_whole_number_finds_the_rows_the_substring_search_found(
        app, login_as, estate, monkeypatch, endpoint, make):
    make(estate)
    client = login_as("supervisor")
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    prefix = GRIDS[endpoint][1][:2]
    for number in (f"{prefix}-2026-00007", f"{prefix.lower()}-2026-00030", f"{prefix}-2026-09999"):
        found = _grid_numbers(client, endpoint, number)
        with monkeypatch.context() as before:
            before.setattr(view, "column_number_search", {})  # today's substring search
            assert found == _grid_numbers(client, endpoint, number), number
        assert set(found) <= {number.upper()}
    # The start of a number: every number that begins with it, and no other.
    found = set(_grid_numbers(client, endpoint, f"{prefix}-2026-0001"))
    assert found == {f"{prefix}-2026-{i:05d}" for i in range(10, 20)}


MAKERS = {"work_order": _orders, "temporary_pass": _passes, "deposit": _deposits}


@pytest.mark.parametrize("endpoint", sorted(GRIDS))
def test_the_page_reads_the_number_index(login_as, estate, endpoint):
    table, number = GRIDS[endpoint]
    client = login_as("supervisor")
    if PG_URL:
        # PostgreSQL plans empty, never analysed tables as a tie between indexes: give it a
        # register to choose by (the tables the helpers above fill).
        if endpoint not in MAKERS:
            pytest.skip("PostgreSQL: no rows to plan by for this register here")
        MAKERS[endpoint](estate, 3000)
        db.execute_sql(f"ANALYZE {table}")
    # A whole number, the start of one; a serial where the register has numbers to look it up
    # by (with none, the search is `1 = 0`).
    words = (number, number[:-1], number[-5:]) if endpoint in MAKERS else (number, number[:-1])
    if endpoint in MAKERS and not PG_URL:
        MAKERS[endpoint](estate)
    for word in words:
        for plan in page_plans(client, f"/admin/{endpoint}/?search={word}", table):
            assert INDEX_PLAN.search(plan), (word, plan)


def _orders_of(estate, year: int, serials) -> None:
    department = Department.get_or_create(estate=estate, kind="engineering",
                                          defaults={"name": "工程维修部"})[0]
    now = utcnow()
    WorkOrder.insert_many([{
        "estate": estate, "department": department, "what": "换锁", "location": "1-1-101",
        "number": f"WX-{year}-{i:05d}", "dispatched_at": now - dt.timedelta(hours=i),
        "state": "open"} for i in serials]).execute()


def test_a_serial_finds_that_number_of_every_year(app, login_as, estate, other_estate,
                                                   monkeypatch):
    """00007 typed alone: WX-2025-00007 and WX-2026-00007 of the user's estate, as the substring
    search found them (R-DEM-8 work orders); not the other estate's; shorter digits keep the
    substring search."""
    _orders_of(estate, 2025, range(1, 31))
    _orders_of(estate, 2026, range(1, 31))
    _orders_of(other_estate, 2026, range(1, 31))
    WorkOrder.update(number="WX-OLD").where(WorkOrder.number == "WX-2025-00030").execute()
    WorkOrder.update(number="WX").where(WorkOrder.number == "WX-2025-00029").execute()
    client = login_as("supervisor")  # (numbers of another form are stepped over)
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "work_order")
    for serial, expected in (("00007", {"WX-2025-00007", "WX-2026-00007"}), ("00031", set())):
        found = _grid_numbers(client, "work_order", serial)
        with monkeypatch.context() as before:
            before.setattr(view, "column_number_search", {})  # the substring search
            assert sorted(found) == sorted(_grid_numbers(client, "work_order", serial)), serial
        assert set(found) == expected and len(found) == len(expected), (serial, found)
    assert set(_grid_numbers(client, "work_order", "0001")) == {  # 4 digits: a substring
        f"WX-{year}-{i:05d}" for year in (2025, 2026) for i in (1, *range(10, 20))}


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
# (Not the deposit ledger: its totals above the grid sum every deposit of the estates on any
# page, searched or not; tests/test_grid_order_plans.py.)
@pytest.mark.parametrize("endpoint", ["work_order", "temporary_pass"])
def test_a_serial_search_does_not_grow_with_the_register(login_as, estate, endpoint):
    """A serial searched reads the number index: five times the register, the same work and
    statements (it read the whole register: 1.4–2.7 s at 1M, bench/pages_bench.py)."""
    client = login_as("supervisor")
    MAKERS[endpoint](estate, 200)
    url = f"/admin/{endpoint}/?search=00007"
    vm_steps(client, url)  # warm-up
    before, statements = vm_steps(client, url), len(page_statements(client, url)[1])
    MAKERS[endpoint](estate, 200 * 4, start=201)  # five times the register, older rows
    after, grown = vm_steps(client, url), len(page_statements(client, url)[1])
    assert after <= 1.3 * before and grown == statements, (before, after, statements, grown)
