"""Decoration in the admin (corrected R-PASS-4, R-DECO-1…3): application with its floor plan;
within 3 working days of it the water-closure and pressure tests, the engineering supervisor's
signature and the approval; then the numbered permit and acceptance.

The rules and the deadlines live in models/decoration.py and models/decoration_steps.py; this
module declares the grid and the row actions (登记闭水/打压试验, 工程主管签字, 审批通过 — in the
approver's own login or at the desk, R-REC-2 —, 不批准, 发放装修许可证, 变更工期（重新审批）,
验收) and prints the permit. The floor plan is an attachment kind of the register
(models.decoration.FLOOR_PLAN): handed in with the application form, later ones through 上传附件.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from wtforms import BooleanField, DateField, FileField, Form, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.attachments import photos, scans
from models.base import office_day, utcnow
from models.decoration import FLOOR_PLAN, Decoration
from models.decoration_steps import BEFORE_APPROVAL
from models.heating import in_heating_season
from models.i18n import L_, LazyText
from models.org import Unit
from models.patrols import DecorationPatrol
from models.users import DESK, MANAGERS, supervises
from views.actions import RegisterView, RowAction
from views.attachments import check_uploads
from views.base import SecureModelView
from views.fields import (
    DATE_FORMAT,
    DESK_AND_DEPT,
    RESIDENT_LOOKUP,
    UNIT_LOOKUP,
    date_cell,
    when_field,
)
from views.forms import choices
from views.rectification_source import TO_RECTIFICATION


class ApproveForm(Form):
    note = StringField(L_("审批意见"), validators=[Optional(), Length(max=200)])
    approved_at = when_field(L_("审批时间"))


class DatesForm(Form):
    works_start = DateField(L_("计划开工日期"),
                            validators=[InputRequired(L_("请填写计划开工日期"))],
                            format=DATE_FORMAT)
    works_end = DateField(L_("计划完工日期"), validators=[InputRequired(L_("请填写计划完工日期"))],
                          format=DATE_FORMAT, description=L_("装修许可证有效至此日"))
    reason = StringField(L_("变更原因"), validators=[InputRequired(L_("请填写变更工期的原因")),
                                               Length(max=100)])


class RejectForm(Form):
    note = TextAreaField(L_("不批准原因"), validators=[InputRequired(L_("不批准时请填写原因")),
                                                Length(max=200)])


RESULT = [("1", L_("合格")), ("0", L_("不合格"))]


class TestsForm(Form):
    water_passed = RadioField(L_("闭水试验"), choices=choices(RESULT),
                              validators=[InputRequired(L_("请登记闭水试验结果"))])
    pressure_passed = RadioField(L_("打压试验"), choices=choices([*RESULT, ("", L_("未做"))]),
                                 default="", validators=[Optional()])
    skip_pressure = BooleanField(L_("供暖期，暖气免做打压"))
    owner_confirmed_name = StringField(L_("业主确认签字"), validators=[Optional(), Length(max=32)],
                                       description=L_("试验合格须业主确认签字，填写签字业主姓名"))
    tested_at = when_field(L_("试验时间"))
    notes = StringField(L_("试验说明"), validators=[Optional(), Length(max=200)])


class SignForm(Form):
    signed_at = when_field(L_("签字时间"))


class PermitForm(Form):
    issued_at = when_field(L_("发证时间"))


class AcceptForm(Form):
    passed = RadioField(L_("验收结果"),
                        choices=choices([("1", L_("验收合格")), ("0", L_("需整改"))]),
                        validators=[InputRequired(L_("请选择验收结果"))])
    defects = TextAreaField(L_("整改项目"), validators=[Optional(), Length(max=2000)])
    rectify_by = DateField(L_("整改期限"), validators=[Optional()], format=DATE_FORMAT)
    accepted_at = when_field(L_("验收时间"))


def _mention_heating(view, row, form):
    if request.method == "GET" and in_heating_season(office_day()):
        form.skip_pressure.description = gettext("今天在供暖期内，可免做打压")


def _tests_values(form) -> dict:
    return {**form.data, "water_passed": form.water_passed.data == "1",
            "pressure_passed": {"1": True, "0": False}.get(form.pressure_passed.data),
            "skip_pressure": form.skip_pressure.data}


def _accept_values(form) -> dict:
    return {**form.data, "passed": form.passed.data == "1", "defects": form.defects.data or ""}


def _prepare_dates(view, row, form):
    if request.method == "GET":
        form.works_start.data, form.works_end.data = row.works_start, row.works_end


def _deadline_cell(view, context, model, name):
    value = getattr(model, name)
    if value is None:
        return ""
    text = view._shown_value(model, name, value)
    waiting = {"approval_due": BEFORE_APPROVAL, "tests_due": ("applied",)}[name]
    if model.state in waiting and value < utcnow():
        return Markup(gettext('<span class="badge badge-danger">超期</span> {}')).format(text)
    return text


class DecorationAdmin(RegisterView):
    """装修申请/许可: application to acceptance, with deposits and the permit (R-DECO)."""

    # 审批 is open to the desk for an approver standing beside the clerk (R-REC-2); the model
    # and models.approvals decide who approves. 不批准 and 验收 are the approvers' own acts.
    permissions = {**SecureModelView.permissions, "approve": DESK, "reject": MANAGERS,
                   "accept": MANAGERS, "handle": DESK, "sign": DESK_AND_DEPT}
    attachment_kinds = (FLOOR_PLAN,  # R-DECO-1, #16: the newest is the plan in force
                        photos("inspection", L_("巡查/验收照片"), permission="sign"),  # #16
                        scans("documents", L_("申请资料扫描件"), permission="handle"))
    details_template = "admin/deco_details.html"
    print_template = "admin/deco_permit_print.html"
    column_list = ("number", "applied_at", "unit", "owner_name", "contractor", "state",
                   "approval_due", "tests_due", "permit_number", "works_end")
    column_filters = ("state", "applied_at", "works_end")
    column_searchable_list = ("number", "permit_number", "owner_name", "contractor", Unit.code)
    column_number_search = {"ZX": "number", "XK": "permit_number"}
    column_default_sort = ("applied_at", True)
    column_formatters = {"approval_due": _deadline_cell, "tests_due": _deadline_cell,
                         "works_end": date_cell}
    column_details_exclude_list = (*RegisterView.column_details_exclude_list,
                                   "floor_plan_upload")
    form_create_columns = ("estate", "applied_at", "unit", "owner", "owner_name", "owner_phone",
                           "contractor",
                           "contractor_licence", "contractor_contact", "contractor_phone",
                           "plan_summary", "works_start", "works_end", "floor_plan_upload")
    form_edit_columns = ("owner_name", "owner_phone", "contractor_licence", "contractor_contact",
                         "contractor_phone", "plan_summary", "works_start", "works_end")
    form_extra_fields = {"floor_plan_upload": FileField(
        FLOOR_PLAN.label,
        description=LazyText(lambda: gettext("必须上传：%(what)s", what=FLOOR_PLAN.described)),
        render_kw={"accept": FLOOR_PLAN.accept})}
    form_ajax_refs = {"unit": UNIT_LOOKUP,
                      "owner": {**RESIDENT_LOOKUP, "placeholder": L_("输入业主姓名或电话搜索")}}
    form_widget_args = {"plan_summary": {"rows": 3}}
    queues = {"approval_overdue": (L_("审批超期"), "approval_overdue"),
              "tests_overdue": (L_("试验超期"), "tests_overdue"),
              "acceptance_pending": (L_("待验收"), "acceptance_pending")}
    row_actions = (
        # 闭水/打压试验 with the owner's signature, inside the approval window (R-PASS-4).
        RowAction("tests", L_("登记闭水/打压试验"), "record_tests", form=TestsForm,
                  when=("applied",), permission="handle", css="btn-info",
                  prepare=_mention_heating, values=_tests_values),
        # 工程主管签字 on the passed tests: the engineering supervisor only (R-DECO-2, R-REC-4).
        RowAction("sign", L_("工程主管签字"), "engineering_sign", form=SignForm, when=("tested",),
                  permission="sign", css="btn-info"),
        # 审批通过 within the window, by a manager in their own login or at the desk (R-REC-2).
        RowAction("approve", L_("审批通过"), "approve", form=ApproveForm, when=("signed",),
                  permission="approve", approval="approve", done=L_("{title}：已批准")),
        # 不批准: deposits are dropped or made refundable.
        RowAction("reject", L_("不批准"), "reject", form=RejectForm, when=BEFORE_APPROVAL,
                  permission="reject", css="btn-outline-secondary"),
        # 发放装修许可证 (numbered) only after the approval, once both deposits are paid.
        RowAction("permit", L_("发放装修许可证"), "issue_permit", form=PermitForm,
                  when=("approved",),
                  permission="handle", css="btn-success"),
        # 变更工期 of an approved decoration is a re-approval (#11 item 5).
        RowAction("dates", L_("变更工期（重新审批）"), "change_dates", form=DatesForm,
                  when=("approved", "permitted", "defects"), permission="handle",
                  css="btn-outline-primary", title=L_("变更装修工期"), prepare=_prepare_dates,
                  approval="change_dates", done=L_("{title}：已批准并生效")),
        # 验收: passed releases the deposits; defects get a list and a deadline (R-DECO-3).
        RowAction("accept", L_("验收"), "accept", form=AcceptForm, when=("permitted", "defects"),
                  permission="accept", css="btn-warning", title=L_("装修验收"),
                  values=_accept_values),

        # 转整改: the acceptance defects become rectification items (R-DECO-3, R-FRONT-2).
        TO_RECTIFICATION,
    )

    def allowed(self, action: str) -> bool:
        if action == "sign" and current_user.is_authenticated \
                and not supervises(current_user, "engineering"):
            return False  # R-DECO-2: the engineering supervisor signs, not any engineer
        return super().allowed(action)

    def printable(self, row) -> bool:
        return bool(row.permit_number)

    def patrols_of(self, row):
        """The decoration's live patrols, newest first (#16, admin/deco_patrols.html)."""
        return list(row.patrols.where(DecorationPatrol.voided == False)  # noqa: E712
                    .order_by(DecorationPatrol.patrolled_at.desc()))

    def before_save(self, model, *, is_created):
        if is_created:
            # The application's plan goes through the attachment checks (decoded, re-encoded,
            # PDF parsed, size limit); kept by Decoration.after_create in the row's transaction.
            checked = check_uploads(FLOOR_PLAN, [request.files.get("floor_plan_upload")],
                                    "floor_plan_upload")
            model.floor_plan_file = checked[0][1] if checked else None


def register(admin, category: str) -> None:
    admin.add_view(DecorationAdmin(Decoration, name="装修申请/许可", category=category,
                                   endpoint="decoration"))
