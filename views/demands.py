"""The demand register in the admin: intake, the front desk's queues, and the demand's row
actions (派工, 答复业户, 登记处理结果, 判定无效, 修订答复期限, 回访) and its printed record (R-DEM).

The reply deadline is a promise on record (R-REC-1): the edit form does not offer what it is
computed from; a supervisor changes it with 修订答复期限 and a reason.

Views only collect input and show results; every rule and state change lives in
models/demands.py (and models/work_orders.py, models/callbacks.py for what a demand makes).
"""

from __future__ import annotations

from flask import flash, g, request
from flask_babel import gettext
from markupsafe import Markup
from peewee import JOIN
from wtforms import BooleanField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from jobs.flags import flag_history
from jobs.overdue import RULE_LABELS
from models.attachments import photos
from models.base import utcnow
from models.demand_promise import CAUSE_MAX, REASON_MAX
from models.demands import Demand, DemandStep
from models.i18n import L_
from models.org import Department, Resident, Unit
from models.search import DemandSearchIndex, apply_search
from models.users import DESK, EVERYONE, MANAGERS
from views.actions import RegisterView, RowAction
from views.base import SecureModelView
from views.callbacks import CallbackForm, callback_values
from views.fields import DESK_AND_DEPT, UNIT_LOOKUP, department_staff_choices
from views.form_bounds import parse_bounded_int
from views.forms import LocalDateTimeField, choices, format_datetime
from views.rectification_source import TO_RECTIFICATION
from views.scoping import may_act_on, scope_to_user

# The front desk's questions (R-FRONT-1): the 工作队列 grid filter and the home page's counts.
# 已超期, 待派工 and 待回访 are counted newest first, as the grid shows them: that order is what
# makes SQLite read the queue's own index (migration 026) and stop at the cap; unordered, with
# statistics, it walked every demand of the estates (72 ms at 1M, #14 item 3).
QUEUE_QUERIES = {
    "overdue": (L_("已超期"), lambda now: Demand.overdue(now).order_by(
        Demand.received_at.desc())),
    "due_soon": (L_("即将到期"), Demand.due_soon),
    "awaiting_dispatch": (L_("待派工"), lambda now: Demand.awaiting_dispatch().order_by(
        Demand.received_at.desc())),
    "awaiting_callback": (L_("待回访"), lambda now: Demand.awaiting_callback().order_by(
        Demand.received_at.desc())),
    "answered_late": (L_("曾超时答复"), lambda now: Demand.answered_late()),
}
QUEUES = tuple((name, label) for name, (label, _query) in QUEUE_QUERIES.items())


def queue_query(name: str, now=None):
    """The demands of one front-desk queue (shared by the grid filter and the home counts)."""
    return QUEUE_QUERIES[name][1](now or utcnow())


def _due_cell(view, context, model, name):
    """Reply deadline, red when overdue, with how late an answered-late reply was."""
    if not model.reply_due:
        return ""
    text = format_datetime(model.reply_due)
    late = model.late_by()
    if late and model.replied_at is None and model.status in ("open", "dispatched"):
        return Markup(gettext('<span class="badge badge-danger">超期</span> {}')).format(text)
    if model.missed_replies:
        text = Markup(gettext('{} <span class="badge badge-warning">曾超时 {} 分钟</span>')).format(
            text, model.late_minutes)
    if model.revised:
        # R-REC-1: a revised deadline always shows the original promise beside it.
        text = Markup(gettext('{} <span class="badge badge-info">已修订，原 {}</span>')).format(
            text, format_datetime(model.original_reply_due))
    return text


def _description_cell(view, context, model, name):
    text = model.description or ""
    return text if len(text) <= 30 else text[:30] + "…"


def _cause_field(description: str):
    # Required by the model unless already recorded (then shown filled in: see _fill_cause).
    return TextAreaField(L_("原因分析"), validators=[Optional(), Length(max=CAUSE_MAX)],
                         description=description)


class ReplyForm(Form):
    replied_at = LocalDateTimeField(L_("答复时间"), validators=[Optional()],
                                    description=L_("留空表示现在；格式 2026-11-26 14:30"))
    content = TextAreaField(L_("答复内容"), validators=[InputRequired(L_("请填写答复内容")),
                                                  Length(max=2000)])
    cause = _cause_field(L_("分析问题产生的原因（R-DEM-6，必填）"))
    measures = TextAreaField(L_("处理措施"), validators=[Optional(), Length(max=2000)])


class DispatchForm(Form):
    department = SelectField(L_("责任部门"), coerce=int,
                             validators=[InputRequired(L_("派工必须选择责任部门"))])
    assignee = SelectField(L_("维修人员"), coerce=int, validators=[Optional()])
    what = TextAreaField(L_("工作内容"), validators=[Optional(), Length(max=500)],
                         description=L_("留空则使用需求内容"))
    location = StringField(L_("地点"), validators=[Optional(), Length(max=64)])


class InvalidForm(Form):
    reason = TextAreaField(L_("无效原因"), validators=[InputRequired(L_("判定无效时请填写原因")),
                                                Length(max=200)],
                           description=L_("1 个工作日内礼貌告知业户原因（R-DEM-6）"))
    cause = _cause_field(L_("分析问题产生的原因（R-DEM-6，必填）"))


class CompleteForm(Form):
    completed_at = LocalDateTimeField(L_("完成时间"), validators=[Optional()],
                                      description=L_("留空表示现在"))
    result = TextAreaField(L_("处理结果"), validators=[InputRequired(L_("请填写处理结果")),
                                                Length(max=2000)])
    cause = _cause_field(L_("分析问题产生的原因（R-DEM-6；尚未答复业户时必填）"))


class ReviseForm(Form):
    """What the deadline is computed from, as a supervisor revises it (R-REC-1)."""

    serious = BooleanField(L_("严重"))
    urgent = BooleanField(L_("紧急"),
                          description=L_("紧急：2 小时内答复；否则 2 个工作日内答复（R-DEM-7）"))
    requested_reply_at = LocalDateTimeField(
        L_("业户要求答复时间"), validators=[Optional()],
        description=L_("业户指定了时间则以此为准；格式 2026-11-26 14:30"))
    reason = TextAreaField(L_("修订原因"),
                           validators=[InputRequired(L_("修订答复期限必须说明原因")),
                                               Length(max=REASON_MAX)],
                           description=L_("原承诺期限和已发生的超时保留在记录中（R-REC-1）"))


def _fill_cause(view, row, form):
    """The cause already recorded is shown (and kept unless changed)."""
    if request.method == "GET" and row.cause:
        form.cause.data = row.cause


def _fill_basis(view, row, form):
    """The revision form starts from the demand's current classification."""
    if request.method == "GET":
        form.serious.data, form.urgent.data = bool(row.serious), bool(row.urgent)
        form.requested_reply_at.data = row.requested_reply_at


def _offer_departments(view, row, form):
    """The estate's departments and its maintenance staff; the unit as the default place."""
    departments = Department.select().where(Department.estate == row.estate_id,
                                            Department.voided == False)  # noqa: E712
    form.department.choices = choices([(0, L_("—— 请选择 ——"))]
                                      + [(d.id, d.name) for d in departments])
    form.assignee.choices = department_staff_choices(row.estate_id)  # this estate's (#11)
    if request.method == "GET":
        form.location.data = row.unit.code if row.unit_id else ""


def _dispatch_values(form) -> dict:
    return {"department_id": form.department.data, "assignee_id": form.assignee.data or None,
            "what": form.what.data, "location": form.location.data}


def _reply_label(row) -> str:
    # R-DEM-6: for an invalid demand the "reply" is telling the owner why.
    return gettext("已告知无效原因") if row.status == "invalid" else gettext("答复业户")


class DemandAdmin(RegisterView):
    """业户需求/投诉登记: the register of every owner need, in one closed loop (R-DEM-4)."""

    queues = QUEUE_QUERIES
    queues_as_condition = True  # each queue has its partial index (migration 026, #14)
    department_scoped = True  # department staff: their own department's demands (R-REC-4)
    permissions = {**SecureModelView.permissions, "callback": DESK, "print": EVERYONE,
                   "handle": DESK_AND_DEPT, "revise": MANAGERS}
    attachment_kinds = (photos("owner", L_("业主照片")),)  # #16: the owner's photos
    details_template = "admin/demand_details.html"
    create_template = "admin/demand_create.html"  # the caller lookup above the form (#12 item 8)
    # column_details_list below names every field shown, the void reason among them.
    column_details_exclude_list = ("version",)
    state_field = "status"
    print_template = "admin/demand_print.html"
    row_actions = (
        RowAction("dispatch", L_("派工"), "dispatch", form=DispatchForm,
                  when=("open", "dispatched"), prepare=_offer_departments,
                  values=_dispatch_values),
        RowAction("reply", _reply_label, "reply", form=ReplyForm, title=L_("答复业户"),
                  when=lambda row: (row.status in ("open", "dispatched", "completed", "invalid")
                                    and row.replied_at is None),
                  permission="handle", allowed=may_act_on, css="btn-info", prepare=_fill_cause),
        RowAction("complete", L_("登记处理结果"), "complete", form=CompleteForm,
                  when=("open", "dispatched"), permission="handle", allowed=may_act_on,
                  css="btn-success", prepare=_fill_cause),
        RowAction("invalid", L_("判定无效"), "mark_invalid", form=InvalidForm,
                  when=("open", "dispatched"), css="btn-outline-secondary",
                  prepare=_fill_cause),
        # R-REC-1: the deadline's basis changes only here, by a supervisor, with a reason.
        RowAction("revise", L_("修订答复期限"), "revise_deadline", form=ReviseForm,
                  when=lambda row: row.status in ("open", "dispatched") and row.replied_at is None,
                  permission="revise", css="btn-outline-danger", prepare=_fill_basis),
        RowAction("callback", L_("回访"), "record_callback", form=CallbackForm, when=("completed",),
                  permission="callback", css="btn-warning", values=callback_values),
        # 转整改: what the owner reported becomes a rectification item (R-FRONT-2, #11).
        TO_RECTIFICATION,
    )
    list_counted = False  # no count at all over a million rows on every page view (#14)
    column_list = ("number", "received_at", "category", "kind", "unit", "contact_name",
                   "description", "status", "reply_due", "department")
    column_filters = ("status", "category", "kind", "channel", "urgent", "serious",
                      "department", "received_at")
    column_searchable_list = ("description",)
    column_sortable_list = ("number", "received_at", "status", "reply_due")
    column_default_sort = ("received_at", True)
    column_formatters = {"reply_due": _due_cell, "description": _description_cell}
    # What _due_cell reads besides the shown columns; not the search text, reply and
    # cause texts (#14 throughput).
    column_list_reads = ("replied_at", "missed_replies", "late_minutes", "original_reply_due",
                         "estate")
    column_details_list = (
        "number", "estate", "received_at", "channel", "kind", "category", "unit", "resident",
        "contact_name", "contact_phone", "description", "serious", "urgent",
        "requested_reply_at", "original_reply_due", "reply_due", "revision_count",
        "received_by", "status", "valid", "invalid_reason", "invalid_notice_due", "handler",
        "department", "cause", "measures", "result", "replied_at", "reply_content",
        "completed_at", "closed_at", "reopen_count", "missed_replies", "late_minutes", "voided",
        "void_reason")
    form_create_columns = (
        "estate", "received_at", "channel", "kind", "category", "unit", "resident",
        "contact_name", "contact_phone", "description", "serious", "urgent",
        "requested_reply_at", "answered_at_intake", "reply_content")
    # Not seriousness, urgency or the requested time: they fix the deadline (R-REC-1, 修订答复期限).
    form_edit_columns = (
        "channel", "kind", "category", "unit", "resident", "contact_name", "contact_phone",
        "description", "measures")
    form_ajax_refs = {
        "unit": UNIT_LOOKUP,
        "resident": {"fields": ("name", "phone"), "page_size": 20,
                     "placeholder": L_("输入业户姓名或电话搜索")},
    }
    form_widget_args = {"description": {"rows": 4}, "reply_content": {"rows": 3}}

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

    def flag_history(self, row) -> list[dict]:
        """The row's 超时 flags, raised and cleared, with how and by whom (R-REC-5)."""
        how_labels = {**DemandStep.ACTIONS, "void": L_("作废"), "": L_("定时检查：已不再超时")}
        return [{"rule": RULE_LABELS.get(flag.rule, flag.rule), "raised_at": flag.raised_at,
                 "cleared_at": flag.cleared_at,
                 "how": how_labels.get(flag.cleared_how, flag.cleared_how)
                 if flag.cleared_at else "",
                 "by": getattr(flag, "cleared_by_name", None) or ""}
                for flag in flag_history(Demand, row.id)]

    @staticmethod
    def _desk_channels(form, obj) -> None:
        """业主自助 is the channel of the owners' own H5 only (R-DEM-1: the channel is recorded):
        the desk does not offer it, and a demand that came in through the H5 keeps it."""
        if "channel" not in form:
            return
        from_h5 = obj is not None and obj.channel == "owner_self"
        form.channel.choices = [c for c in form.channel.choices
                                if (getattr(c, "value", None) == "owner_self") == from_h5]

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        self._desk_channels(form, obj)
        return form

    def create_form(self, obj=None):
        form = super().create_form(obj)
        self._desk_channels(form, None)
        if request.method == "GET" and "received_at" in form and not form.received_at.data:
            form.received_at.data = utcnow()
        if request.method == "GET":
            caller = self.chosen_caller()
            if caller is not None:
                # Phone intake (#12 item 8): the caller found fills in who and where.
                form.estate.data = caller.estate
                form.unit.data = caller.unit
                form.resident.data = caller
                form.contact_name.data = caller.name
                form.contact_phone.data = caller.phone
        return form

    # -- phone intake (#12 item 8) ------------------------------------------------------------

    def caller_matches(self) -> list[Resident]:
        """The residents of the user's estates the typed phone number or flat names, exact
        matches first (the lookup above the new-demand form)."""
        term = request.args.get("caller", "")[:32]
        if request.method != "GET" or not term.strip():
            return []
        return Resident.find_callers(scope_to_user(Resident.select(), Resident), term)

    def chosen_caller(self) -> Resident | None:
        """The caller picked from the matches (?resident=), or the one resident whose phone or
        flat is exactly what was typed (3-1-502 is not a choice between it and 13-1-502)."""
        pk = parse_bounded_int(request.args.get("resident"))
        if pk is not None:
            return (scope_to_user(Resident.select(), Resident)
                    .where(Resident.id == pk).first())
        term = request.args.get("caller", "").strip()
        matches = self.caller_matches()
        exact = [r for r in matches if term in (r.phone, r.unit.code)]
        if len(exact) == 1:
            return exact[0]
        return matches[0] if len(matches) == 1 else None

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        if is_created:
            # The caller is told the number and when they will hear back (#12 item 8).
            due = format_datetime(model.reply_due) if model.reply_due else gettext("已当场答复")
            flash(gettext("已登记 %(number)s，答复期限：%(due)s", number=model.number, due=due),
                  "success")

    def get_save_return_url(self, model, is_created=False):
        # A new demand lands on its own page: number, deadline and 派工 at hand (#12 item 8).
        if is_created:
            return self.get_url(".details_view", id=model.id)
        return super().get_save_return_url(model, is_created)


def register(admin, category: str) -> None:
    admin.add_view(DemandAdmin(Demand, name="业户需求/投诉", category=category,
                               endpoint="demand"))
