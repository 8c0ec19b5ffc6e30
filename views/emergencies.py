"""Emergencies in the admin (R-EMG): the incident's register form, its handling steps with who
and when, outside help only with the director's consent, the closing, and the printed form.

The rules live in models/emergencies.py; this module declares the grid and the row actions:
one step form (登记处理过程) that the 社会求援 and 登记措施落实结果 buttons open on their own
kind of step, and 结案.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext
from markupsafe import Markup
from wtforms import Form, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from models.attachments import photos, scans
from models.base import utcnow
from models.emergencies import CLOSING_ROLES, STEP_KINDS, Emergency, EmergencyStep
from models.i18n import L_
from views.actions import RegisterView, RowAction, add_views
from views.base import SecureModelView
from views.fields import DESK_AND_DEPT, NOBODY, when_field
from views.forms import choices
from views.rectification_source import TO_RECTIFICATION


class EmergencyStepForm(Form):
    kind = SelectField(L_("环节"), choices=choices(STEP_KINDS), validate_choice=False)
    who = StringField(L_("人员"), validators=[Optional(), Length(max=32)],
                      description=L_("报告给谁、由谁处理，或求援的单位（如 119 消防）"))
    note = TextAreaField(L_("内容/结果"), validators=[Optional(), Length(max=2000)])
    at = when_field(L_("时间"))


class CloseForm(Form):
    at = when_field(L_("结案时间"))


def _prepare_step(view, row, form):
    """On opening, the kind the button asked for; outside help tells who must consent."""
    if form.kind.data == "outside_help" or request.args.get("kind") == "outside_help":
        form.kind.description = gettext("社会求援须经管理处主任本人同意：主任本人登录办理，或在场"
                                        "时由主任输入本人密码/审批PIN；否则提交主任审批，同意后生"
                                        "效（R-EMG-2）")
    if request.method == "GET":
        form.kind.data = request.args.get("kind") or "reported"
        if form.kind.data == "gm":
            form.who.data = row.estate.branch.general_manager


def _step_title(row, form) -> str:
    return gettext("社会求援") if form.kind.data == "outside_help" else gettext("登记处理过程")


def _not_closed(row) -> bool:
    return row.state != "closed"


def _emergency_state_cell(view, context, model, name):
    if model.state == "open":
        return Markup('<span class="badge badge-danger">{}</span>').format(model.state_label)
    return model.state_label


class EmergencyAdmin(RegisterView):
    """紧急事件处理登记表: report, escalation steps with who/when, aftermath, closing (R-EMG)."""

    permissions = {**SecureModelView.permissions, "step": DESK_AND_DEPT,
                   "close": frozenset(CLOSING_ROLES)}
    attachment_kinds = (photos("scene", L_("现场照片"), permission="step"),  # #16, R-EMG-3
                        scans("register", L_("登记表扫描件")))
    details_extra = "admin/office_emergency_steps.html"
    print_template = "admin/office_emergency_print.html"
    print_label = L_("打印登记表")
    column_list = ("number", "occurred_at", "kind", "place", "reported_by", "state",
                   "stabilised_at", "responsible_person", "closed_at")
    column_filters = ("state", "kind", "occurred_at")
    column_searchable_list = ("number", "place", "description")
    column_number_search = {"JJ": "number"}
    column_default_sort = ("occurred_at", True)
    column_formatters = {"state": _emergency_state_cell}
    form_create_columns = ("estate", "occurred_at", "place", "kind", "description",
                           "reported_by", "first_reported_to", "reported_at", "casualties",
                           "rescue", "technician", "technician_notified_at")
    form_edit_columns = ("occurred_at", "place", "kind", "description", "reported_by",
                         "first_reported_to", "reported_at", "casualties", "rescue",
                         "technician", "technician_notified_at", "stabilised_at", "cause",
                         "responsible_person", "remedial_measures", "preventive_measures")
    form_widget_args = {name: {"rows": 3} for name in (
        "description", "casualties", "rescue", "cause", "remedial_measures",
        "preventive_measures")}
    create_defaults = {"occurred_at": utcnow, "reported_at": utcnow}
    row_actions = (
        # 处理过程: who was told or did what, when; outside help needs the director (R-EMG-2).
        # The endpoint stays open on a closed incident for its implementation results.
        RowAction("step", L_("登记处理过程"), "add_step", form=EmergencyStepForm, when=_not_closed,
                  permission="step", title=_step_title, prepare=_prepare_step,
                  versioned=False, approval="add_step"),
        RowAction("outside_help", L_("社会求援（须主任同意）"), target="step",
                  args={"kind": "outside_help"}, when=_not_closed, css="btn-warning"),
        RowAction("result", L_("登记措施落实结果"), target="step", args={"kind": "result"},
                  when=("closed",), css="btn-info"),
        # 结案: only with the cause, the responsible person and the measures (R-EMG-3).
        RowAction("close", L_("结案"), "close", form=CloseForm, when=_not_closed,
                  permission="close", css="btn-success", title=L_("紧急事件结案")),
        # 转整改: the measures become rectification items (R-EMG-4, R-FRONT-2, #11 item 10).
        TO_RECTIFICATION,
    )


class EmergencyStepAdmin(RegisterView):
    """紧急事件处理过程: every step of every incident; entered from the incident (read only)."""

    permissions = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY}
    column_list = ("emergency", "kind", "at", "who", "note", "consent_by", "consent_at",
                   "created_by")
    column_filters = ("kind", "at")
    column_default_sort = ("at", True)


def register(admin, category: str) -> None:
    add_views(admin, category,
              (EmergencyAdmin, Emergency, "紧急事件登记", "emergency"),
              (EmergencyStepAdmin, EmergencyStep, "紧急事件处理过程", "emergency_step"))
