"""Callbacks in the admin (R-DEM-9): the callback form a demand and a work order share, the
queue of what waits for its callback, and the read-only record of every callback.

The rules live in models/callbacks.py; the callback buttons are row actions of the demand
(views/demands.py) and of the stand-alone work order (views/work_orders.py).
"""

from __future__ import annotations

from flask_admin import expose
from flask_login import current_user
from wtforms import Form, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.callbacks import CALLBACK_CHANNELS, SCORES, Callback
from models.demands import Demand
from models.users import DESK
from models.work_orders import WorkOrder
from views.base import SecureModelView, SecurePage
from views.fields import NOBODY
from views.forms import choices


def _score_field(label):
    return RadioField(label, choices=choices(SCORES), coerce=int,
                      validators=[InputRequired(f"请为“{label}”评分")])


class CallbackForm(Form):
    channel = SelectField("回访方式", choices=choices(CALLBACK_CHANNELS), default="phone")
    on_time = _score_field("准时到场")
    attitude = _score_field("服务态度")
    skill = _score_field("维修技能")
    etiquette = _score_field("礼节礼貌")
    satisfied = RadioField("总体满意", choices=choices([("1", "满意"), ("0", "不满意")]),
                           validators=[InputRequired("请选择业户是否满意")])
    comments = StringField("业户意见", validators=[Optional(), Length(max=200)],
                           description="不满意时请记录原因，需求将重新处理")


def callback_values(form) -> dict:
    """The callback form's answers as the model takes them (satisfied as a yes/no)."""
    return {**form.data, "satisfied": form.satisfied.data == "1"}


class CallbackAdmin(SecureModelView):
    """回访记录: every callback with its scores (R-DEM-9); made from a demand or work order."""

    permissions = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY}
    column_list = ("called_at", "demand", "work_order", "channel", "on_time", "attitude",
                   "skill", "etiquette", "satisfied", "comments", "called_by")
    column_filters = ("satisfied", "channel", "called_at")
    column_default_sort = ("called_at", True)


class CallbackQueueView(SecurePage):
    """回访队列: completed demands and stand-alone work orders not yet called back (R-DEM-9);
    work finished after hours first, for the next day shift."""

    roles = DESK

    @expose("/")
    def index(self):
        estate_ids = [e.id for e in current_user.estates()]
        demands = (Demand.awaiting_callback().where(Demand.estate.in_(estate_ids))
                   .order_by(Demand.completed_at))
        after_hours = {o.demand_id for o in WorkOrder.select(WorkOrder.demand).where(
            WorkOrder.needs_callback == True, WorkOrder.demand.is_null(False),  # noqa: E712
            WorkOrder.estate.in_(estate_ids))}
        rows = sorted(demands, key=lambda d: (d.id not in after_hours, d.completed_at))
        orders = (WorkOrder.awaiting_callback().where(WorkOrder.estate.in_(estate_ids))
                  .order_by(WorkOrder.needs_callback.desc(), WorkOrder.completed_at))
        return self.render("admin/callback_queue.html", demands=rows, orders=list(orders),
                           after_hours=after_hours)


def register(admin, category: str) -> None:
    admin.add_view(CallbackQueueView(name="回访队列", category=category,
                                     endpoint="callback_queue"))
    admin.add_view(CallbackAdmin(Callback, name="回访记录", category=category,
                                 endpoint="callback"))
