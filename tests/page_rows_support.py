"""Counting the work a page does (#14): SQLite's virtual-machine instructions for one request, and
registers filled with rows, so a test can compare a page before and after its register grows
(tests/test_page_rows.py, tests/test_grid_order_plans.py)."""

from __future__ import annotations

import datetime as dt

from sql_support import STEP, vm_steps  # noqa: F401  (one counter, re-exported)

from models.base import utcnow
from models.callbacks import Callback
from models.demands import Demand
from models.org import Department
from models.passes import TemporaryPass
from models.work_orders import WorkOrder

GROWTH = 5


def capped_grids(app, monkeypatch) -> None:
    """Every grid counts up to 20 rows, as it does past its cap: the page's own work is what
    a test counts, not the count's."""
    for view in app.extensions["admin"][0]._views:
        if hasattr(view, "count_cap"):
            monkeypatch.setattr(view, "count_cap", 20)


def chief_client(app, monkeypatch, make_user, *estates):
    """A supervisor of these estates ("chief"), logged in, every grid's count capped."""
    from conftest import PASSWORD, login

    make_user("chief", "supervisor", *estates)
    capped_grids(app, monkeypatch)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    return client


def register_rows(estates, n: int, start: int):
    """n demands (closed, called back), n completed work orders, n passes handed back."""
    now = utcnow()
    for estate in estates:
        department = Department.get_or_create(estate=estate, kind="engineering",
                                              defaults={"name": "工程维修部"})[0]
        received = [now - dt.timedelta(hours=start + i) for i in range(n)]
        Demand.insert_many([{
            "estate": estate, "number": f"XQ-T-{estate.id}-{start + i:06d}", "received_at": at,
            "category": "engineering", "description": "门锁损坏", "status": "closed",
            "reply_due": at + dt.timedelta(days=2), "replied_at": at, "completed_at": at,
            "closed_at": at} for i, at in enumerate(received)]).execute()
        WorkOrder.insert_many([{
            "estate": estate, "department": department, "what": "换锁",
            "number": f"WX-T-{estate.id}-{start + i:06d}",
            "dispatched_at": at, "completed_at": at, "state": "completed"}
            for i, at in enumerate(received)]).execute()
        Callback.insert_many([{
            "estate": estate, "demand": d, "called_at": at, "on_time": 5, "attitude": 5,
            "skill": 5, "etiquette": 5, "satisfied": True} for d, at in Demand.select(
                Demand.id, Demand.received_at).where(
                    Demand.estate == estate, Demand.number.startswith(
                        f"XQ-T-{estate.id}-")).order_by(Demand.id.desc()).limit(n).tuples()
        ]).execute()
        TemporaryPass.insert_many([{
            "estate": estate, "number": f"LS-T-{estate.id}-{start + i:06d}", "holder_name": "送货",
            "id_number": "",
            "purpose": "送货", "issued_at": at, "valid_from": at.date(),
            "valid_to": at.date() + dt.timedelta(days=2), "state": "returned", "returned_at": at}
            for i, at in enumerate(received)]).execute()


def ledger_rows(estates, n: int, start: int):
    """n deposits (one in five still due) and n decorations (one in five permitted) per estate,
    registered `start` hours ago and earlier."""
    from decimal import Decimal

    from models.decoration import Decoration
    from models.deposits import Deposit
    from models.org import Unit

    now = utcnow()
    for estate in estates:
        unit = Unit.select().where(Unit.estate == estate).first()
        moments = [now - dt.timedelta(hours=start + i) for i in range(n)]
        Deposit.insert_many([{
            "estate": estate, "kind": "pass_deposit", "payer": "张三", "purpose": "出入证押金",
            "amount": Decimal(50 + (start + i) % 7), "created_at": at,
            "state": "due" if (start + i) % 5 == 0 else "held",
            "receipt_number": None if (start + i) % 5 == 0 else f"SJ-T-{start + i:06d}"}
            for i, at in enumerate(moments)]).execute()
        Decoration.insert_many([{
            "estate": estate, "unit": unit, "number": f"ZX-T-{start + i:06d}",
            "contractor": "甲装修", "plan_summary": "厨卫改造", "works_start": at.date(),
            "works_end": at.date(), "applied_at": at,
            "state": "permitted" if (start + i) % 5 == 0 else "applied"}
            for i, at in enumerate(moments)]).execute()


def open_orders(estate, kind: str, n: int, start: int, assignee=None):
    """n open work orders of the estate's `kind` department, dispatched `start` minutes after
    thirty days ago and later (later deadlines for a later start): every other one for a
    demand (reply due two days after it was received), the rest stand-alone; every fifth one
    is `assignee`'s (none if None)."""
    now = utcnow()  # numbers fit 20 characters: the kind cut to three letters
    department = Department.get_or_create(estate=estate, kind=kind,
                                          defaults={"name": kind})[0]
    moments = [now - dt.timedelta(days=30, minutes=-(start + i)) for i in range(n)]
    Demand.insert_many([{
        "estate": estate, "number": f"XQ-O-{estate.id}-{kind[:3]}-{start + i:06d}",
        "received_at": at, "category": "engineering", "description": "门锁损坏",
        "status": "dispatched", "reply_due": at + dt.timedelta(days=2)}
        for i, at in enumerate(moments) if i % 2 == 0]).execute()
    demands = dict(Demand.select(Demand.number, Demand.id).where(
        Demand.number.startswith(f"XQ-O-{estate.id}-{kind[:3]}-")).tuples())
    WorkOrder.insert_many([{
        "estate": estate, "department": department, "what": "换锁",
        "number": f"WX-O-{estate.id}-{kind[:3]}-{start + i:06d}", "dispatched_at": at,
        "demand": demands.get(f"XQ-O-{estate.id}-{kind[:3]}-{start + i:06d}"),
        "assignee": assignee.id if assignee is not None and i % 5 == 0 else None,
        "state": "open" if i % 3 else "arrived"}
        for i, at in enumerate(moments)]).execute()


def movement_rows(estates, n: int, start: int):
    """n key loans and returns per estate, made `start` hours ago and earlier."""
    from models.keys import KeyMovement, KeySet
    from models.org import Unit

    now = utcnow()
    for estate in estates:
        unit = Unit.select().where(Unit.estate == estate).first()
        keys = KeySet.get_or_create(estate=estate, unit=unit)[0]
        KeyMovement.insert_many([{
            "estate": estate, "key_set": keys, "kind": "lend" if i % 2 else "return",
            "number": f"JY-T-{estate.id}-{start + i:06d}",
            "at": now - dt.timedelta(hours=start + i), "to_location": "lent",
            "person": "李师傅", "expected_return": now - dt.timedelta(hours=start + i - 4)}
            for i in range(n)]).execute()



def trail_rows(estates, n: int, start: int):
    """n audit rows and n sent SMS per estate, written `start` hours ago and earlier, oldest
    first (ids follow time, as they do when the desk writes them; the trail and the messages
    grow with every write: bench/pages_data.py's layout 3)."""
    from models.outbox import OutboxMessage
    from models.register import AuditLog

    now = utcnow()
    for estate in estates:
        AuditLog.insert_many([{
            "created_at": now - dt.timedelta(hours=start + i), "username": f"clerk{i % 7}",
            "action": "create" if i % 3 == 0 else "update", "table": "demand",
            "row_id": start + i, "estate": estate, "changes": "{}",
            "summary": f"XQ-T-{estate.id}-{start + i:06d} 卫生间漏水"}
            for i in reversed(range(n))]).execute()
        OutboxMessage.insert_many([{
            "created_at": now - dt.timedelta(hours=start + i), "estate": estate,
            "key": f"demand:{estate.id}:{start + i}:sms", "event": "demand_received",
            "channel": "sms", "audience": "owner", "recipient": f"139{start + i:08d}",
            "subject_table": "demand", "subject_id": start + i, "sms_template": "SMS_1",
            "params": "{}", "text": "", "state": "sent", "attempts": 1 + i % 3,
            "next_attempt_at": now, "answer": "OK",
            "sent_at": now - dt.timedelta(hours=start + i)} for i in reversed(range(n))]).execute()
