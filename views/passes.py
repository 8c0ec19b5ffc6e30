"""Access passes in the admin (R-PASS-1, R-PASS-2, R-PASS-6): the decoration worker's card and the
temporary pass — issue, return, cancel, print; expired ones not handed back stand out.

The rules live in models/passes.py; this module declares the grids and the row actions (交回,
注销) and prints the passes.
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup
from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional

from models.attachments import id_copies
from models.i18n import L_
from models.org import Unit
from models.passes import CANCEL_REASONS, TemporaryPass, WorkerPass
from models.users import DESK
from views.actions import RegisterView, RowAction
from views.base import SecureModelView
from views.fields import UNIT_LOOKUP, date_cell, when_field
from views.forms import choices


class IssuePassForm(Form):
    issued_at = when_field(L_("发证时间"))


class ReturnPassForm(Form):
    returned_at = when_field(L_("交回时间"))


class CancelPassForm(Form):
    reason = SelectField(L_("注销原因"), choices=choices(CANCEL_REASONS))
    note = StringField(L_("说明"), validators=[Optional(), Length(max=200)])


def _valid_to_cell(view, context, model, name):
    text = date_cell(view, context, model, name)
    if model.state == "issued" and model.is_expired():
        return Markup(gettext('{} <span class="badge badge-danger">已过期未交回</span>')
                      ).format(text)
    return text


class PassAdmin(RegisterView):
    """Access passes: issue, return, cancel, print; expired ones not returned stand out."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    details_template = "admin/pass_details.html"
    column_searchable_list = ("number", "holder_name")
    column_number_search = {"LS": "number", "CR": "number"}
    column_default_sort = ("issued_at", True)
    column_formatters = {"valid_to": _valid_to_cell, "valid_from": date_cell}
    column_filters = ("state", "valid_to", "issued_at")
    queues = {"expired": (L_("已过期未交回"), "expired_not_returned")}
    row_actions = (
        # 交回: the pass is struck off (a worker's card makes its deposit refundable).
        RowAction("return", L_("交回"), "return_pass", form=ReturnPassForm, when=("issued",),
                  permission="handle", css="btn-success", title=L_("证件交回")),
        # 注销: lost or otherwise not coming back.
        RowAction("cancel", L_("注销（遗失等）"), "cancel", form=CancelPassForm,
                  when=("issued", "applied"), permission="handle", css="btn-outline-secondary",
                  title=L_("注销证件")),
    )

    def printable(self, row) -> bool:
        # Money before paper (R-REC-3): only an issued, numbered card prints.
        return row.state != "applied" and bool(row.number)


class WorkerPassAdmin(PassAdmin):
    """装修工人出入证: ≤ 3 months, within the decoration permit, 50 deposit + 5 fee (R-PASS-1)."""

    print_template = "admin/pass_worker_print.html"
    attachment_kinds = (id_copies("id_copy", L_("身份证复印件")),  # R-PASS-1, #16: sensitive
                        id_copies("residence_permit", L_("暂住证复印件")))
    column_list = ("number", "holder_name", "id_number", "unit", "employer", "trade",
                   "valid_from", "valid_to", "state", "deposit")
    column_searchable_list = ("number", "holder_name", "employer", Unit.code)
    form_create_columns = ("estate", "unit", "holder_name", "doc_type", "id_number", "phone",
                           "trade", "checked_construction_permit", "checked_id",
                           "checked_residence_permit", "valid_from", "valid_to")
    form_edit_columns = ("phone", "trade")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    # 发证 once finance has recorded the deposit and the card fee (R-REC-3, R-PASS-1).
    row_actions = (
        RowAction("issue", L_("发证（财务已收款）"), "issue", form=IssuePassForm, when=("applied",),
                  permission="handle", css="btn-primary", title=L_("发放装修工人出入证"),
                  done=L_("出入证已发放")),
        *PassAdmin.row_actions,
    )
    form_args = {"valid_from": {"description": L_("留空为今天")},
                 "valid_to": {"description": L_("留空则取 3 个月与装修许可证到期日中较早者")}}
    column_formatters = {**PassAdmin.column_formatters,
                         "deposit": lambda v, c, m, n: m.deposit.state_label if m.deposit else ""}


class TemporaryPassAdmin(PassAdmin):
    """临时出入证: ID registered, valid 3 days counting the issue day (R-PASS-2)."""

    print_template = "admin/pass_temporary_print.html"
    column_list = ("number", "holder_name", "id_number", "purpose", "unit", "valid_from",
                   "valid_to", "state")
    # Sorted only by what an index reads in order (temporary_pass_number_order, _sweep): by
    # holder, ID or purpose it sorted every pass of the user's estates (200,000 at 1M demands:
    # ×3 from 100k, #14; tests/test_grid_sorts.py). The number is the order of issue.
    column_sortable_list = ("number", "valid_to", "state")
    form_create_columns = ("estate", "holder_name", "doc_type", "id_number", "phone", "purpose",
                           "unit")
    form_edit_columns = ("phone", "purpose")
    form_ajax_refs = {"unit": UNIT_LOOKUP}


def register(admin, category: str) -> None:
    """临时出入证, at the front desk."""
    admin.add_view(TemporaryPassAdmin(TemporaryPass, name="临时出入证", category=category,
                                      endpoint="temporary_pass"))


def register_worker_passes(admin, category: str) -> None:
    """装修工人出入证, with the decoration registers (after the decoration itself)."""
    admin.add_view(WorkerPassAdmin(WorkerPass, name="装修工人出入证", category=category,
                                   endpoint="worker_pass"))
