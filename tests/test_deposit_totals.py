"""The deposit ledger's totals are kept per estate and state, not summed per page (#14, R-DEP).

The ledger (押金/费用台账) shows each estate's held, refundable, refunded, forfeited and fee
totals above its grid (Deposit.totals). They summed every deposit of the user's estates on
every page view (3.7 ms at 1M demands' 20,000 deposits from a covering index, ×1.2–1.3 per page
from 100k). deposit_total now keeps them per estate and state, by triggers in the deposit's own
transaction (migration 028), whatever writes the deposit: the rules' save_record, a bulk
insert, a plain UPDATE or DELETE. tests/test_deposits_ledger.py checks the figures after any
sequence of the ledger's operations; here, other write paths and the work.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import deposits_support as support
import pytest
from conftest import PG_URL
from sql_support import vm_steps_of

from models.base import utcnow
from models.deposits import DEPOSIT_TOTAL, Deposit

GROWTH = 5
BASE = 40  # deposits per estate before the growth

staff = support.staff


def _deposits(estates, n: int, start: int) -> None:
    """n deposits per estate written in bulk (no model function): due, held, refunded with a
    part kept, forfeited, fees — amounts with cents."""
    now = utcnow()
    for estate in estates:
        rows = []
        for i in range(start, start + n):
            amount = Decimal("50.00") + Decimal(i % 7) + Decimal("0.35")
            row = {"estate": estate, "kind": "pass_deposit", "payer": "张三", "amount": amount,
                   "state": ("due", "held", "refunded", "forfeited", "fee")[i % 5],
                   "refunded_amount": Decimal("0.00"), "forfeited_amount": Decimal("0.00"),
                   "created_at": now - dt.timedelta(minutes=i)}
            if row["state"] == "refunded":
                row.update(refunded_amount=amount - Decimal("10.10"),
                           forfeited_amount=Decimal("10.10"))
            elif row["state"] == "forfeited":
                row.update(forfeited_amount=amount)
            elif row["state"] == "fee":
                row.update(kind="card_fee")
            rows.append(row)
        Deposit.insert_many(rows).execute()


def _summed(estate_ids) -> dict:
    """The totals as the ledger summed them before: every deposit, whole cents."""
    summed = {}
    for d in Deposit.select().where(Deposit.estate.in_(estate_ids)):
        key = (d.estate_id, d.state)
        n, *cents = summed.get(key, (0, 0, 0, 0))
        summed[key] = (n + 1, *(c + int(round(v * 100)) for c, v in zip(
            cents, (d.amount, d.refunded_amount, d.forfeited_amount), strict=True)))
    return summed


def _kept(estate_ids) -> dict:
    rows = DEPOSIT_TOTAL.select().where(DEPOSIT_TOTAL.estate_id.in_(estate_ids),
                                        DEPOSIT_TOTAL.deposits > 0).dicts()
    return {(r["estate_id"], r["state"]): (r["deposits"], r["amount_cents"],
                                           r["refunded_cents"], r["forfeited_cents"])
            for r in rows}


def test_totals_follow_every_write_path(conn, estate, other_estate, staff):
    """Bulk inserts, the ledger's own operations, a plain UPDATE moving deposits between
    states and estates, a DELETE and a rolled-back transaction: the kept totals are always the
    sum of the rows (R-DEP-1)."""
    from models.base import db

    ids = [estate.id, other_estate.id]
    _deposits([estate, other_estate], BASE, 0)
    assert _kept(ids) == _summed(ids)
    support.refundable(estate, staff, Decimal("123.45"))
    support.ask(estate, staff["clerk"]).cancel(staff["clerk"], reason="未办理")
    assert _kept(ids) == _summed(ids)
    Deposit.update(state="held").where(Deposit.state == "due").execute()
    Deposit.update(estate=other_estate.id, amount=Deposit.amount + Decimal("0.01")).where(
        Deposit.estate == estate.id, Deposit.state == "fee").execute()
    Deposit.delete().where(Deposit.state == "forfeited", Deposit.estate == estate.id).execute()
    assert _kept(ids) == _summed(ids)
    with pytest.raises(RuntimeError), db.atomic():
        Deposit.update(state="cancelled").execute()
        raise RuntimeError("rolled back")
    assert _kept(ids) == _summed(ids)
    totals = Deposit.totals(ids)
    assert all(t.balanced for t in totals.values())
    assert totals[estate.id].refundable == Decimal("123.45")


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")
def test_totals_do_not_read_the_ledger(conn, estate, other_estate):
    """Five times the deposits, the same work for the totals (before: every deposit of the
    estates was read and summed, ×5 here)."""
    ids = [estate.id, other_estate.id]
    _deposits([estate, other_estate], BASE, 0)
    vm_steps_of(lambda: Deposit.totals(ids))  # warm-up
    before, _totals = vm_steps_of(lambda: Deposit.totals(ids))
    _deposits([estate, other_estate], BASE * (GROWTH - 1), BASE)
    after, totals = vm_steps_of(lambda: Deposit.totals(ids))
    assert _kept(ids) == _summed(ids) and totals[estate.id].balanced
    assert after <= 1.3 * before, (before, after)
