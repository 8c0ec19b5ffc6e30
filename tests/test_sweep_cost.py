"""What keeps the overdue sweep's cost flat at 1,000,000 demands (issue #15; the figures are in
bench/jobs_bench.py, never asserted here):

- the largest rules read their overdue rows from a covering index of migration 023 (the plan
  says so on SQLite; the indexes exist on both engines);
- the missed-deadline notices (#17, R-DEM-7) are written in bulk by `enqueue_many`, which writes
  exactly the rows `enqueue` writes, and only for the flags the sweep itself raised.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_jobs_support import OFFICE, new_demand

from jobs.models import OverdueFlag
from jobs.overdue import RULES, mark_overdue
from models.base import db, is_sqlite
from models.notify import on_flags_raised
from models.notify_settings import NotifyTemplate
from models.org import Department
from models.outbox import OutboxMessage, enqueue, enqueue_many

RULE = {rule.id: rule for rule in RULES}
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=OFFICE)

# rule id -> (table, the migration-020 index it reads)
SWEEP_INDEXES = {
    "demand_reply": ("demand", "demand_reply_sweep"),
    "demand_callback": ("demand", "demand_callback_sweep"),
    "work_order_callback": ("work_order", "work_order_callback_sweep"),
    "temporary_pass": ("temporary_pass", "temporary_pass_sweep"),
}


@pytest.mark.parametrize("rule_id", sorted(SWEEP_INDEXES))
def test_the_largest_rules_read_only_their_covering_index(app, conn, rule_id):
    table, index = SWEEP_INDEXES[rule_id]
    assert index in {i.name for i in db.get_indexes(table)}
    if not is_sqlite():
        return  # PostgreSQL's plans depend on its statistics; the bench prints them
    rule = RULE[rule_id]
    # What the sweep's INSERT … SELECT reads: the row, its estate, under the rule's predicate.
    sql, params = rule.query(NOW).select(rule.model.id, rule.estate_column).sql()
    plan = " ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert f"COVERING INDEX {index}" in plan, plan


@pytest.fixture
def supervisors(make_user, estate):
    supervisor = make_user("sup1", "supervisor", estate)
    head = make_user("enghead", "dept", estate, department="engineering")
    head.dept_supervisor = True
    head.save()
    return supervisor, head


def _row(message: OutboxMessage) -> dict:
    values = dict(message.__data__)
    for name in ("id", "key"):
        values.pop(name)
    return values


@pytest.mark.parametrize("setting", [None, {"enabled": False}, {"text": "超时：{number}"}])
def test_enqueue_many_writes_what_enqueue_writes(conn, estate, supervisors, make_user,
                                                 setting):
    if setting is not None:
        NotifyTemplate.create(estate=estate, event="deadline_missed", **setting)
    demand = new_demand(make_user("clerk1", "clerk", estate), estate, NOW,
                        contact_name="王先生")
    supervisor, _ = supervisors
    message = dict(event="deadline_missed", estate_id=estate.id, subject=demand,
                   params={"number": "XQ-1", "deadline": "11月26日10:00"})
    for channel, extra in (("inapp", {"user_id": supervisor.id}),
                           ("robot", {"recipient": estate.code})):
        one = enqueue(**message, channel=channel, key=f"one:{channel}", now=NOW, **extra)
        assert enqueue_many([dict(message, channel=channel, key=f"many:{channel}", **extra)],
                            now=NOW) == 1
        many = OutboxMessage.get(OutboxMessage.key == f"many:{channel}")
        assert _row(many) == _row(one)
        # A key already queued is skipped, as enqueue skips it.
        assert enqueue_many([dict(message, channel=channel, key=f"many:{channel}", **extra)],
                            now=NOW) == 0
    assert OutboxMessage.select().count() == 4


def test_the_sweep_tells_of_the_flags_it_raised_and_no_others(app, conn, estate, supervisors,
                                                               make_user, monkeypatch):
    clerk = make_user("clerk1", "clerk", estate)
    received = dt.datetime.now(OFFICE) - dt.timedelta(hours=1)
    first, second = (new_demand(clerk, estate, received, contact_name="王先生")
                     for _ in range(2))
    engineering = Department.get(Department.estate == estate.id,
                                 Department.kind == "engineering")
    first.dispatch(clerk, department_id=engineering.id)
    now = dt.datetime.now(OFFICE) + dt.timedelta(days=5)
    # Deadlines missed days before the sweep are backlog unless the window says otherwise
    # (test_a_backlog_is_told_in_one_summary_per_estate): here they are told one by one.
    monkeypatch.setattr("models.notify.DEFAULT_MISSED_RECENT_HOURS", 24 * 30)
    mark_overdue(now)
    flags = {f.row_id: f.id for f in OverdueFlag.select().where(
        OverdueFlag.rule == "demand_reply")}
    assert set(flags) == {first.id, second.id}
    sent = {(m.key, m.user_id, m.recipient) for m in OutboxMessage.select().where(
        OutboxMessage.event == "deadline_missed")}
    supervisor, head = supervisors
    # The estate's supervisors hear of both; the engineering supervisor of the dispatched one.
    assert sent == {
        *((f"demand:{d}:missed:{f}:inapp:{supervisor.id}", supervisor.id, "")
          for d, f in flags.items()),
        (f"demand:{first.id}:missed:{flags[first.id]}:inapp:{head.id}", head.id, ""),
        *((f"demand:{d}:missed:{f}:robot", None, "TEST") for d, f in flags.items()),
    }
    robot = OutboxMessage.get(OutboxMessage.key == f"demand:{first.id}:missed:"
                                                   f"{flags[first.id]}:robot")
    assert first.number in robot.text and robot.state == "pending"
    # Flags raised before the given id are not the sweep's: nobody is told of them again.
    assert on_flags_raised(now, max(flags.values())) == 0
    assert on_flags_raised(now, min(flags.values())) == 1
    mark_overdue(now)  # the same moment again: nothing new raised, nothing new sent
    assert OutboxMessage.select().where(OutboxMessage.event == "deadline_missed").count() \
        == len(sent)


def test_a_backlog_is_told_in_one_summary_per_estate(app, conn, estate, supervisors, make_user):
    # The first sweep over existing records (or after the scheduler was stopped for days)
    # finds deadlines missed long ago: every one is flagged, and the estate is told once.
    clerk = make_user("clerk1", "clerk", estate)
    now = dt.datetime.now(OFFICE)
    old = [new_demand(clerk, estate, now - dt.timedelta(days=10), contact_name="王先生")
           for _ in range(3)]
    # Urgent: 2 hours to reply (R-DEM-7), so missed an hour before the sweep.
    recent = new_demand(clerk, estate, now - dt.timedelta(hours=3), urgent=True)
    assert mark_overdue(now).flagged >= 4
    assert {f.row_id for f in OverdueFlag.select().where(OverdueFlag.rule == "demand_reply")} \
        == {d.id for d in [*old, recent]}
    missed = OutboxMessage.select().where(OutboxMessage.event == "deadline_missed")
    robots = [m for m in missed if m.channel == "robot"]
    assert len(robots) == 2  # the recent one, and one summary of the three
    summary = next(m for m in robots if "missed-backlog" in m.key)
    assert f"{old[0].number} 等 3 件" in summary.text and "尚未答复" in summary.text
    assert any(recent.number in m.text and "missed-backlog" not in m.key for m in robots)
    supervisor, _ = supervisors
    assert missed.where(OutboxMessage.user == supervisor.id).count() == 2
