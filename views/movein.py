"""Move-in in the admin (R-MOVE-1/2): the six steps as a checklist, each with who and when; the
进度 filter shows who is stuck at which step.

The rules live in models/movein.py; this module declares the grid and its one row action, the
next step of the checklist, whose form and label follow the row's step (fees at 5, keys at 6).
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup
from wtforms import BooleanField, Form, StringField, TextAreaField
from wtforms.validators import Length, Optional

from models.attachments import scans
from models.i18n import L_
from models.movein import DONE, STEPS, MoveIn, may_do_step
from models.org import Unit
from views.actions import RegisterView, RowAction, add_views
from views.base import SecureModelView
from views.fields import DESK_AND_DEPT, RESIDENT_LOOKUP, UNIT_LOOKUP, when_field
from views.rectification_source import TO_RECTIFICATION


class StepForm(Form):
    at = when_field(L_("办理时间"))


class Step2Form(StepForm):
    id_copied = BooleanField(L_("已复印业主身份证"))


class Step3Form(StepForm):
    agreements_signed = BooleanField(L_("业主已签消防安全协议书和精神文明公约"))


class Step5Form(StepForm):
    property_fee = StringField(L_("物业费(元)"), validators=[Optional()])
    property_fee_receipt = StringField(L_("物业费收据号"), validators=[Optional(), Length(max=32)])
    maintenance_fund = StringField(L_("维修基金(元)"), validators=[Optional()])
    maintenance_fund_receipt = StringField(L_("维修基金收据号"),
                                           validators=[Optional(), Length(max=32)])


class Step6Form(StepForm):
    inspection_notes = TextAreaField(L_("验房情况（收楼书）"), validators=[Optional()])
    rectification_items = TextAreaField(L_("整改单"), validators=[Optional()],
                                        description=L_("没有整改项目可留空"))
    keys_count = StringField(L_("交付钥匙(把)"), validators=[Optional()])
    key_receipt_signed = BooleanField(L_("业主已在钥匙回执上签字"))


STEP_FORMS = {1: StepForm, 2: Step2Form, 3: Step3Form, 4: StepForm, 5: Step5Form, 6: Step6Form}


def _step(row) -> int:
    """The step the row's form is for (the last one once all are done: the model refuses)."""
    return min(row.current_step, 6)


def _step_label(row) -> str:
    return gettext("登记第%(n)s步：%(name)s",
                   n=row.current_step, name=gettext(STEPS[_step(row) - 1][1]))


def _step_title(row, form) -> str:
    n, name, text = STEPS[_step(row) - 1]
    return gettext("第%(n)s步 %(name)s：%(text)s", n=n, name=gettext(name), text=gettext(text))


def _do_step(row, user, *, at=None, expected_version=None, **details):
    row.do_step(user, _step(row), at=at, expected_version=expected_version, **details)


def _progress_cell(view, context, model, name):
    if model.current_step >= DONE:
        return Markup(gettext('<span class="badge badge-success">已完成</span>'))
    return Markup('<span class="badge badge-warning">{}</span>').format(model.progress_label)


class MoveInAdmin(RegisterView):
    """入伙: the six steps as a checklist, each with who and when; the 进度 filter shows who is
    stuck at which step (R-MOVE-1/2)."""

    permissions = {**SecureModelView.permissions, "step": DESK_AND_DEPT}
    attachment_kinds = (scans("receipts", L_("签收回执扫描件"),
                              permission="step"),)  # R-MOVE-1, #16
    details_extra = "admin/office_movein_steps.html"
    column_list = ("number", "unit", "owner_name", "current_step", "step1_at", "completed_at",
                   "keys_count")
    column_filters = ("current_step", "completed_at")
    column_searchable_list = ("number", "owner_name", Unit.code)
    column_number_search = {"RH": "number"}
    column_default_sort = ("created_at", True)
    column_formatters = {"current_step": _progress_cell}
    # The export carries the badge's words (#12 item 4: data, not screen HTML).
    column_formatters_export = {"current_step": lambda v, c, m, n: m.progress_label}
    column_labels = {"current_step": L_("进度（卡在第几步）")}
    form_create_columns = ("estate", "unit", "owner", "owner_name", "owner_phone", "notes")
    form_edit_columns = ("owner_name", "owner_phone", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "owner": RESIDENT_LOOKUP}
    row_actions = (
        # The next step of the checklist, with its own details (fees at 5, keys at 6).
        # Step 5 (fees) only for finance (R-MOVE-1, R-REC-3): the button and the POST.
        RowAction("step", _step_label, _do_step, when=lambda row: row.current_step < DONE,
                  form=lambda row: STEP_FORMS[_step(row)], permission="step",
                  allowed=lambda row, user: may_do_step(user, _step(row)), title=_step_title),
        # 转整改: step 6's 整改单 becomes rectification items (R-FRONT-2, #11 item 10).
        TO_RECTIFICATION,
    )


def register(admin, category: str) -> None:
    add_views(admin, category, (MoveInAdmin, MoveIn, "入伙登记", "move_in"))
