"""Callbacks (回访): the owner is called back after completion and scores the work (R-DEM-9).

A demand is called back on the demand (`Demand.record_callback`: not satisfied reopens it); a
stand-alone work order on the order (`callback_work_order`).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField, SmallIntegerField

from models.base import AwareDateTimeField, RuleError, to_office, utcnow, write_transaction
from models.demands import Demand, refuse_open_orders
from models.i18n import L_
from models.register import RegisterModel, change_record, save_record
from models.review_months import demand_months, mark, month_of
from models.users import User
from models.work_orders import WorkOrder

CALLBACK_CHANNELS = [("phone", L_("电话")), ("visit", L_("上门"))]
# The owner's own rating on the H5 (issue #17): recorded like a callback, not offered to the desk.
OWNER_RATING = ("owner", L_("业主自评"))
SCORES = [(5, L_("5 很好")), (4, L_("4 好")), (3, L_("3 一般")), (2, L_("2 差")), (1, L_("1 很差"))]


class Callback(RegisterModel):
    """A callback (回访) after completion, with the manual's four scores (R-DEM-9)."""

    demand = ForeignKeyField(Demand, null=True, backref="callbacks", on_delete="RESTRICT",
                             verbose_name=L_("业户需求"))
    work_order = ForeignKeyField(WorkOrder, null=True, backref="callbacks", on_delete="RESTRICT",
                                 verbose_name=L_("维修单"))
    called_at = AwareDateTimeField(default=utcnow, verbose_name=L_("回访时间"))
    called_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                verbose_name=L_("回访人"))
    channel = CharField(max_length=16, choices=[*CALLBACK_CHANNELS, OWNER_RATING], default="phone",
                        verbose_name=L_("回访方式"))
    on_time = SmallIntegerField(choices=SCORES, verbose_name=L_("准时到场"))
    attitude = SmallIntegerField(choices=SCORES, verbose_name=L_("服务态度"))
    skill = SmallIntegerField(choices=SCORES, verbose_name=L_("维修技能"))
    etiquette = SmallIntegerField(choices=SCORES, verbose_name=L_("礼节礼貌"))
    satisfied = BooleanField(verbose_name=L_("总体满意"))
    comments = CharField(max_length=200, default="", verbose_name=L_("业户意见"))

    class Meta:
        table_name = "callback"
        indexes = (
            # The monthly review (R-DEM-10) counts a month's callbacks per estate: the month's
            # rows only, not every callback ever made (#14 item 3; migration 011).
            (("estate", "voided", "called_at"), False),
        )

    def __str__(self) -> str:
        return gettext("回访 满意") if self.satisfied else gettext("回访 不满意")

    def after_write(self, before: dict) -> None:
        """The monthly review counts a callback in the month it was made and marks its demand
        called back in the month the demand was received (R-DEM-10, models/review_months.py)."""
        pairs = {(self.estate_id, month_of(self.called_at))}
        demands = {self.demand_id}
        if before:
            pairs.add((before.get("estate"), month_of(before.get("called_at"))))
            demands.add(before.get("demand"))
        mark(pairs | demand_months(demands))
        super().after_write(before)

    @property
    def channel_label(self) -> str:
        return dict([*CALLBACK_CHANNELS, OWNER_RATING]).get(self.channel, self.channel)

    def validate(self):
        for name in ("on_time", "attitude", "skill", "etiquette"):
            value = getattr(self, name)
            if value is not None and not 1 <= int(value) <= 5:
                yield name, gettext("评分应为 1 到 5 分")
        if self.channel not in dict([*CALLBACK_CHANNELS, OWNER_RATING]):
            yield "channel", gettext("请选择回访方式")
        if not self.demand_id and not self.work_order_id:
            yield "", gettext("回访必须对应一条需求或维修单")
        if self.satisfied is False and not (self.comments or "").strip():
            # R-DEM-6/R-DEM-9: a callback that is not satisfied says why, in the owner's words.
            yield "comments", gettext("业户不满意时，请记录业户不满意的原因")


def callback_work_order(order: WorkOrder, user, **scores) -> Callback:
    """Call back a stand-alone work order (no demand) after completion (R-DEM-9)."""
    if order.state != "completed" or order.callback_done:
        raise RuleError({"": gettext("只有已完工且未回访的维修单可以回访")})
    with write_transaction():
        callback = Callback(estate=order.estate_id, work_order=order.id,
                            called_by=user.id if user else None, **scores)
        save_record(callback, user)
        change_record(order, user, callback_done=True, needs_callback=False)
    return callback


def call_back_demand(demand: Demand, user, *, channel: str, on_time: int, attitude: int,
                     skill: int, etiquette: int, satisfied: bool, comments: str = "",
                     called_at: dt.datetime | None = None,
                     expected_version: int | None = None) -> Callback:
    """Call the owner back on a completed demand (R-DEM-9): satisfied closes it; not satisfied
    reopens it with a new reply deadline from the call — a new promise on record (R-REC-1),
    with its basis — and counts the reopen. Closing waits for the demand's work orders.
    `called_at` (default now) records a call made earlier, never before the completion."""
    demand.require_state(("completed",), gettext("只有“待回访”的需求可以回访（当前：{status}）"))
    called_at = called_at or utcnow()
    if demand.completed_at and called_at < demand.completed_at:
        raise RuleError({"called_at": gettext("回访时间不能早于完成时间")})
    if called_at > utcnow() + dt.timedelta(minutes=5):
        raise RuleError({"called_at": gettext("回访时间不能晚于现在")})
    if satisfied:
        refuse_open_orders(demand, gettext("关闭"))
    with write_transaction():
        callback = Callback(estate=demand.estate_id, demand=demand.id, channel=channel,
                            on_time=on_time, attitude=attitude, skill=skill,
                            etiquette=etiquette, satisfied=satisfied, comments=comments,
                            called_at=called_at, called_by=user.id if user else None)
        save_record(callback, user)
        WorkOrder.update(callback_done=True, needs_callback=False).where(
            WorkOrder.demand == demand.id).execute()
        if satisfied:
            demand.transition(user, "closed", action="callback", note="回访满意，关闭",
                              expected_version=expected_version, closed_at=called_at)
        else:
            reopened = demand.reopen_count + 1
            promise = demand.promise(called_at)
            due = f"{to_office(promise['reply_due']):%Y-%m-%d %H:%M}"
            demand.transition(user, "open", action="reopen",
                              note=f"回访不满意，第 {reopened} 次重新处理，答复期限 {due}："
                                   f"{comments}"[:200],
                              expected_version=expected_version, reopen_count=reopened,
                              replied_at=None, completed_at=None, closed_at=None, **promise)
    return callback


# The grid's newest-first page for a user of several estates, and the monthly review's callbacks
# counted from the index alone (migration 024, #14).
Callback.add_index(Callback.index(Callback.voided, Callback.called_at, name="callback_list_order"))
Callback.add_index(Callback.index(Callback.estate, Callback.voided, Callback.called_at,
                                  Callback.demand, Callback.satisfied,
                                  name="callback_month_review"))
# The grid's filter 满意=否 and its sort by 满意, newest first, stopped after the page; with the
# estate it covers the grid's capped count too (migration 025, #14).
Callback.add_index(Callback.index(Callback.voided, Callback.satisfied, Callback.called_at,
                                  Callback.estate, name="callback_satisfied_order"))
