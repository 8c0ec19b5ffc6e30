"""Owner demands and complaints (业户需求/投诉): the register and its history (R-DEM).

The closed loop of R-DEM-4: recorded at the desk → classified → dispatched → result recorded →
called back → satisfied: closed; not satisfied: reopened. Every step is a `DemandStep` row with
who and when, written in the same transaction as the change (`StatefulMixin.transition` with
`record_transition`). Deadlines come from `models.deadlines` (R-DEM-6, R-DEM-7) and are stored on
the row so lists and the nightly job can query them with plain indexed SQL; the reply deadline
is a promise on record (R-REC-1): its rules are in models/demand_promise.py.

A demand's work orders live in models/work_orders.py, its callbacks in models/callbacks.py and
the monthly review (R-DEM-10) in models/review.py; those modules depend on this one.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import SQL, BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from models import deadlines
from models.base import (
    AwareDateTimeField,
    BaseModel,
    PhoneField,
    RuleError,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.demand_choices import (  # re-exported: the register's choices
    CATEGORIES,
    CHANNELS,
    KINDS,
    STATUS_LABELS,
    STATUSES,
)
from models.demand_promise import REPLY_OWED as REPLY_OWED  # re-exported: the owed states
from models.demand_promise import PromiseMixin, minutes, require_cause
from models.i18n import L_
from models.notify import on_demand_step
from models.org import Department, Resident, Unit
from models.register import RegisterModel, StatefulMixin
from models.review_months import callback_months, mark, month_of
from models.search import bigrams
from models.steps import gather
from models.users import User, require_department_work


def refuse_open_orders(demand, doing: str) -> None:
    """`models.work_orders.refuse_open_orders` (that module imports this one)."""
    from models.work_orders import refuse_open_orders as refuse

    refuse(demand, doing)


class Demand(PromiseMixin, StatefulMixin, RegisterModel):
    """One owner demand or complaint, from intake to close."""

    state_field = "status"

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("编号"))
    received_at = AwareDateTimeField(default=utcnow, verbose_name=L_("受理时间"))
    channel = CharField(max_length=20, choices=CHANNELS, default="phone",
                        verbose_name=L_("来源渠道"))
    kind = CharField(max_length=16, choices=KINDS, default="help", verbose_name=L_("类型"))
    category = CharField(max_length=20, choices=CATEGORIES, verbose_name=L_("类别"))
    unit = ForeignKeyField(Unit, null=True, backref="demands", on_delete="RESTRICT",
                           verbose_name=L_("房屋"))
    resident = ForeignKeyField(Resident, null=True, backref="demands", on_delete="RESTRICT",
                               verbose_name=L_("业户"))
    contact_name = CharField(max_length=32, default="", verbose_name=L_("联系人"))
    contact_phone = PhoneField(default="", verbose_name=L_("联系电话"))
    description = TextField(verbose_name=L_("内容"),
                            help_text=L_("业户反映的问题或需求，尽量写清时间、地点、现象"))
    serious = BooleanField(default=False, verbose_name=L_("严重"))
    urgent = BooleanField(default=False, verbose_name=L_("紧急"),
                          help_text=L_("紧急：2 小时内答复；否则 2 个工作日内答复（R-DEM-7）"))
    requested_reply_at = AwareDateTimeField(null=True, verbose_name=L_("业户要求答复时间"),
                                            help_text=L_("业户指定了时间则以此为准"))
    reply_due = AwareDateTimeField(null=True, index=True, verbose_name=L_("答复期限"),
                                   help_text=L_("现行答复期限：主管修订后为修订后的期限（R-REC-1）"))
    # R-REC-1: the promise as made (at intake, or at a reopen) and what it was computed from;
    # no edit and no revision changes these.
    original_reply_due = AwareDateTimeField(null=True, verbose_name=L_("原承诺答复期限"))
    promised_serious = BooleanField(null=True, verbose_name=L_("承诺时：严重"))
    promised_urgent = BooleanField(null=True, verbose_name=L_("承诺时：紧急"))
    promised_requested_at = AwareDateTimeField(null=True,
                                               verbose_name=L_("承诺时：业户要求答复时间"))
    revision_count = IntegerField(default=0, verbose_name=L_("期限修订次数"))
    received_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("受理人"))
    status = CharField(max_length=16, choices=STATUSES, default="open", index=True,
                       verbose_name=L_("状态"))
    valid = BooleanField(null=True, verbose_name=L_("有效"))
    invalid_reason = CharField(max_length=200, default="", verbose_name=L_("无效原因"))
    invalid_notice_due = AwareDateTimeField(null=True, verbose_name=L_("无效告知期限"))
    handler = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                              verbose_name=L_("处理人"))
    department = ForeignKeyField(Department, null=True, backref="demands", on_delete="RESTRICT",
                                 verbose_name=L_("责任部门"))
    cause = TextField(default="", verbose_name=L_("原因分析"),
                      help_text=L_("处理人分析问题产生的原因（R-DEM-6）"))
    measures = TextField(default="", verbose_name=L_("处理措施"))
    result = TextField(default="", verbose_name=L_("处理结果"))
    answered_at_intake = BooleanField(default=False, verbose_name=L_("当场答复"),
                                      help_text=L_("客服员当场解答的，登记答复内容后直接关闭（R-DEM-5）"))
    replied_at = AwareDateTimeField(null=True, verbose_name=L_("答复时间"))
    reply_content = TextField(default="", verbose_name=L_("答复内容"))
    completed_at = AwareDateTimeField(null=True, verbose_name=L_("完成时间"))
    closed_at = AwareDateTimeField(null=True, verbose_name=L_("关闭时间"))
    reopen_count = IntegerField(default=0, verbose_name=L_("重新处理次数"))
    missed_replies = IntegerField(default=0, verbose_name=L_("超时答复次数"),
                                  help_text=L_("超过答复期限的次数；重新处理后仍保留"))
    late_minutes = IntegerField(default=0, verbose_name=L_("累计超时(分钟)"))
    search_text = TextField(default="", verbose_name=L_("检索词"))

    class Meta:
        table_name = "demand"
        indexes = (
            # The grid's default order, per estate, voided rows apart.
            (("estate", "voided", "received_at"), False),
            # The front desk's and the nightly job's question: what is owed, by when.
            (("status", "reply_due"), False),
            (("estate", "status", "category", "received_at"), False),
            # The front desk's "closed this shift" (closed_at >= shift start) reads only the
            # shift's rows, not the whole register (#14 item 3, R-FRONT-1; migration 011).
            (("estate", "voided", "closed_at"), False),
            # The 曾超时答复 queue and the monthly on-time rate: a miss stays on the record
            # (R-REC-1), and missed_replies > 0 is answered from the index (#14 item 3).
            (("estate", "voided", "missed_replies"), False),
            # The 已超期 queue's second half: an invalid demand whose owner has not been told
            # within 1 working day (R-DEM-6) — status and replied_at narrow it to those owed.
            (("status", "replied_at", "invalid_notice_due"), False),
        )

    def __str__(self) -> str:
        number = self.number or gettext("新需求")
        return f"{number} {self.description[:20]}"

    # -- derived values ----------------------------------------------------------------------

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def refresh_search_text(self) -> None:
        """Keep the bigram index text in step with what staff search (FINDINGS: Chinese search)."""
        unit_code = self.unit.code if self.unit_id else ""
        self.search_text = bigrams(" ".join(filter(None, (
            self.number, self.description, self.contact_name, self.contact_phone, unit_code,
            self.result, self.measures))))

    def after_write(self, before: dict) -> None:
        """The monthly review's counts of the month it was received in, and of the month it was
        before if a correction moved it; a change of department moves its callbacks' credit
        too (R-DEM-10, models/review_months.py)."""
        pairs = {(self.estate_id, month_of(self.received_at))}
        if before:
            pairs.add((before.get("estate"), month_of(before.get("received_at"))))
            if before.get("department") != self.department_id:
                pairs |= callback_months([self.id])
        mark(pairs)
        super().after_write(before)

    # -- rules ---------------------------------------------------------------------------------

    def validate(self):
        now = utcnow()
        received = self.received_at
        if received and received > now + dt.timedelta(minutes=5):
            yield "received_at", gettext("受理时间不能晚于现在")
        if self.requested_reply_at and received and self.requested_reply_at < received:
            yield "requested_reply_at", gettext("要求答复时间不能早于受理时间")
        elif self.requested_reply_at and self.id is None and self.requested_reply_at < now:
            yield "requested_reply_at", gettext("要求答复时间已经过去，请核对后重新填写")
        if self.replied_at and received and self.replied_at < received:
            yield "replied_at", gettext("答复时间不能早于受理时间")
        if self.closed_at and received and self.closed_at < received:
            yield "closed_at", gettext("关闭时间不能早于受理时间")
        if self.answered_at_intake and self.id is None and not (self.reply_content or "").strip():
            yield "reply_content", gettext("当场答复的，请填写答复内容")
        if self.valid is False and not (self.invalid_reason or "").strip():
            yield "invalid_reason", gettext("判定无效时请填写原因")
        if self.unit_id and self.estate_id:
            unit = Unit.get_or_none(Unit.id == self.unit_id)
            if unit is not None and unit.estate_id != self.estate_id:
                yield "unit", gettext("所选房屋不属于该小区")
        if self.resident_id:
            resident = Resident.get_or_none(Resident.id == self.resident_id)
            if resident is not None and self.unit_id and resident.unit_id != self.unit_id:
                yield "resident", gettext("所选业户不住在该房屋")
            elif resident is not None and resident.estate_id != self.estate_id:
                yield "resident", gettext("所选业户不属于该小区")
        if self.department_id:
            department = Department.get_or_none(Department.id == self.department_id)
            if department is not None and department.estate_id != self.estate_id:
                yield "department", gettext("所选部门不属于该小区")

    # -- lifecycle -------------------------------------------------------------------------

    def before_create(self, user) -> None:
        received = to_office(self.received_at or utcnow())
        self.number = next_number(self.estate_id, "XQ", received.year)
        if user is not None and not self.received_by_id:
            self.received_by = user.id
        if self.resident_id and not self.unit_id:
            self.unit = Resident.get_by_id(self.resident_id).unit_id
        if self.resident_id and not self.contact_name:
            resident = Resident.get_by_id(self.resident_id)
            self.contact_name = resident.name
            self.contact_phone = self.contact_phone or resident.phone
        # R-REC-1: the promise is fixed here, with what it was computed from.
        for name, value in self.promise().items():
            setattr(self, name, value)
        if self.answered_at_intake:
            # R-DEM-5: answered at once — at the moment it was received, against the deadline
            # in force then (so never late, but counted the same way as every other close).
            self.replied_at = self.received_at
            for name, value in self.miss_values(self.replied_at, self.reply_due).items():
                setattr(self, name, value)
            self.status, self.valid, self.closed_at = "closed", True, self.replied_at
        self.refresh_search_text()

    def after_create(self, user) -> None:
        note = f"答复期限 {to_office(self.reply_due):%Y-%m-%d %H:%M}（{self.promise_basis}）"
        if self.status == "closed":
            note = "当场答复并关闭；" + note
        DemandStep.record(self, user, "create", None, self.status, note)

    def before_update(self) -> None:
        """An edit of the descriptive fields never moves the deadline (R-REC-1)."""
        self.check_basis_unchanged()
        self.refresh_search_text()

    def record_transition(self, user, action: str, from_state, note: str) -> None:
        """Every change of a demand is a DemandStep: who, when, from and to (R-DEM-4)."""
        DemandStep.record(self, user, action, from_state, self.status, note)

    # A work order and a callback each belong to a demand, so their modules import this one;
    # the demand reaches them when it is dispatched or called back.

    def dispatch(self, user, **order):
        """Send the demand to a department with a work order (R-DEM-4, R-DEM-8); the order's
        fields are `models.work_orders.dispatch_demand`'s."""
        from models.work_orders import dispatch_demand

        return dispatch_demand(self, user, **order)

    def reply(self, user, *, replied_at: dt.datetime | None = None, content: str,
              cause: str = "", measures: str = "", expected_version: int | None = None) -> None:
        """Record the reply to the owner (R-DEM-6: measures within the deadline)."""
        require_department_work(user, self)  # R-REC-4: one's own department's work only
        self.require_state(("open", "dispatched", "completed", "invalid"),
                           gettext("当前状态为“{status}”，不能登记答复"))
        errors = {} if (content or "").strip() else {"content": gettext("请填写答复内容")}
        cause = gather(errors, require_cause, cause, self.cause)
        replied_at = replied_at or utcnow()
        if replied_at < self.received_at:
            errors["replied_at"] = gettext("答复时间不能早于受理时间")
        elif replied_at > utcnow() + dt.timedelta(minutes=5):
            errors["replied_at"] = gettext("答复时间不能晚于现在")
        if errors:
            raise RuleError(errors)
        with write_transaction():
            if self.status == "invalid":
                # R-DEM-6: the owner has been told why; the demand is finished. The reply
                # deadline's miss, if any, was recorded when it was judged invalid; the notice
                # deadline is the one in force now (R-REC-1).
                refuse_open_orders(self, gettext("关闭"))
                misses = self.miss_values(replied_at, self.invalid_notice_due)
                note = "已告知业户无效原因" + (
                    f"（超时 {minutes(replied_at - self.invalid_notice_due)} 分钟）"
                    if misses else "")
                self.transition(user, "closed", action="reply", note=note,
                                expected_version=expected_version, replied_at=replied_at,
                                reply_content=content, closed_at=replied_at, cause=cause,
                                **misses)
                return
            misses = self.miss_values(replied_at, self.reply_due)
            note = (f"超时 {minutes(replied_at - self.reply_due)} 分钟答复" if misses
                    else "按时答复")
            self.transition(user, None, action="reply", note=note,
                            expected_version=expected_version, replied_at=replied_at,
                            reply_content=content.strip(), measures=measures or self.measures,
                            cause=cause, **misses)

    def mark_invalid(self, user, *, reason: str, cause: str = "",
                     expected_version: int | None = None) -> None:
        """The handler judges it invalid; the owner is told why within 1 working day (R-DEM-6).

        A reply deadline that passed before the judgement is a miss that happened: it is
        recorded now and stays (R-REC-1) — judging invalid never wipes a breach.
        """
        require_department_work(user, self)  # R-REC-4: one's own department's work only
        self.require_state(("open", "dispatched"), gettext("当前状态为“{status}”，不能判定无效"))
        errors = {} if (reason or "").strip() else {"reason": gettext("判定无效时请填写原因")}
        cause = gather(errors, require_cause, cause, self.cause)
        if errors:
            raise RuleError(errors)
        refuse_open_orders(self, gettext("判定无效"))
        now = utcnow()
        misses = {} if self.replied_at else self.miss_values(now, self.reply_due)
        note = reason.strip()
        if misses:
            note += f"（判定时答复已超时 {minutes(now - self.reply_due)} 分钟，记入超时）"
        self.transition(user, "invalid", action="invalid", note=note,
                        expected_version=expected_version, valid=False,
                        invalid_reason=reason.strip(), cause=cause,
                        invalid_notice_due=deadlines.invalid_notice_due(to_office(now),
                                                                           self.estate_id),
                        **misses)

    def complete(self, user, *, result: str, completed_at: dt.datetime | None = None,
                 cause: str | None = None, expected_version: int | None = None) -> None:
        """The result is recorded; the demand waits for its callback (R-DEM-4). Its work orders
        must be completed first (the last one's completion completes the demand).

        A handler recording the result on the demand (`cause` given, as the form does) answers
        the owner with it and so records the cause too (R-DEM-6). The department's completion
        of the last work order (`cause` None) reports its result; the cause stays the desk's.
        """
        require_department_work(user, self)  # R-REC-4: one's own department's work only
        self.require_state(("open", "dispatched"), gettext("当前状态为“{status}”，不能登记完成"))
        errors = {} if (result or "").strip() else {"result": gettext("请填写处理结果")}
        completed_at = completed_at or utcnow()
        if completed_at < self.received_at:
            errors["completed_at"] = gettext("完成时间不能早于受理时间")
        values = {"result": (result or "").strip(), "completed_at": completed_at, "valid": True}
        if cause is not None and (self.replied_at is None or cause.strip()):
            values["cause"] = gather(errors, require_cause, cause, self.cause)
        if errors:
            raise RuleError(errors)
        refuse_open_orders(self, gettext("登记处理结果"))
        with write_transaction():
            if self.replied_at is None:
                # Telling the owner the result answers them, on time or not.
                values.update(replied_at=completed_at, reply_content=result.strip(),
                              **self.miss_values(completed_at, self.reply_due))
            self.transition(user, "completed", action="complete", note=result.strip()[:100],
                            expected_version=expected_version, **values)

    def record_callback(self, user, **answers):
        """Call the owner back (R-DEM-9); not satisfied reopens the demand with a new deadline.
        The answers are `models.callbacks.call_back_demand`'s."""
        from models.callbacks import call_back_demand

        return call_back_demand(self, user, **answers)

    # -- queries the views and the nightly job share -------------------------------------------

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided == False)  # noqa: E712

    @classmethod
    def awaiting_dispatch(cls):
        return cls.live().where(cls.status == "open")

    @classmethod
    def awaiting_callback(cls):
        return cls.live().where(cls.status == "completed")

    @classmethod
    def answered_late(cls):
        return cls.live().where(cls.missed_replies > 0)


class DemandStep(BaseModel):
    """Append-only history of a demand: every status change with who and when (R-DEM-4)."""

    ACTIONS = {
        "create": L_("登记"), "dispatch": L_("派工"), "reply": L_("答复"),
        "invalid": L_("判定无效"), "complete": L_("完成"), "callback": L_("回访"),
        "reopen": L_("重新处理"), "order": L_("维修单"), "revise": L_("修订期限"),
    }

    demand = ForeignKeyField(Demand, backref="steps", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    username = CharField(max_length=32, default="")
    action = CharField(max_length=16)
    from_status = CharField(max_length=16, null=True)
    to_status = CharField(max_length=16)
    note = CharField(max_length=255, default="")

    class Meta:
        table_name = "demand_step"

    @classmethod
    def record(cls, demand, user, action, from_status, to_status, note=""):
        step = cls.create(demand=demand.id, user=user.id if user else None,
                          username=user.display_name if user else cls.actor_without_user(
                              demand, action), action=action,
                          from_status=from_status, to_status=to_status, note=(note or "")[:255])
        on_demand_step(demand, step)  # the owner's SMS and the staff's notices (#17)
        return step

    @staticmethod
    def actor_without_user(demand, action: str) -> str:
        """Who a step is shown as when no staff user took it: the owner who reported it on the
        H5 (channel 业主自助, R-DEM-1), else the system (the sweep, a timer)."""
        if action == "create" and demand.channel == "owner_self":
            # 26 + 6 characters: within username's 32.
            return f"业主 {demand.contact_name or ''}".strip()[:26] + "（业主自助）"
        return "系统"

    @property
    def action_label(self) -> str:
        return self.ACTIONS.get(self.action, self.action)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.to_status, self.to_status)


# The overdue sweep's questions, answered from the index alone (no row read): "owed a reply past
# its deadline" (R-DEM-7) and "completed, callback late" (R-DEM-9), with the estate the flag
# needs. Named, as peewee's generated names for so many columns are truncated hashes
# (migration 023; #15: at 1,000,000 demands the reply rule read 70,000 rows per sweep).
Demand.add_index(Demand.index(Demand.status, Demand.replied_at, Demand.reply_due,
                              Demand.voided, Demand.estate, Demand.id,
                              name="demand_reply_sweep"))
Demand.add_index(Demand.index(Demand.status, Demand.completed_at, Demand.voided, Demand.estate,
                              Demand.id, name="demand_callback_sweep"))
# A user of several estates: the grid's newest-first page read in this order, stopping after
# the page; the monthly review's month counted from the index alone (migration 024, #14).
Demand.add_index(Demand.index(Demand.voided, Demand.received_at, name="demand_list_order"))
Demand.add_index(Demand.index(Demand.estate, Demand.voided, Demand.received_at, Demand.replied_at,
                              Demand.missed_replies, Demand.revision_count,
                              Demand.original_reply_due, name="demand_month_review"))
# The front desk's queue links (待派工, 待回访, 已超期) open the grid newest first: each index holds
# only its queue, in that order, so the page stops after its rows whatever share of the register
# the queue is (migration 026, #14: the 已超期 link collected and sorted 40,000 demands at 1M).
Demand.add_index(Demand.index(Demand.voided, Demand.received_at, name="demand_queue_dispatch",
                              where=SQL("status = 'open'")))
Demand.add_index(Demand.index(Demand.voided, Demand.received_at, name="demand_queue_callback",
                              where=SQL("status = 'completed'")))
Demand.add_index(Demand.index(Demand.voided, Demand.received_at, name="demand_queue_owed",
                              where=SQL("(replied_at IS NULL) = TRUE")))
Demand.add_index(Demand.index(Demand.voided, Demand.received_at, name="demand_queue_late",
                              where=SQL("missed_replies > 0")))
# The callback queue (回访队列), longest waiting first (migration 026, #14 item 1).
Demand.add_index(Demand.index(Demand.voided, Demand.completed_at, name="demand_callback_queue",
                              where=SQL("status = 'completed'")))
