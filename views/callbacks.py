"""Callbacks in the admin (R-DEM-9): the callback form a demand and a work order share, the
queue of what waits for its callback, and the read-only record of every callback.

The rules live in models/callbacks.py; the callback buttons are row actions of the demand
(views/demands.py) and of the stand-alone work order (views/work_orders.py).
"""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_login import current_user
from peewee import JOIN
from wtforms import Form, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.callbacks import CALLBACK_CHANNELS, SCORES, Callback
from models.demands import Demand
from models.i18n import L_
from models.org import Department, Unit
from models.users import DESK
from models.work_orders import WorkOrder
from views.base import SecureModelView, SecurePage
from views.fields import NOBODY
from views.forms import choices
from views.grid import capped_count
from views.scoping import scope_to_department


def _score_field(label):
    return RadioField(label, choices=choices(SCORES), coerce=int,
                      validators=[InputRequired(L_("请为“%(label)s”评分", label=label))])


class CallbackForm(Form):
    channel = SelectField(L_("回访方式"), choices=choices(CALLBACK_CHANNELS), default="phone")
    on_time = _score_field(L_("准时到场"))
    attitude = _score_field(L_("服务态度"))
    skill = _score_field(L_("维修技能"))
    etiquette = _score_field(L_("礼节礼貌"))
    satisfied = RadioField(L_("总体满意"),
                           choices=choices([("1", L_("满意")), ("0", L_("不满意"))]),
                           validators=[InputRequired(L_("请选择业户是否满意"))])
    comments = StringField(L_("业户意见"), validators=[Optional(), Length(max=200)],
                           description=L_("不满意时请记录原因，需求将重新处理"))


def callback_values(form) -> dict:
    """A callback form's answers as the model takes them: satisfied as a yes/no, None while
    not chosen (a refused form's rules then leave what depends on it alone, #12 item 3)."""
    return {**form.data, "satisfied": {"1": True, "0": False}.get(form.satisfied.data)}


class CallbackAdmin(SecureModelView):
    """回访记录: every callback with its scores (R-DEM-9); made from a demand or work order."""

    permissions = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY}
    column_list = ("called_at", "demand", "work_order", "channel", "on_time", "attitude",
                   "skill", "etiquette", "satisfied", "comments", "called_by")
    column_filters = ("satisfied", "channel", "called_at")
    column_default_sort = ("called_at", True)
    # Sorted only by what an index reads in order (callback_list_order, _satisfied_order): a
    # sort by a score or the channel sorted every callback of the user's estates (880,000 at
    # 1M demands: 32 → 180 ms from 100k, #14; tests/test_grid_sorts.py).
    column_sortable_list = ("called_at", "satisfied")

    def scoped_query(self):
        # Department staff: the callbacks on their own department's work (R-REC-4, #11).
        query = super().scoped_query()
        if current_user.role != "dept":
            return query
        demands = scope_to_department(Demand.select(Demand.id), Demand)
        orders = scope_to_department(WorkOrder.select(WorkOrder.id), WorkOrder)
        return query.where(Callback.demand.in_(demands) | Callback.work_order.in_(orders))


def _page_arg(name: str) -> int:
    """A page number from the query string, 1 when missing or absurd (no huge OFFSET)."""
    page = request.args.get(name, 1, type=int) or 1
    return page if 1 <= page <= 100_000 else 1


class CallbackQueueView(SecurePage):
    """回访队列: completed demands and stand-alone work orders not yet called back (R-DEM-9);
    work finished after hours first, for the next day shift."""

    roles = DESK

    page_size = 50

    @expose("/")
    def index(self):
        """One page of each queue, ordered in SQL, its unit and department joined (#14 item 1):
        the statements a page runs and the rows they read do not depend on how many wait.

        Work finished after hours comes first (the day shift calls it back, R-DEM-9, R-SVC-1),
        then the rest, each longest waiting first. One ORDER BY over both halves (CASE WHEN id
        IN …, or needs_callback DESC) sorted every completed demand or order (40,000 demands at
        1M); each half read in its own index's order stops after the page."""
        estate_ids = current_user.estate_ids()
        demand_page, order_page = _page_arg("dpage"), _page_arg("opage")
        # Demands whose work order waits for the day shift: needs_callback is cleared by the
        # callback, so this is the after-hours backlog (work_order_after_hours, migration 026).
        after_hours = WorkOrder.select(WorkOrder.demand).where(
            WorkOrder.needs_callback == True, WorkOrder.demand.is_null(False),  # noqa: E712
            WorkOrder.estate.in_(estate_ids))
        waiting = (Demand.awaiting_callback().select_extend(Unit.code)
                   .join_from(Demand, Unit, JOIN.LEFT_OUTER)
                   .where(Demand.estate.in_(estate_ids))
                   .order_by(Demand.completed_at, Demand.id))  # demand_callback_queue
        demands, late, more_demands = self._page_of_two(
            waiting.where(Demand.id.in_(after_hours)),
            waiting.where(Demand.id.not_in(after_hours)), demand_page)
        for number, demand in enumerate(demands):
            demand.late_shift = number < late
        orders = (WorkOrder.awaiting_callback().select_extend(Department.name)
                  .join_from(WorkOrder, Department, JOIN.LEFT_OUTER)
                  .where(WorkOrder.estate.in_(estate_ids))
                  .order_by(WorkOrder.completed_at, WorkOrder.id))  # work_order_callback_sweep
        orders, _late, more_orders = self._page_of_two(
            orders.where(WorkOrder.needs_callback == True),  # noqa: E712
            orders.where(WorkOrder.needs_callback == False), order_page)  # noqa: E712
        return self.render(
            "admin/callback_queue.html", demands=demands, orders=orders,
            demand_page=demand_page, order_page=order_page, more_demands=more_demands,
            more_orders=more_orders)

    def _page_of_two(self, first, then, page: int) -> tuple[list, int, bool]:
        """Page `page` of `first`'s rows followed by `then`'s: the rows, how many of them
        came from `first`, and whether more follow. At most three statements, each stopping
        after the page (the count of `first` only when the page starts past its end)."""
        skip, wanted = (page - 1) * self.page_size, self.page_size + 1
        rows = list(first.limit(wanted).offset(skip))
        from_first = len(rows)
        if from_first < wanted:
            before = skip + from_first if rows else (
                int(capped_count(first, skip)) if skip else 0)
            rows.extend(then.limit(wanted - from_first).offset(max(skip - before, 0)))
        return rows[:self.page_size], min(from_first, self.page_size), len(rows) > self.page_size


def register(admin, category: str) -> None:
    admin.add_view(CallbackQueueView(name="回访队列", category=category,
                                     endpoint="callback_queue"))
    admin.add_view(CallbackAdmin(Callback, name="回访记录", category=category,
                                 endpoint="callback"))
