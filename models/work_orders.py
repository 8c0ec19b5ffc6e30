"""Work orders (维修单): a department's job, from dispatch to arrival and completion (R-DEM-8).

A demand's dispatch makes one (`Demand.dispatch`); a manager can also open a stand-alone order
(a patrol's finding). Completing the last open order of a demand completes the demand. Its
callback is in models/callbacks.py.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import SQL, BooleanField, Case, CharField, ForeignKeyField, TextField

from models.base import (
    AwareDateTimeField,
    MoneyField,
    RuleError,
    check_moment,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.demands import Demand, DemandStep
from models.i18n import L_, N_
from models.notify import on_work_order
from models.org import Department
from models.register import RegisterModel, StatefulMixin, save_record
from models.review_months import callback_months, demand_months, mark
from models.steps import gather
from models.users import User, UserEstate, may_reassign, require_department_work
from models.validators import clean_money

# The day shift (R-SVC-1: 09:00–17:00); work finished outside it is called back next morning.
DAY_SHIFT_HOURS = (9, 17)

WORK_ORDER_STATES = [
    ("open", L_("待到场")),
    ("arrived", L_("已到场")),
    ("completed", L_("已完工")),
]


class WorkOrder(StatefulMixin, RegisterModel):
    """A work order (维修单) for a department (R-DEM-8)."""

    voided_message = N_("该维修单已作废")

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("编号"))
    demand = ForeignKeyField(Demand, null=True, backref="work_orders", on_delete="RESTRICT",
                             verbose_name=L_("业户需求"))
    department = ForeignKeyField(Department, backref="work_orders", on_delete="RESTRICT",
                                 verbose_name=L_("部门"))
    what = TextField(verbose_name=L_("工作内容"))
    location = CharField(max_length=64, default="", verbose_name=L_("地点"))
    assignee = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("维修人员"))
    dispatched_at = AwareDateTimeField(default=utcnow, verbose_name=L_("派工时间"))
    dispatched_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                    verbose_name=L_("派工人"))
    arrived_at = AwareDateTimeField(null=True, verbose_name=L_("到场时间"))
    completed_at = AwareDateTimeField(null=True, verbose_name=L_("完工时间"))
    result = TextField(default="", verbose_name=L_("完成情况"))
    materials = CharField(max_length=200, default="", verbose_name=L_("用料"))
    cost = MoneyField(null=True, verbose_name=L_("费用(元)"))
    state = CharField(max_length=16, choices=WORK_ORDER_STATES, default="open", index=True,
                      verbose_name=L_("状态"))
    needs_callback = BooleanField(default=False, verbose_name=L_("待回访"),
                                  help_text=L_("下班时间完工的，由次日白班回访"))
    callback_done = BooleanField(default=False, verbose_name=L_("已回访"))

    class Meta:
        table_name = "work_order"
        indexes = (
            (("estate", "department", "state"), False),
            # The front desk's "work orders done this shift" (completed_at >= shift start) and
            # its after-hours callback count read the shift's rows only (#14 item 3, R-DEM-8/9;
            # migration 011).
            (("estate", "voided", "completed_at"), False),
            (("estate", "needs_callback"), False),
        )

    def __str__(self) -> str:
        number = self.number or gettext("新维修单")
        return f"{number} {self.what[:20]}"

    def validate(self):
        if self.arrived_at and self.dispatched_at and self.arrived_at < self.dispatched_at:
            yield "arrived_at", gettext("到场时间不能早于派工时间")
        if self.completed_at and self.dispatched_at and self.completed_at < self.dispatched_at:
            yield "completed_at", gettext("完工时间不能早于派工时间")
        if self.completed_at and self.arrived_at and self.completed_at < self.arrived_at:
            yield "completed_at", gettext("完工时间不能早于到场时间")
        if self.department_id and self.estate_id:
            department = Department.get_or_none(Department.id == self.department_id)
            if department is not None and department.estate_id != self.estate_id:
                yield "department", gettext("所选部门不属于该小区")
            elif department is not None and self.assignee_id and self._assignee_changed():
                problem = assignee_problem(self.assignee_id, self.estate_id, department.kind)
                if problem:
                    yield "assignee", problem

    def _assignee_changed(self) -> bool:
        """A new order or a new assignee (someone who left later does not block completion)."""
        if self.id is None:
            return True
        stored = WorkOrder.select(WorkOrder.assignee, WorkOrder.department).where(
            WorkOrder.id == self.id).first()
        return stored is None or (stored.assignee_id, stored.department_id) != (
            self.assignee_id, self.department_id)

    def before_create(self, user) -> None:
        dispatched = to_office(self.dispatched_at or utcnow())
        self.number = next_number(self.estate_id, "WX", dispatched.year)

    def after_write(self, before: dict) -> None:
        """The monthly review credits a worker with the orders of the month's demands and with
        the callbacks made on them (R-DEM-10, models/review_months.py)."""
        demands = {self.demand_id, before.get("demand") if before else None}
        mark(demand_months(demands) | callback_months(demands))
        super().after_write(before)

    def after_create(self, user) -> None:
        if self.demand_id:
            demand = Demand.get_by_id(self.demand_id)
            DemandStep.record(demand, user, "order", demand.status, demand.status,
                              f"维修单 {self.number}")
        else:
            on_work_order(self)  # the department is told (#17; a demand's order via its step)

    @staticmethod
    def after_hours(moment: dt.datetime) -> bool:
        start, end = DAY_SHIFT_HOURS
        return not start <= to_office(moment).hour < end

    @property
    def department_kind(self) -> str | None:
        if not self.department_id:
            return None
        return Department.select(Department.kind).where(
            Department.id == self.department_id).scalar()

    def require_department(self, user) -> None:
        """R-REC-4: department staff act only on their own department's orders (a cleaning
        user cannot complete an engineering order, even by crafting the POST)."""
        require_department_work(user, self)

    def record_arrival(self, user, *, arrived_at: dt.datetime | None = None,
                       expected_version: int | None = None) -> None:
        """The worker arrived on site."""
        self.require_department(user)
        self.require_state(("open",), gettext("该维修单已登记到场或已完工"))
        self.transition(user, "arrived", expected_version=expected_version,
                        arrived_at=arrived_at or utcnow())

    def complete(self, user, *, result: str, completed_at: dt.datetime | None = None,
                 materials: str = "", cost=None, expected_version: int | None = None) -> None:
        """The department reports completion to the centre (R-DEM-8); the last open order of a
        demand completes the demand. `cost` is yuan as typed ("" for none) or a Decimal."""
        self.require_state(("open", "arrived"), gettext("该维修单已经完工"))
        errors = {}
        if not (result or "").strip():
            errors["result"] = gettext("请填写完成情况")
        cost = gather(errors, _cost, cost)
        completed_at = gather(
            errors, check_moment, completed_at, field_name="completed_at",
            label=gettext("完工时间"), not_before=self.arrived_at or self.dispatched_at,
            before_label=gettext("到场时间") if self.arrived_at else gettext("派工时间"))
        if errors:
            raise RuleError(errors)
        with write_transaction():
            self.transition(user, "completed", expected_version=expected_version,
                            result=result.strip(), completed_at=completed_at,
                            arrived_at=self.arrived_at or completed_at,
                            materials=materials or self.materials, cost=cost,
                            needs_callback=self.after_hours(completed_at))
            if self.demand_id:
                demand = Demand.get_by_id(self.demand_id)
                others_open = WorkOrder.select().where(
                    WorkOrder.demand == demand.id, WorkOrder.id != self.id,
                    WorkOrder.state != "completed", WorkOrder.voided == False).exists()  # noqa: E712
                if not others_open and demand.status in ("open", "dispatched"):
                    demand.complete(user, result=result, completed_at=completed_at)

    def reassign(self, user, *, assignee_id: int | None,
                 expected_version: int | None = None) -> None:
        """Hand the order to another person of its department: the desk's managers or the
        department's own supervisor (R-REC-4, #11 item 5)."""
        if not may_reassign(user, self.department_kind):
            raise RuleError({"": gettext("只有本部门主管或客服主管、管理处主任可以改派")})
        self.require_state(("open", "arrived"), gettext("该维修单已完工，不能改派"))
        if not assignee_id:
            raise RuleError({"assignee_id": gettext("请选择改派给谁")})
        if assignee_id == self.assignee_id:
            raise RuleError({"assignee_id": gettext("该维修单已由此人负责，请选择另一位人员")})
        problem = assignee_problem(assignee_id, self.estate_id, self.department_kind)
        if problem:
            raise RuleError({"assignee_id": problem})
        self.transition(user, expected_version=expected_version, assignee=assignee_id)

    @classmethod
    def awaiting_callback(cls):
        """Orders without a demand finished but not called back (demands queue on their own)."""
        return cls.select().where(cls.voided == False, cls.state == "completed",  # noqa: E712
                                  cls.callback_done == False, cls.demand.is_null())  # noqa: E712



def dispatch_demand(demand: Demand, user, *, department_id: int | None, what: str = "",
                    location: str = "", assignee_id: int | None = None,
                    dispatched_at: dt.datetime | None = None,
                    expected_version: int | None = None) -> WorkOrder:
    """Send a demand to a department with a work order (R-DEM-4, R-DEM-8): the order, the
    demand's move to 处理中 and both history steps in one transaction."""
    demand.require_state(("open", "dispatched"), gettext("当前状态为“{status}”，不能派工"))
    if not department_id:
        raise RuleError({"department": gettext("派工必须选择责任部门")})
    department = Department.get_or_none(Department.id == department_id,
                                        Department.estate == demand.estate_id)
    if department is None:
        raise RuleError({"department": gettext("所选部门不属于该小区")})
    dispatched_at = dispatched_at or utcnow()
    if dispatched_at < demand.received_at:
        raise RuleError({"dispatched_at": gettext("派工时间不能早于受理时间")})
    with write_transaction():
        order = WorkOrder(estate=demand.estate_id, demand=demand.id, department=department.id,
                          what=(what or demand.description)[:500],
                          location=location or (demand.unit.code if demand.unit_id else ""),
                          assignee=assignee_id, dispatched_at=dispatched_at,
                          dispatched_by=user.id if user else None)
        save_record(order, user)
        demand.transition(user, "dispatched", action="dispatch",
                          note=f"派工至{department.name}（{order.number}）",
                          expected_version=expected_version, department=department.id,
                          handler=demand.handler_id or (user.id if user else None))
    return order


def refuse_open_orders(demand: Demand, doing: str) -> None:
    """A demand never finishes with a work order left open (#11 item 1): its result, its
    invalid judgement and its close wait for its orders. The department reports its own
    completion (R-DEM-8, R-REC-4), so the desk does not close an order on their behalf; an order
    no longer wanted is voided with a reason by a manager."""
    numbers = [number for (number,) in WorkOrder.select(WorkOrder.number).where(
        WorkOrder.demand == demand.id, WorkOrder.state != "completed",
        WorkOrder.voided == False).order_by(WorkOrder.id).tuples()]  # noqa: E712
    if numbers:
        raise RuleError({"": gettext("维修单 %(value)s 尚未完工，不能%(doing)s：请部门先完工登记，"
                                     "或由主管作废该维修单（填写原因）",
                                     value='、'.join(numbers), doing=doing)})


def assignee_problem(user_id, estate_id: int, department_kind: str) -> str | None:
    """Why a person cannot be given a department's work (None: they can): an active member of
    that department working for the row's estate (#11 item 5: no other estate's staff)."""
    person = User.get_or_none(User.id == user_id)
    if person is None or not person.active:
        return gettext("所选人员不存在或已停用")
    if not UserEstate.select().where(UserEstate.user == person.id,
                                     UserEstate.estate == estate_id).exists():
        return gettext("所选人员不属于该小区")
    if person.role != "dept" or person.department != department_kind:
        return gettext("所选人员不属于该责任部门，只能选本部门本小区的人员")
    return None


def _cost(value):
    """The cost as money, None when left empty; a typing error goes next to the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return clean_money(value)
    except (ValueError, TypeError) as exc:
        raise RuleError({"cost": str(exc)}) from None


# The overdue sweep's after-hours callback rule (R-DEM-9), from the index alone: it used to skip
# through (estate, voided, completed_at) and read every completed order (migration 023, #15).
WorkOrder.add_index(WorkOrder.index(WorkOrder.needs_callback, WorkOrder.callback_done,
                                    WorkOrder.state, WorkOrder.completed_at, WorkOrder.voided,
                                    WorkOrder.estate, WorkOrder.id,
                                    name="work_order_callback_sweep"))
# The phone page and the open-order filter read an estate's open orders, not all of its orders
# (migration 024, #14).
WorkOrder.add_index(WorkOrder.index(WorkOrder.estate, WorkOrder.voided, WorkOrder.state,
                                    name="work_order_open"))
# The callback queue's "finished after hours" demands come first: found from the after-hours
# orders that have a demand, from the index alone (migration 026, #14 item 1).
WorkOrder.add_index(WorkOrder.index(WorkOrder.needs_callback, WorkOrder.demand, WorkOrder.estate,
                                    name="work_order_after_hours"))

# The grid's default order, open orders before completed ones, written with literals: SQLite
# matches an ORDER BY to an expression index only when the expressions are the same, and a bound
# parameter never is (migration 025, #14).
OPEN_FIRST = Case(None, [(WorkOrder.state == SQL("'completed'"), SQL("1"))], SQL("0"))
# That order for every estate's grid, walked newest first and stopped after the page; a number
# searched by its estates' index; the sort by completed_at (migration 025, #14).
WorkOrder.add_index(WorkOrder.index(WorkOrder.voided, OPEN_FIRST, WorkOrder.dispatched_at.desc(),
                                    name="work_order_list_order"))
WorkOrder.add_index(WorkOrder.index(WorkOrder.estate, WorkOrder.voided, WorkOrder.number,
                                    name="work_order_number_search"))
WorkOrder.add_index(WorkOrder.index(WorkOrder.voided, WorkOrder.completed_at,
                                    name="work_order_completed_order"))
# The callback queue's stand-alone orders (awaiting_callback, needs_callback first) in the
# order they were finished: every equality before completed_at, so the walk stops after the
# page. With statistics SQLite walked work_order_completed_order instead, through every
# completed order older than the queue (1M demands: 0.9 → 8 ms; migration 035, #14).
WorkOrder.add_index(WorkOrder.index(WorkOrder.needs_callback, WorkOrder.callback_done,
                                    WorkOrder.state, WorkOrder.voided, WorkOrder.completed_at,
                                    WorkOrder.id, name="work_order_callback_queue",
                                    where=SQL("demand_id IS NULL")))
# The grid sorted by 派工时间 itself (not open first), stopped after the page (migration 034).
WorkOrder.add_index(WorkOrder.index(WorkOrder.voided, WorkOrder.dispatched_at,
                                    name="work_order_dispatched_order"))
# A demand's work orders (its details page), among the orders that have a demand: stand-alone
# orders leave demand_id NULL, and ANALYZE rated the plain demand_id index at every row, so the
# page scanned the table (migration 029, #14 item 2).
WorkOrder.add_index(WorkOrder.index(WorkOrder.demand, name="work_order_demand",
                                    where=SQL("demand_id IS NOT NULL")))
# A serial searched alone: the stems of an estate's numbers, stepped through in order
# (models.search.number_stems; migration 029, #14).
WorkOrder.add_index(WorkOrder.index(WorkOrder.estate, WorkOrder.number,
                                    name="work_order_estate_number"))
