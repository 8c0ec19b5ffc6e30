"""The overdue sweep: one table of rules, one set-based pass per rule, one transaction.

A rule is (stable id, Chinese label, register model, `query(now)` → the model's rows overdue at
`now`). The demand rules state `Demand.overdue` and `Demand.awaiting_callback` condition for
condition (a test holds them equal), split by kind, with one change of form: "not voided" is
written `voided != TRUE`. As `voided = FALSE` it is an indexed equality that SQLite's planner
prefers over the status indexes (with or without ANALYZE), and every sweep then reads every
live row: on 1,000,000 demands the three demand rules of an unchanged re-run took 1.8 s that
way and 0.9 s through the (status, reply_due) index.

The front-desk registers (keys, passes, decoration, deposits — issue #4) bring their own
queries and take one line each; a register that lands later does the same, e.g.::

    OverdueRule("key_loan", "钥匙逾期未还", KeyMovement, KeyMovement.overdue_loans),

The rules of issue #15 (work-order SLAs, goods release, uncollected deposits, emergencies,
printing, move-ins, batch notices, duty directors, hand-overs, monthly survey and committee
contact, tenancies) live by register area in jobs/rules/; this table stays the only list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from peewee import Model, fn

from jobs.flags import sync_rule
from jobs.models import OverdueFlag
from jobs.rules import not_voided
from jobs.rules import setting as _setting
from jobs.rules.demands import demand_flag_cleared_by
from jobs.rules.front_desk import deposit_uncollected, goods_release_unconfirmed
from jobs.rules.office import (
    batch_notice_late,
    emergency_aftermath_missing,
    emergency_open_too_long,
    move_in_stuck,
    print_job_unapproved,
    rectification_overdue,
    tenancy_past_end,
)
from jobs.rules.patrols import decoration_patrol_missing
from jobs.rules.service import (
    committee_missing,
    duty_director_missing,
    duty_director_words,
    handover_unacknowledged,
    month_words,
    survey_missing,
)
from jobs.rules.work_orders import work_order_arrival_overdue, work_order_completion_overdue
from jobs.runner import Outcome
from models.base import db, is_sqlite, to_office, utcnow, write_transaction
from models.batches import ServiceBatch
from models.decoration import Decoration
from models.demands import REPLY_OWED, Demand
from models.deposits import Deposit
from models.emergencies import Emergency
from models.estate import Estate
from models.i18n import L_, office_text
from models.keys import KeyMovement
from models.movein import MoveIn
from models.notify import on_flags_raised
from models.notify_owner import owner_reminders
from models.notify_staff import on_sweep
from models.passes import TemporaryPass, WorkerPass
from models.permits import GoodsRelease, HotWorkPermit
from models.printing import PrintJob
from models.rectification import Rectification
from models.roster import ShiftLog
from models.tenancy import Tenancy
from models.work_orders import DAY_SHIFT_HOURS, WorkOrder

# R-DEM-9 asks for a callback after completion; past this many hours it is flagged.
DEFAULT_CALLBACK_HOURS = 48
# R-DEP-2: a refundable deposit not paid back after this many days is flagged.
DEFAULT_REFUND_DAYS = 30


@dataclass(frozen=True)
class OverdueRule:
    """One kind of "overdue": which register, and which of its rows are overdue at a moment."""

    id: str
    label: str
    model: type[Model]
    query: Callable[[dt.datetime], object]
    # Shown in the digest next to the counts (the register's document number).
    number_field: str = "number"
    # Rules that flag the estate itself (a day or a month with nothing to point at): what is
    # missing, in words, for the front desk and the digest — (estate id, now) -> ["12月03日"].
    words: Callable[[int, dt.datetime], list[str]] | None = None
    # R-REC-5: () -> {"cleared_how": expr, "cleared_by": expr} correlated on the flag's row,
    # saying what cleared it and who (jobs/flags.py); None: the sweep records no cause.
    cleared_by: Callable[[], dict] | None = None

    @property
    def estate_column(self):
        """The flagged row's estate: its `estate` field, or its own id for the estate itself."""
        return self.model.id if self.model is Estate else self.model.estate


def demand_reply_overdue(now: dt.datetime):
    """Owed a reply past the deadline (R-DEM-7): Demand.overdue's reply half."""
    return Demand.select().where(not_voided(Demand), Demand.status.in_(REPLY_OWED),
                                 Demand.replied_at.is_null(), Demand.reply_due < now)


def demand_invalid_notice_overdue(now: dt.datetime):
    """Judged invalid, owner not told why within 1 working day (R-DEM-6): the other half."""
    return Demand.select().where(not_voided(Demand), Demand.status == "invalid",
                                 Demand.replied_at.is_null(), Demand.invalid_notice_due < now)


def demand_callback_overdue(now: dt.datetime):
    """Completed and still waiting for its callback after JOBS_CALLBACK_HOURS (R-DEM-9)."""
    hours = float(_setting("JOBS_CALLBACK_HOURS", DEFAULT_CALLBACK_HOURS))
    return Demand.select().where(not_voided(Demand), Demand.status == "completed",
                                 Demand.completed_at < now - dt.timedelta(hours=hours))


def callback_cutoff(now: dt.datetime) -> dt.datetime:
    """Orders finished after hours before this moment should have been called back by now.

    Work finished after the day shift (R-SVC-1: 09:00–17:00) is called back by the next day
    shift. An order's deadline, the end of that shift, grows with its completion time, so the
    orders past deadline are exactly those completed before 09:00 of the day whose shift last
    ended — one bound, plain indexed SQL, no per-row arithmetic.
    """
    start, end = DAY_SHIFT_HOURS
    local = to_office(now)
    shift_end = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if shift_end >= local:
        shift_end -= dt.timedelta(days=1)
    return shift_end.replace(hour=start)


def work_order_callback_overdue(now: dt.datetime):
    """Finished after hours and not called back by the end of the next day shift."""
    return WorkOrder.select().where(
        not_voided(WorkOrder),
        WorkOrder.state == "completed",
        WorkOrder.needs_callback == True,  # noqa: E712
        WorkOrder.callback_done == False,  # noqa: E712
        WorkOrder.completed_at < callback_cutoff(now))


def deposit_refund_overdue(now: dt.datetime):
    """Refundable for more than JOBS_DEPOSIT_REFUND_DAYS days and still not paid back."""
    days = int(_setting("JOBS_DEPOSIT_REFUND_DAYS", DEFAULT_REFUND_DAYS))
    return Deposit.refundable_not_refunded(now, days)


# Rule ids are stable: flags, digests and the grids' filter refer to them.
RULES: tuple[OverdueRule, ...] = (
    OverdueRule("demand_reply", L_("需求答复超时"), Demand, demand_reply_overdue,
                cleared_by=demand_flag_cleared_by),
    OverdueRule("demand_invalid_notice", L_("无效告知超时"), Demand, demand_invalid_notice_overdue,
                cleared_by=demand_flag_cleared_by),
    OverdueRule("demand_callback", L_("需求回访超时"), Demand, demand_callback_overdue,
                cleared_by=demand_flag_cleared_by),
    OverdueRule("work_order_callback", L_("夜间完工次日未回访"), WorkOrder,
                work_order_callback_overdue),
    OverdueRule("key_loan", L_("钥匙逾期未还"), KeyMovement, KeyMovement.overdue_loans),
    OverdueRule("worker_pass", L_("出入证过期未交回"), WorkerPass, WorkerPass.expired_not_returned),
    OverdueRule("temporary_pass", L_("临时出入证过期未交回"), TemporaryPass,
                TemporaryPass.expired_not_returned),
    OverdueRule("hot_work", L_("动火证到期未关闭"), HotWorkPermit,
                HotWorkPermit.expired_not_closed),
    OverdueRule("decoration_approval", L_("装修审批超时"), Decoration, Decoration.approval_overdue),
    OverdueRule("decoration_tests", L_("闭水/打压试验超时"), Decoration, Decoration.tests_overdue),
    OverdueRule("decoration_acceptance", L_("装修验收/整改超时"), Decoration,
                Decoration.acceptance_pending),
    OverdueRule("deposit_refund", L_("押金可退未退"), Deposit, deposit_refund_overdue,
                number_field="receipt_number"),
    # Issue #15: the rest of the registers (jobs/rules/).
    OverdueRule("work_order_arrival", L_("维修单未按时到场"), WorkOrder,
                work_order_arrival_overdue),
    OverdueRule("work_order_completion", L_("维修单未按时完工"), WorkOrder,
                work_order_completion_overdue),
    OverdueRule("goods_release_confirm", L_("放行条待业主确认超时"), GoodsRelease,
                goods_release_unconfirmed),
    OverdueRule("deposit_uncollected", L_("押金/费用待收款超时"), Deposit, deposit_uncollected,
                number_field="receipt_number"),
    OverdueRule("emergency_open", L_("紧急事件超时未稳定"), Emergency, emergency_open_too_long),
    OverdueRule("emergency_aftermath", L_("紧急事件原因/责任人/措施未填"), Emergency,
                emergency_aftermath_missing),
    OverdueRule("print_approval", L_("打印申请待审批超时"), PrintJob, print_job_unapproved),
    OverdueRule("move_in_stuck", L_("入伙手续停滞"), MoveIn, move_in_stuck),
    OverdueRule("batch_notice", L_("统一施工未按时通知业户"), ServiceBatch, batch_notice_late),
    OverdueRule("duty_director_missing", L_("未排值班主任"), Estate, duty_director_missing,
                number_field="code", words=duty_director_words),
    OverdueRule("handover_unacknowledged", L_("交接班未确认"), ShiftLog, handover_unacknowledged),
    OverdueRule("survey_missing", L_("未做满意度访问"), Estate, survey_missing,
                number_field="code", words=month_words),
    OverdueRule("committee_missing", L_("未与业委会沟通"), Estate, committee_missing,
                number_field="code", words=month_words),
    OverdueRule("tenancy_past_end", L_("租约到期未退租"), Tenancy, tenancy_past_end,
                number_field="contract_number"),
    OverdueRule("rectification_overdue", L_("整改超期未完成"), Rectification,
                rectification_overdue),
    # Issue #16: works not patrolled within JOBS_DECORATION_PATROL_DAYS (7) days.
    OverdueRule("decoration_patrol", L_("装修超期未巡查"), Decoration, decoration_patrol_missing),
)
RULE_LABELS = {rule.id: rule.label for rule in RULES}


def mark_overdue(now: dt.datetime | None = None) -> Outcome:
    """Flag what is overdue in every register and clear flags whose cause is fixed."""
    now = now or utcnow()
    notes, flagged, cleared = [], 0, 0
    # One transaction: a failure anywhere leaves the flags exactly as they were.
    with write_transaction():
        if not is_sqlite():
            # Two sweeps at once (a manual run beside the scheduled one) would both insert the
            # same new flags; readers are not blocked by this lock, writers of flags queue.
            db.execute_sql("LOCK TABLE overdue_flag IN SHARE ROW EXCLUSIVE MODE")
            # The rules' statements look expensive to the planner (correlated CASEs) and
            # cross jit_above_cost: compiling them took 1.9 s of a 2.9 s statement at
            # 1,000,000 demands, to run a plan that finds nothing (#15's bench).
            db.execute_sql("SET LOCAL jit = off")
        # The flags this sweep raises are those above this id (it holds the flags' write lock).
        before = OverdueFlag.select(fn.MAX(OverdueFlag.id)).scalar() or 0
        for rule in RULES:
            raised, gone = sync_rule(rule, now)
            flagged, cleared = flagged + raised, cleared + gone
            if raised or gone:
                notes.append(f"{office_text(rule.label)} +{raised}/-{gone}")
        on_flags_raised(now, before)  # missed reply deadlines: the supervisors are told (#17)
        on_sweep(now)  # deadlines about to be missed, emergencies for the GM (#17)
        reminded = owner_reminders(now)  # passes ending tomorrow, deposits refundable (#17)
    if reminded:
        notes.append(f"业户提醒 {reminded}")
    return Outcome(flagged=flagged, cleared=cleared, note="；".join(notes) or "无变化")
