"""The front-desk registers' migration 006 matches the models and rolls back and forward, and
the demo seed fills every queue of the front desk with a balanced ledger (R-DEP-1/2, #4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import PG_URL

import models
from models.base import db, utcnow
from models.deposits import Deposit
from models.estate import Estate


def test_migration_006_matches_the_models(conn):
    """The hand-written migration creates exactly the columns the models declare."""
    from models.decoration import Decoration
    from models.keys import KeyMovement, KeySet
    from models.passes import TemporaryPass, WorkerPass
    from models.permits import GoodsLine, GoodsRelease, HotWorkPermit

    for model in (Deposit, Decoration, WorkerPass, TemporaryPass, HotWorkPermit, GoodsRelease,
                  GoodsLine, KeySet, KeyMovement):
        assert model in models.MODELS
        columns = {c.name for c in db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model
        indexes = {tuple(i.columns) for i in db.get_indexes(model._meta.table_name) if i.unique}
        for entry in model._meta.indexes:
            if not isinstance(entry, tuple):
                continue  # a ModelIndex (partial/covering, migration 023): not a unique key
            fields, unique = entry
            if unique:
                assert tuple(model._meta.fields[f].column_name for f in fields) in indexes


@pytest.mark.skipif(bool(PG_URL), reason="rolls a private SQLite file back and forth")
def test_migration_006_rolls_back_and_forward(tmp_path):
    from app import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/rb.db", "SECRET_KEY": "x"})
    with app.app_context(), db.connection_context():
        router = models.router()
        router.run("006_front_desk_registers")
        assert {"deposit", "decoration", "key_movement"} <= set(db.get_tables())
        router.rollback()
        assert router.done[-1] != "006_front_desk_registers"
        assert not {"deposit", "decoration", "key_movement"} & set(db.get_tables())
        router.run("006_front_desk_registers")
        assert "goods_line" in db.get_tables()


def test_demo_data_fills_every_queue_and_balances(app, conn):
    """`flask demo seed` builds the front-desk registers through their own operations."""
    from demo import seed as seed_demo
    from models.decoration import Decoration
    from models.keys import KeyMovement, KeySet
    from models.passes import TemporaryPass, WorkerPass
    from models.permits import GoodsRelease

    with app.app_context():
        seed_demo(units=120)
    now = utcnow()
    assert KeyMovement.overdue_loans(now).count() == 1
    assert {k.location for k in KeySet.select()} == {"office", "owner", "kept", "lent"}
    assert TemporaryPass.expired_not_returned(now).count() == 1
    assert WorkerPass.expired_not_returned(now).count() == 1
    assert Decoration.approval_overdue(now).count() == 1
    # One waits for its tests, one (tested and signed) for its approval (R-PASS-4, #11 item 9).
    assert {d.state for d in Decoration.select()} == {"applied", "signed", "permitted",
                                                      "accepted"}
    assert Deposit.refundable_not_refunded(now, 0).where(
        Deposit.kind == "contractor_deco").count() == 1
    assert {g.state for g in GoodsRelease.select()} == {"released", "pending"}
    (totals,) = Deposit.totals([Estate.get(Estate.code == "DEMO").id]).values()
    assert totals.balanced and totals.refunded == Decimal("1000.00")
    for decoration in Decoration.select():  # every application with its plan (R-DECO-1)
        plan = decoration.floor_plan()  # re-encoded like any upload, with its thumbnail
        assert plan.is_image and plan.thumb_key
