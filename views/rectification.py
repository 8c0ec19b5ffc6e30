"""Rectification in the admin (整改, R-FRONT-2): the grid with its queues (待交办, 整改中, 已超期,
待回访), the row actions (交办, 完成整改, 复查不合格, 回访), the summary per building and unit
(问题汇总) and the printed list per building.

The rules live in models/rectification.py; items made from other registers come from their
转整改 action (views/rectification_source.py).
"""

from __future__ import annotations

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from wtforms import Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.attachments import photos
from models.base import to_office, utcnow
from models.i18n import L_
from models.org import Building, Department, Unit
from models.rectification import (
    CALLBACK_CHANNELS,
    DEFAULT_WORKING_DAYS,
    DEVELOPER,
    DEVELOPER_LABEL,
    STATES,
    Rectification,
)
from models.rectification_report import building_items, summary
from models.users import DESK
from views.actions import RegisterView, RowAction, add_views
from views.base import SecureModelView
from views.callbacks import callback_values
from views.fields import DESK_AND_DEPT, UNIT_LOOKUP, chosen_estate, when_field
from views.form_bounds import parse_bounded_int
from views.forms import choices, format_datetime

# Choice checking is the model's (validate_choice=False): its Chinese message sits by the field.


def _days_field(label: str = L_("整改期限（工作日）")) -> StringField:
    return StringField(label, default=str(DEFAULT_WORKING_DAYS),
                       validators=[InputRequired(L_("请填写整改期限"))],
                       description=L_("从今天起第 N 个工作日结束前完成（按节假日安排计算）"))


class AssignForm(Form):
    responsible = SelectField(L_("责任方"), validate_choice=False,
                              description=L_("本小区的部门，或地产遗留（交开发商）"))
    working_days = _days_field()
    note = StringField(L_("交办说明"), validators=[Optional(), Length(max=200)])
    at = when_field(L_("交办时间"))


class CompleteForm(Form):
    result = TextAreaField(L_("整改结果"), validators=[InputRequired(L_("请填写整改结果")),
                                                Length(max=2000)])
    at = when_field(L_("完成时间"))


class RejectForm(Form):
    reason = TextAreaField(L_("复查不合格原因"),
                           validators=[InputRequired(L_("请填写复查不合格的原因")),
                                                   Length(max=200)])
    working_days = _days_field(L_("返工期限（工作日）"))
    at = when_field(L_("复查时间"))


class CallbackForm(Form):
    channel = SelectField(L_("回访方式"), choices=choices(CALLBACK_CHANNELS), default="phone",
                          validate_choice=False)
    satisfied = RadioField(L_("业主是否满意"),
                           choices=choices([("1", L_("满意")), ("0", L_("不满意"))]),
                           validators=[InputRequired(L_("请选择业主是否满意"))],
                           validate_choice=False)
    comments = StringField(L_("回访意见"), validators=[Optional(), Length(max=200)])
    reason = StringField(L_("不满意原因"), validators=[Optional(), Length(max=200)],
                         description=L_("不满意时必填，整改项目退回责任方返工"))
    working_days = _days_field(L_("返工期限（工作日）"))
    at = when_field(L_("回访时间"))


def _offer_responsible(view, row, form):
    departments = (Department.select().where(Department.estate == row.estate_id,
                                             Department.voided == False)  # noqa: E712
                   .order_by(Department.name))
    form.responsible.choices = choices([("", L_("—— 请选择 ——"))]
                                       + [(str(d.id), d.name) for d in departments]
                                       + [(DEVELOPER, DEVELOPER_LABEL)])


def _due_cell(view, context, model, name):
    if model.due is None:
        return ""
    text = format_datetime(model.due)
    if model.is_overdue():
        return Markup(gettext('<span class="badge badge-danger">超期</span> {}')).format(text)
    if model.late_count:
        return Markup(gettext('{} <span class="badge badge-warning">曾超期 {} 次</span>')).format(
            text, model.late_count)
    return text


def _source_cell(view, context, model, name):
    row = model.source_row()
    if row is None:
        return model.source_label
    return Markup('{} <a href="{}">{}</a>').format(
        model.source_label, view.get_url(f"{row._meta.table_name}.details_view", id=row.id),
        row.number)


def _responsible_cell(view, context, model, name):
    return model.responsible_label


class RectificationAdmin(RegisterView):
    """整改登记: items found at inspections, handed out, done, called back (R-FRONT-2)."""

    permissions = {**SecureModelView.permissions, "assign": DESK, "complete": DESK_AND_DEPT,
                   "callback": DESK}
    endpoint_actions = {"summary_view": "list", "building_print_view": "list"}
    # #16: the problem as found (the desk, at the inspection) and the work as done (the
    # responsible department's staff, who may complete the item).
    attachment_kinds = (photos("problem", L_("问题照片")),
                        photos("fixed", L_("整改后照片"), permission="complete"))
    list_template = "admin/rectification_list.html"
    details_extra = "admin/rectification_steps.html"
    column_list = ("number", "created_at", "source", "building", "unit", "location",
                   "description", "department", "state", "due")
    column_labels = {"department": L_("责任方"), "created_at": L_("登记时间")}
    column_filters = ("state", "source", "department", "developer", "building", "due",
                      "created_at")
    column_searchable_list = ("number", "description", "location", Unit.code)
    column_number_search = {"ZG": "number"}
    column_default_sort = ("created_at", True)
    column_formatters = {"due": _due_cell, "source": _source_cell,
                         "department": _responsible_cell,
                         "description": lambda v, c, m, n: (m.description or "")[:40]}
    column_details_exclude_list = (*RegisterView.column_details_exclude_list, "move_in",
                                   "decoration", "emergency", "demand")
    form_create_columns = ("estate", "unit", "building", "location", "description")
    form_edit_columns = ("location", "description")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    form_widget_args = {"description": {"rows": 3}}
    queue_label = L_("整改队列")
    queues = {
        "registered": (L_("待交办"), lambda now: Rectification.in_state("registered")),
        "assigned": (L_("整改中"), lambda now: Rectification.in_state("assigned")),
        "overdue": (L_("已超期"), "overdue"),
        "done": (L_("待回访"), lambda now: Rectification.in_state("done")),
    }
    row_actions = (
        RowAction("assign", L_("交办"), "assign", form=AssignForm, when=("registered",),
                  permission="assign", prepare=_offer_responsible, title=L_("交办整改")),
        RowAction("complete", L_("完成整改"), "complete", form=CompleteForm, when=("assigned",),
                  permission="complete", css="btn-success", title=L_("登记整改完成")),
        RowAction("reject", L_("复查不合格"), "reject", form=RejectForm, when=("done",),
                  permission="callback", css="btn-outline-danger", title=L_("复查不合格，返工")),
        RowAction("callback", L_("回访"), "callback", form=CallbackForm, when=("done",),
                  permission="callback", css="btn-warning", title=L_("整改回访"),
                  values=callback_values),
    )

    def scoped_query(self):
        # R-REC-4: department staff see their own department's items only.
        query = super().scoped_query()
        if current_user.role == "dept":
            mine = Department.select(Department.id).where(
                Department.kind == (current_user.department or ""))
            query = query.where(Rectification.department.in_(mine))
        return query

    def _chosen(self):
        estate, estates = chosen_estate()
        if estate is None:
            abort(404)
        return estate, estates

    @expose("/summary/")
    def summary_view(self):
        """问题汇总: items per building and unit, by state, with the overdue ones."""
        estate, estates = self._chosen()
        return self.render("admin/rectification_summary.html", estate=estate, estates=estates,
                           buildings=summary(estate.id, utcnow()), states=STATES)

    @expose("/summary/print/")
    def building_print_view(self):
        """One building's items by unit, on paper (A4): the list the office works from."""
        estate, _ = self._chosen()
        wanted = request.args.get("building", "")
        building = None
        if wanted != "common":
            # "common": the items with no building; else one of this estate's buildings.
            building_id = parse_bounded_int(wanted)
            building = building_id and Building.get_or_none(Building.id == building_id,
                                                            Building.estate == estate.id)
            if not building:
                abort(404)
        open_only = request.args.get("all") != "1"
        items = list(building_items(estate.id, building.id if building else None,
                                    open_only=open_only))
        return self.render("admin/rectification_print.html", estate=estate, building=building,
                           items=items, open_only=open_only, now=to_office(utcnow()))


def register(admin, category: str) -> None:
    add_views(admin, category, (RectificationAdmin, Rectification, "整改登记", "rectification"))
