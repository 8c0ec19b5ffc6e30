"""The demand loop in the admin: intake, dispatch, reply, completion, callback, print (R-DEM).

Views only collect input and show results; every rule and state change lives in models/demands.py.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_admin import expose
from flask_admin.contrib.peewee.filters import BasePeeweeFilter
from flask_login import current_user
from markupsafe import Markup
from peewee import JOIN, Case
from wtforms import Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.base import RuleError, to_office, utcnow
from models.demands import (
    CALLBACK_CHANNELS,
    SCORES,
    Demand,
    DemandSearchIndex,
    WorkOrder,
    callback_work_order,
)
from models.org import Department, Unit
from models.search import apply_search
from models.users import DESK, EVERYONE, MANAGERS, User
from models.validators import clean_money
from views.base import LocalDateTimeField, SecureModelView, SecurePage, choices, format_datetime

QUEUES = (
    ("overdue", "已超期"),
    ("due_soon", "即将到期"),
    ("awaiting_dispatch", "待派工"),
    ("awaiting_callback", "待回访"),
    ("answered_late", "曾超时答复"),
)


def queue_query(name: str, now=None):
    """The demands of one front-desk queue (shared by the grid filter and the counts)."""
    now = now or utcnow()
    return {
        "overdue": lambda: Demand.overdue(now),
        "due_soon": lambda: Demand.due_soon(now),
        "awaiting_dispatch": Demand.awaiting_dispatch,
        "awaiting_callback": Demand.awaiting_callback,
        "answered_late": Demand.answered_late,
    }[name]()


class QueueFilter(BasePeeweeFilter):
    """工作队列: the front desk's questions (overdue, due soon, …) as a grid filter."""

    def __init__(self):
        super().__init__(Demand.id, "工作队列", options=QUEUES)

    def apply(self, query, value):
        if value not in dict(QUEUES):
            return query
        return query.where(Demand.id.in_(queue_query(value).select(Demand.id)))

    def operation(self):
        return "为"


def _due_cell(view, context, model, name):
    """Reply deadline, red when overdue, with how late an answered-late reply was."""
    if not model.reply_due:
        return ""
    text = format_datetime(model.reply_due)
    late = model.late_by()
    if late and model.replied_at is None and model.status in ("open", "dispatched"):
        return Markup('<span class="badge badge-danger">超期</span> {}').format(text)
    if model.missed_replies:
        return Markup('{} <span class="badge badge-warning">曾超时 {} 分钟</span>').format(
            text, model.late_minutes)
    return text


def _description_cell(view, context, model, name):
    text = model.description or ""
    return text if len(text) <= 30 else text[:30] + "…"


class ReplyForm(Form):
    replied_at = LocalDateTimeField("答复时间", validators=[Optional()],
                                    description="留空表示现在；格式 2026-11-26 14:30")
    content = TextAreaField("答复内容", validators=[InputRequired("请填写答复内容"),
                                                  Length(max=2000)])
    measures = TextAreaField("处理措施", validators=[Optional(), Length(max=2000)])


class DispatchForm(Form):
    department = SelectField("责任部门", coerce=int,
                             validators=[InputRequired("派工必须选择责任部门")])
    assignee = SelectField("维修人员", coerce=int, validators=[Optional()])
    what = TextAreaField("工作内容", validators=[Optional(), Length(max=500)],
                         description="留空则使用需求内容")
    location = StringField("地点", validators=[Optional(), Length(max=64)])


class InvalidForm(Form):
    reason = TextAreaField("无效原因", validators=[InputRequired("判定无效时请填写原因"),
                                                Length(max=200)],
                           description="1 个工作日内礼貌告知业户原因（R-DEM-6）")


class CompleteForm(Form):
    completed_at = LocalDateTimeField("完成时间", validators=[Optional()],
                                      description="留空表示现在")
    result = TextAreaField("处理结果", validators=[InputRequired("请填写处理结果"),
                                                Length(max=2000)])


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


class OrderCompleteForm(Form):
    completed_at = LocalDateTimeField("完工时间", validators=[Optional()],
                                      description="留空表示现在")
    result = TextAreaField("完成情况", validators=[InputRequired("请填写完成情况"),
                                                Length(max=2000)])
    materials = StringField("用料", validators=[Optional(), Length(max=200)])
    cost = StringField("费用(元)", validators=[Optional()])


class ActionMixin:
    """Render a small action form for one row and apply it through a model method."""

    def _action(self, title: str, form: Form, apply, *, row, template="admin/action_form.html"):
        if request.method == "POST" and form.validate():
            try:
                apply(form)
            except RuleError as error:
                self.attach_errors(form, error)
            else:
                flash(f"{title}：已保存", "success")
                return redirect(self.get_url(".details_view", id=row.id))
        return self.render(template, form=form, title=title, row=row,
                           cancel_url=self.get_url(".details_view", id=row.id))

    def _row_or_404(self):
        row = self.get_one(request.args.get("id"))
        if row is None:
            abort(404)
        return row

    @staticmethod
    def _version(row) -> int:
        try:
            return int(request.form.get("row_version", row.version))
        except ValueError:
            return row.version


class DemandAdmin(ActionMixin, SecureModelView):
    """业户需求/投诉登记: the register of every owner need, in one closed loop (R-DEM-4)."""

    permissions = {**SecureModelView.permissions, "callback": DESK, "print": EVERYONE,
                   "handle": DESK | {"dept"}}
    endpoint_actions = {
        "dispatch_view": "edit", "reply_view": "handle", "invalid_view": "edit",
        "complete_view": "handle", "callback_view": "callback", "print_view": "print",
    }
    details_template = "admin/demand_details.html"
    simple_list_pager = True  # no COUNT(*) over a million rows on every page view
    column_list = ("number", "received_at", "category", "kind", "unit", "contact_name",
                   "description", "status", "reply_due", "department")
    column_filters = ("status", "category", "kind", "channel", "urgent", "serious",
                      "department", "received_at")
    column_searchable_list = ("description",)
    column_sortable_list = ("number", "received_at", "status", "reply_due")
    column_default_sort = ("received_at", True)
    column_formatters = {"reply_due": _due_cell, "description": _description_cell}
    column_details_list = (
        "number", "estate", "received_at", "channel", "kind", "category", "unit", "resident",
        "contact_name", "contact_phone", "description", "serious", "urgent",
        "requested_reply_at", "reply_due", "received_by", "status", "valid", "invalid_reason",
        "invalid_notice_due", "handler", "department", "measures", "result", "replied_at",
        "reply_content", "completed_at", "closed_at", "reopen_count", "missed_replies",
        "late_minutes", "voided", "void_reason")
    form_create_columns = (
        "estate", "received_at", "channel", "kind", "category", "unit", "resident",
        "contact_name", "contact_phone", "description", "serious", "urgent",
        "requested_reply_at", "answered_at_intake", "reply_content")
    form_edit_columns = (
        "channel", "kind", "category", "unit", "resident", "contact_name", "contact_phone",
        "description", "serious", "urgent", "requested_reply_at", "measures")
    form_ajax_refs = {
        "unit": {"fields": ("code",), "page_size": 20,
                 "placeholder": "输入房屋编号搜索，如 3-1-502"},
        "resident": {"fields": ("name", "phone"), "page_size": 20,
                     "placeholder": "输入业户姓名或电话搜索"},
    }
    form_widget_args = {"description": {"rows": 4}, "reply_content": {"rows": 3}}

    def get_filters(self):
        return [QueueFilter(), *super().get_filters()]

    # Search through the bigram index rather than LIKE '%…%' (FINDINGS: Chinese search).
    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        g.demand_search = (search or "").strip()
        g.search_ordered = False
        return super().get_list(page, sort_column, sort_desc, None, filters,
                                execute=execute, page_size=page_size)

    def get_query(self):
        # The unit and department each row shows come in the same query, not one query per row.
        query = (super().get_query()
                 .select_extend(Unit.id, Unit.code, Department.id, Department.name)
                 .join_from(Demand, Unit, JOIN.LEFT_OUTER)
                 .join_from(Demand, Department, JOIN.LEFT_OUTER))
        term = g.get("demand_search")
        if term:
            query, g.search_ordered = apply_search(query, Demand, DemandSearchIndex, term,
                                                   scan_field=Demand.description)
        return query

    def _get_default_order(self):
        # A search with no column chosen keeps the index's own order (newest registered first).
        if g.get("search_ordered"):
            return None
        return super()._get_default_order()

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET" and "received_at" in form and not form.received_at.data:
            form.received_at.data = utcnow()
        return form

    # -- actions --------------------------------------------------------------------------

    @expose("/dispatch/", methods=("GET", "POST"))
    def dispatch_view(self):
        """派工: send the demand to a department with a work order (R-DEM-8)."""
        row = self._row_or_404()
        form = DispatchForm(request.form)
        departments = Department.select().where(Department.estate == row.estate_id,
                                                Department.voided == False)  # noqa: E712
        form.department.choices = choices([(0, "—— 请选择 ——")]
                                          + [(d.id, d.name) for d in departments])
        staff = User.select().where(User.role == "dept", User.active == True)  # noqa: E712
        form.assignee.choices = choices([(0, "（不指定）")] + [
            (u.id, f"{u.display_name}（{u.department_label}）") for u in staff])
        if request.method == "GET":
            form.location.data = row.unit.code if row.unit_id else ""

        def apply(f):
            row.dispatch(current_user._get_current_object(), department_id=f.department.data,
                         what=f.what.data, location=f.location.data,
                         assignee_id=f.assignee.data or None,
                         expected_version=self._version(row))

        return self._action("派工", form, apply, row=row)

    @expose("/reply/", methods=("GET", "POST"))
    def reply_view(self):
        """答复: record the reply to the owner (R-DEM-6/7)."""
        row = self._row_or_404()
        form = ReplyForm(request.form)

        def apply(f):
            row.reply(current_user._get_current_object(), replied_at=f.replied_at.data,
                      content=f.content.data, measures=f.measures.data,
                      expected_version=self._version(row))

        return self._action("答复业户", form, apply, row=row)

    @expose("/invalid/", methods=("GET", "POST"))
    def invalid_view(self):
        """判定无效: the owner must be told why within 1 working day (R-DEM-6)."""
        row = self._row_or_404()
        form = InvalidForm(request.form)

        def apply(f):
            row.mark_invalid(current_user._get_current_object(), reason=f.reason.data,
                             expected_version=self._version(row))

        return self._action("判定无效", form, apply, row=row)

    @expose("/complete/", methods=("GET", "POST"))
    def complete_view(self):
        """登记完成: the result is recorded; the demand waits for its callback."""
        row = self._row_or_404()
        form = CompleteForm(request.form)

        def apply(f):
            row.complete(current_user._get_current_object(), result=f.result.data,
                         completed_at=f.completed_at.data, expected_version=self._version(row))

        return self._action("登记处理结果", form, apply, row=row)

    @expose("/callback/", methods=("GET", "POST"))
    def callback_view(self):
        """回访: scores and satisfaction; not satisfied reopens the demand (R-DEM-9)."""
        row = self._row_or_404()
        form = CallbackForm(request.form)

        def apply(f):
            row.record_callback(current_user._get_current_object(), channel=f.channel.data,
                                on_time=f.on_time.data, attitude=f.attitude.data,
                                skill=f.skill.data, etiquette=f.etiquette.data,
                                satisfied=f.satisfied.data == "1", comments=f.comments.data,
                                expected_version=self._version(row))

        return self._action("回访", form, apply, row=row)

    @expose("/print/")
    def print_view(self):
        """Print the demand record (A4) with its history."""
        row = self._row_or_404()
        return self.render("admin/demand_print.html", row=row, now=to_office(utcnow()))


class WorkOrderAdmin(ActionMixin, SecureModelView):
    """维修单: department staff see their own department's open orders first (R-DEM-8)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS,
                   "handle": DESK | {"dept"}, "callback": DESK, "print": EVERYONE}
    endpoint_actions = {"arrive_view": "handle", "complete_view": "handle",
                        "callback_view": "callback", "print_view": "print"}
    details_template = "admin/work_order_details.html"
    column_list = ("number", "dispatched_at", "department", "what", "location", "assignee",
                   "state", "arrived_at", "completed_at", "needs_callback", "demand")
    column_filters = ("state", "department", "needs_callback", "callback_done", "dispatched_at")
    column_searchable_list = ("number", "what", "location")
    column_sortable_list = ("number", "dispatched_at", "state", "completed_at")
    column_formatters = {"what": lambda v, c, m, n: (m.what or "")[:30]}
    form_columns = ("estate", "department", "what", "location", "assignee", "dispatched_at")

    def get_query(self):
        query = super().get_query()
        if request.args.get("sort") is None:
            # Open orders first; for department staff, their own department's first of all.
            order = [Case(None, [(WorkOrder.state == "completed", 1)], 0)]
            if current_user.role == "dept" and current_user.department:
                mine = Department.select(Department.id).where(
                    Department.kind == current_user.department)
                order.insert(0, Case(None, [(WorkOrder.department.in_(mine), 0)], 1))
            query = query.order_by(*order, WorkOrder.dispatched_at.desc())
        return query

    @expose("/arrive/", methods=("POST",))
    def arrive_view(self):
        """到场: the worker arrived (time is now)."""
        row = self._row_or_404()
        try:
            row.record_arrival(current_user._get_current_object(),
                               expected_version=self._version(row))
        except RuleError as error:
            flash("；".join(error.errors.values()), "error")
        else:
            flash(f"{row.number} 已登记到场", "success")
        return redirect(self.get_url(".details_view", id=row.id))

    @expose("/complete/", methods=("GET", "POST"))
    def complete_view(self):
        """完工: the department reports completion to the centre (R-DEM-8)."""
        row = self._row_or_404()
        form = OrderCompleteForm(request.form)

        def apply(f):
            try:
                cost = clean_money(f.cost.data) if f.cost.data else None
            except (ValueError, TypeError) as exc:
                raise RuleError({"cost": str(exc)}) from None
            row.complete(current_user._get_current_object(), result=f.result.data,
                         completed_at=f.completed_at.data, materials=f.materials.data,
                         cost=cost, expected_version=self._version(row))

        return self._action("完工登记", form, apply, row=row)

    @expose("/callback/", methods=("GET", "POST"))
    def callback_view(self):
        """回访 a stand-alone work order (orders of a demand are called back on the demand)."""
        row = self._row_or_404()
        if row.demand_id:
            return redirect(self.get_url("demand.callback_view", id=row.demand_id))
        form = CallbackForm(request.form)

        def apply(f):
            callback_work_order(row, current_user._get_current_object(), channel=f.channel.data,
                                on_time=f.on_time.data, attitude=f.attitude.data,
                                skill=f.skill.data, etiquette=f.etiquette.data,
                                satisfied=f.satisfied.data == "1", comments=f.comments.data)

        return self._action("回访", form, apply, row=row)

    @expose("/print/")
    def print_view(self):
        """Print the work-order slip (A5)."""
        row = self._row_or_404()
        return self.render("admin/work_order_print.html", row=row, now=to_office(utcnow()))


class CallbackAdmin(SecureModelView):
    """回访记录: every callback with its scores (R-DEM-9); made from a demand or work order."""

    permissions = {**SecureModelView.permissions, "create": frozenset(), "edit": frozenset()}
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


class CalendarOverrideAdmin(SecureModelView):
    """节假日调整: the office's own working days and days off, which win over the package."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("day", "is_workday", "note")
    column_default_sort = ("day", False)
    column_filters = ("day",)


def shift_start(now=None):
    """The start of the current shift (R-SVC-1: 09–17, 17–24, 00–08; 08–09 counts as night)."""
    local = to_office(now or utcnow())
    if 9 <= local.hour < 17:
        hour = 9
    elif local.hour >= 17:
        hour = 17
    else:
        hour = 0
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)

