"""Issue #15's rules at their boundaries (registers' own operations, a real database): one
second before, not flagged; one second after, flagged; doing the work clears it, and the flag
keeps when it was raised (R-REC-5)."""

from __future__ import annotations

import datetime as dt

import pytest
from overdue_support import (
    age,
    deposit_asked,
    gas_batch,
    goods_slip,
    incident,
    midnight,
    move_in,
    office_today,
    print_job,
    staff_of,
    tenancy,
)
from test_jobs_support import at, expected_flags, new_demand, new_work_order

from jobs.models import OverdueFlag
from jobs.overdue import mark_overdue
from models import approvals
from models.batches import ServiceBatch
from models.demands import Demand
from models.deposits import Deposit
from models.emergencies import Emergency
from models.movein import MoveIn
from models.org import Department
from models.permits import GoodsRelease
from models.printing import PrintJob
from models.register import change_record, save_record, void_record
from models.tenancy import Tenancy
from models.work_orders import WorkOrder

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def staff(conn, estate):
    return staff_of(estate)


def flagged(rule: str, now: dt.datetime) -> set[int]:
    """Sweep at `now`; the rows the rule has an active flag on (and the sweep agrees with the
    rule's own query for every rule)."""
    mark_overdue(now)
    active = {(r, i) for r, i in OverdueFlag.select(OverdueFlag.rule, OverdueFlag.row_id)
              .where(OverdueFlag.cleared_at.is_null()).tuples()}
    assert active == expected_flags(now)
    return {row_id for r, row_id in active if r == rule}


def history(rule: str) -> list[tuple]:
    return list(OverdueFlag.select(OverdueFlag.raised_at, OverdueFlag.cleared_at)
                .where(OverdueFlag.rule == rule).order_by(OverdueFlag.id).tuples())


def test_work_order_arrival_sla_by_urgency(app, staff, estate):
    clerk = staff["desk"]
    dispatched = at(2026, 11, 10, 9, 0)
    plain = new_work_order(clerk, estate, dispatched)
    demand = new_demand(clerk, estate, at(2026, 11, 10, 8, 50), urgent=True)
    department = Department.get(Department.estate == estate.id, Department.kind == "engineering")
    urgent = save_record(WorkOrder(estate=estate.id, department=department.id, demand=demand.id,
                                   what="爆管抢修", dispatched_at=dispatched), clerk)
    half_hour = dispatched + dt.timedelta(minutes=30)
    four_hours = dispatched + dt.timedelta(hours=4)
    assert flagged("work_order_arrival", half_hour - SECOND) == set()
    assert flagged("work_order_arrival", half_hour + SECOND) == {urgent.id}
    assert flagged("work_order_arrival", four_hours - SECOND) == {urgent.id}
    assert flagged("work_order_arrival", four_hours + SECOND) == {urgent.id, plain.id}

    WorkOrder.get_by_id(plain.id).record_arrival(clerk, arrived_at=four_hours + SECOND)
    assert flagged("work_order_arrival", four_hours + 2 * SECOND) == {urgent.id}
    assert history("work_order_arrival")[1] == (four_hours + SECOND, four_hours + 2 * SECOND)
    # The setting moves the boundary.
    app.config["JOBS_WORK_ORDER_ARRIVAL_URGENT_MINUTES"] = 60
    with app.app_context():
        assert flagged("work_order_arrival", half_hour + SECOND) == set()


def test_work_order_completion_by_the_demands_deadline_or_the_default(app, staff, estate):
    clerk = staff["desk"]
    dispatched = at(2026, 11, 10, 9, 0)
    loose = new_work_order(clerk, estate, dispatched)  # no demand: 48 hours
    demand = new_demand(clerk, estate, at(2026, 11, 10, 8, 0))  # 2 working days: end of 12th
    department = Department.get(Department.estate == estate.id, Department.kind == "engineering")
    promised = save_record(WorkOrder(estate=estate.id, department=department.id,
                                     demand=demand.id, what="换水管", dispatched_at=dispatched),
                           clerk)
    promised.record_arrival(clerk, arrived_at=dispatched + dt.timedelta(hours=1))
    due = Demand.get_by_id(demand.id).reply_due
    assert due == midnight(dt.date(2026, 11, 13)) - dt.timedelta(microseconds=1)
    two_days = dispatched + dt.timedelta(hours=48)
    # The order without a demand gets 48 hours; the demand's order has until its deadline.
    assert flagged("work_order_completion", two_days - SECOND) == set()
    assert flagged("work_order_completion", two_days + SECOND) == {loose.id}
    assert flagged("work_order_completion", due - SECOND) == {loose.id}
    assert flagged("work_order_completion", due + SECOND) == {promised.id, loose.id}

    WorkOrder.get_by_id(promised.id).complete(clerk, result="已更换",
                                              completed_at=due + dt.timedelta(hours=1))
    WorkOrder.get_by_id(loose.id).complete(clerk, result="已更换",
                                           completed_at=due + dt.timedelta(hours=1))
    assert flagged("work_order_completion", due + dt.timedelta(hours=2)) == set()


def test_goods_release_waiting_for_the_owner(app, staff, estate):
    slip = goods_slip(estate, staff["desk"])
    start = GoodsRelease.get_by_id(slip.id).created_at
    limit = start + dt.timedelta(hours=2)
    assert flagged("goods_release_confirm", limit - SECOND) == set()
    assert flagged("goods_release_confirm", limit + SECOND) == {slip.id}
    GoodsRelease.get_by_id(slip.id).confirm(staff["desk"], confirmed=True, owner_name="业主101",
                                            method="phone")
    assert flagged("goods_release_confirm", limit + 2 * SECOND) == set()
    assert history("goods_release_confirm") == [(limit + SECOND, limit + 2 * SECOND)]


def test_deposit_asked_and_not_collected(app, staff, estate):
    deposit = deposit_asked(estate, staff["desk"])
    age(Deposit, deposit, at(2026, 11, 10, 9, 0))
    limit = at(2026, 11, 13, 9, 0)
    assert flagged("deposit_uncollected", limit - SECOND) == set()
    assert flagged("deposit_uncollected", limit + SECOND) == {deposit.id}
    Deposit.get_by_id(deposit.id).collect(staff["cashier"])
    assert flagged("deposit_uncollected", limit + 2 * SECOND) == set()


def test_emergency_not_stabilised_then_without_its_aftermath(app, staff, estate):
    occurred = at(2026, 11, 10, 9, 0)
    row = incident(estate, staff["desk"], occurred)
    day = occurred + dt.timedelta(hours=24)
    assert flagged("emergency_open", day - SECOND) == set()
    assert flagged("emergency_open", day + SECOND) == {row.id}

    stabilised = day + dt.timedelta(hours=1)
    change_record(Emergency.get_by_id(row.id), staff["boss"], stabilised_at=stabilised)
    assert Emergency.get_by_id(row.id).state == "stabilised"
    assert flagged("emergency_open", stabilised + SECOND) == set()
    # R-EMG-3: cause, responsible person and measures within 3 days of stabilising.
    limit = stabilised + dt.timedelta(days=3)
    assert flagged("emergency_aftermath", limit - SECOND) == set()
    assert flagged("emergency_aftermath", limit + SECOND) == {row.id}
    change_record(Emergency.get_by_id(row.id), staff["boss"], cause="门锁继电器故障",
                  responsible_person="维保单位", remedial_measures="更换继电器")
    assert flagged("emergency_aftermath", limit + 2 * SECOND) == {row.id}  # one still blank
    change_record(Emergency.get_by_id(row.id), staff["boss"], preventive_measures="每周检查")
    assert flagged("emergency_aftermath", limit + 3 * SECOND) == set()


def test_print_job_waiting_for_approval(app, staff, estate):
    requested = at(2026, 11, 10, 9, 0)
    job = print_job(estate, staff["desk"], requested)
    limit = requested + dt.timedelta(hours=4)
    assert flagged("print_approval", limit - SECOND) == set()
    assert flagged("print_approval", limit + SECOND) == {job.id}
    # Approved by the 客服主管 in their own login (R-REC-2): the flag clears.
    approvals.apply_now(PrintJob.get_by_id(job.id), "approve", staff["desk"], staff["lead"],
                        {"note": "同意"})
    assert flagged("print_approval", limit + 2 * SECOND) == set()


def test_move_in_stuck_at_a_step(app, staff, estate):
    step1 = at(2026, 11, 2, 9, 0)
    row = move_in(estate, staff["desk"], step1_at=step1)
    assert row.current_step == 2
    limit = step1 + dt.timedelta(days=7)
    assert flagged("move_in_stuck", limit - SECOND) == set()
    assert flagged("move_in_stuck", limit + SECOND) == {row.id}
    MoveIn.get_by_id(row.id).do_step(staff["desk"], 2, at=limit, id_copied=True)
    assert flagged("move_in_stuck", limit + 2 * SECOND) == set()
    # Stuck again at step 3, a week after step 2.
    assert flagged("move_in_stuck", limit + dt.timedelta(days=7) + SECOND) == {row.id}
    void_record(MoveIn.get_by_id(row.id), staff["lead"], "重复登记")
    assert flagged("move_in_stuck", limit + dt.timedelta(days=8)) == set()


def test_batch_not_notified_by_its_deadline(app, staff, estate):
    day = office_today() + dt.timedelta(days=1)
    batch = gas_batch(estate, staff["desk"], day)
    deadline = day - dt.timedelta(days=3)  # BATCH_NOTICE_DAYS: the last day to tell owners
    after = midnight(deadline + dt.timedelta(days=1))
    assert flagged("batch_notice", after - SECOND) == set()
    assert flagged("batch_notice", after + SECOND) == {batch.id}
    ServiceBatch.get_by_id(batch.id).record_notice(staff["desk"], method="sms",
                                                   at=midnight(deadline) + dt.timedelta(hours=10))
    assert flagged("batch_notice", after + 2 * SECOND) == set()


def test_tenancy_past_its_end_and_not_ended(app, staff, estate):
    ends = office_today() - dt.timedelta(days=5)
    lease = tenancy(estate, staff["desk"], ends - dt.timedelta(days=365), ends)
    after = midnight(ends + dt.timedelta(days=1))
    assert flagged("tenancy_past_end", after - SECOND) == set()
    assert flagged("tenancy_past_end", after + SECOND) == {lease.id}
    Tenancy.get_by_id(lease.id).end(staff["desk"], on=ends)
    assert flagged("tenancy_past_end", after + 2 * SECOND) == set()
