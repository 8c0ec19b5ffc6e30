"""A page reads its page of rows, not the register, for a user of several estates (#14).

tests/test_page_queries.py counts a page's statements; here the work inside them is counted:
SQLite's virtual-machine instructions for one request (a progress handler on the request's
connection), before and after the register grows fivefold. A statement that reads and sorts
every row of the user's estates to show 50 grows with them; one read in an index's order stops
after its page. Measured in bench/pages_bench.py before migration 024: the demand grid's first
page for a supervisor of ten estates took 2.9 s at 1,000,000 demands.
"""

from __future__ import annotations

import pytest
from conftest import PASSWORD, PG_URL, login
from page_rows_support import GROWTH, chief_client, register_rows, vm_steps

from models.base import db, utcnow

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")

# (The key movements grid is not here: without statistics, as production's SQLite runs, the
# planner keeps the estate's index and sorts; with ANALYZE it reads key_movement (at).)
PAGES = ("/admin/demand/", "/admin/callback/", "/admin/temporary_pass/", "/m/")


def test_pages_do_not_read_every_row_of_a_supervisors_estates(app, conn, estate, other_estate,
                                                               make_user, monkeypatch):
    client = chief_client(app, monkeypatch, make_user, estate, other_estate)
    estates = [estate, other_estate]
    register_rows(estates, 60, 0)
    for url in PAGES:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in PAGES}
    register_rows(estates, 60 * (GROWTH - 1), 60)  # older rows: the newest page stays the same rows
    after = {url: vm_steps(client, url) for url in PAGES}
    # Reading and sorting every row grows the work about GROWTH-fold; reading one page in an
    # index's order leaves it as it was (a little for a deeper B-tree).
    grown = {url: round(after[url] / before[url], 2) for url in PAGES
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)


def _inspection_items(estate, n: int) -> None:
    """n rectification items from inspections (no demand), as most are."""
    from models.rectification import Rectification

    Rectification.insert_many([{"estate": estate, "location": "5栋地下车库",
                                "description": "墙面渗水"} for _ in range(n)]).execute()


def test_a_demands_details_read_only_its_own_orders(app, conn, estate, make_user):
    """The demand's page lists its work orders and asks whether an item was made from it (转整改).
    Most orders and items have no demand (demand_id NULL); on an analysed database (the bench's,
    PostgreSQL always) SQLite rated the plain demand_id indexes at every row and read both tables
    (×2.1 at 1M). Migration 029's partial indexes hold only the rows with a demand: five times the
    stand-alone orders and items, the same work (#14 item 2, R-DEM-8)."""
    from models.demands import Demand
    from models.work_orders import WorkOrder

    make_user("chief", "supervisor", estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    register_rows([estate], 60, 0)  # stand-alone work orders beside the demands
    _inspection_items(estate, 60)
    demand = Demand.select().order_by(Demand.id.desc()).first()
    WorkOrder.create(estate=estate, demand=demand, department=WorkOrder.get().department,
                     what="换锁", number="WX-T-OWN", dispatched_at=utcnow())
    url = f"/admin/demand/details/?id={demand.id}"
    db.execute_sql("ANALYZE")
    vm_steps(client, url)  # warm-up: the process's caches
    before = vm_steps(client, url)
    register_rows([estate], 60 * (GROWTH - 1), 60)
    _inspection_items(estate, 60 * (GROWTH - 1))
    db.execute_sql("ANALYZE")
    after = vm_steps(client, url)
    assert "WX-T-OWN" in client.get(url).get_data(as_text=True)
    assert after <= 1.3 * before, (before, after)


def test_a_deposits_details_find_its_decoration_by_index(app, conn, estate, make_user):
    """A deposit's page names the decoration or worker pass whose deposit it is, if any. Where
    decorations were registered without deposits (kept from before the system, as the bench's
    are), an analysed database (the db_statistics job, each night) rated the plain deposit
    indexes at every row, and SQLite scanned every decoration for each deposit page. Migration
    032's partial indexes hold only the decorations with one: five times the decorations, the
    same work (#14)."""
    from decimal import Decimal

    from page_rows_support import ledger_rows

    from models.decoration import Decoration
    from models.deposits import Deposit

    make_user("chief", "supervisor", estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    ledger_rows([estate], 60, 0)  # decorations without deposits
    deposit = Deposit.create(estate=estate, kind="key_deposit", payer="王五", purpose="钥匙押金",
                             amount=Decimal(200), state="due")
    url = f"/admin/deposit/details/?id={deposit.id}"
    db.execute_sql("ANALYZE")
    vm_steps(client, url)  # warm-up: the process's caches
    before = vm_steps(client, url)
    ledger_rows([estate], 60 * (GROWTH - 1), 60)
    db.execute_sql("ANALYZE")
    after = vm_steps(client, url)
    assert after <= 1.3 * before, (before, after)
    # A decoration's deposit still names its decoration.
    owner = Deposit.create(estate=estate, kind="owner_deco", payer="赵六", purpose="装修押金",
                           amount=Decimal(2000), state="due")
    decoration = Decoration.select().order_by(Decoration.id).first()
    Decoration.update(owner_deposit=owner).where(Decoration.id == decoration.id).execute()
    page = client.get(f"/admin/deposit/details/?id={owner.id}").get_data(as_text=True)
    assert decoration.number in page
