"""Keys in the admin (R-KEY): every key set, where it is, who has held it, and its movements.

The rules and the movements live in models/keys.py; this module declares the grid and the row
actions (交付业主, 留存整改, 凭收条领取, 借出, 归还) and prints the receipt of a kept set.
"""

from __future__ import annotations

from flask import abort, g, request
from flask_admin import expose
from flask_babel import gettext
from markupsafe import Markup
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.base import to_office, utcnow
from models.i18n import L_
from models.keys import BORROWER_TYPES, KeyMovement, KeySet
from models.org import Unit
from models.users import DESK
from views.actions import RegisterView, RowAction
from views.base import SecureModelView
from views.fields import NOBODY, UNIT_LOOKUP, when_field
from views.forms import LocalDateTimeField, choices


class IssueKeyForm(Form):
    owner_name = StringField(L_("领取业主"),
                             validators=[InputRequired(L_("请填写领取钥匙的业主姓名")),
                                                 Length(max=64)])
    at = when_field(L_("交付时间"))


class KeepKeyForm(Form):
    consent_by = StringField(L_("同意留存的业主"),
                             validators=[InputRequired(L_("请填写同意的业主姓名")),
                                                    Length(max=32)],
                             description=L_("业主同意后留存钥匙以备整改，系统生成收条编号（R-KEY-1）"))
    at = when_field(L_("留存时间"))


class CollectKeyForm(Form):
    receipt_number = StringField(L_("收条编号"), validators=[InputRequired(L_("请填写收条编号")),
                                                     Length(max=20)],
                                 description=L_("业主出示的盖章收条上的编号，如 YS-2026-00001"))
    collector_name = StringField(L_("领取人"), validators=[InputRequired(L_("请填写领取人姓名")),
                                                    Length(max=64)])
    at = when_field(L_("领取时间"))


class LendKeyForm(Form):
    borrower_name = StringField(L_("借用人"), validators=[InputRequired(L_("请填写借用人姓名")),
                                                   Length(max=64)])
    borrower_phone = StringField(L_("借用人电话"), validators=[Optional(), Length(max=32)])
    borrower_type = SelectField(L_("借用人类别"), choices=choices(BORROWER_TYPES), default="owner",
                                description=L_("其他人员须经主管批准（R-KEY-3）"))
    purpose = StringField(L_("借用事由"), validators=[InputRequired(L_("请填写借用事由")),
                                                Length(max=100)])
    expected_return = LocalDateTimeField(L_("预计归还时间"),
                                         validators=[InputRequired(L_("请填写预计归还时间"))])
    signed = BooleanField(L_("借用人已在登记簿上签名"))
    at = when_field(L_("借出时间"))


class ReturnKeyForm(Form):
    returned_by_name = StringField(L_("归还人"), validators=[Optional(), Length(max=64)],
                                   description=L_("留空为原借用人"))
    at = when_field(L_("归还时间"))


def _open_loans(model) -> dict:
    """The page's open loans by key set, in one query per page rather than one per row
    (#14 item 4); a row outside the listed page (details) is looked up on its own."""
    loans = g.setdefault("open_key_loans", {})
    if model.id not in loans:
        ids = set(g.get("page_row_ids", {}).get(KeySet) or ()) | {model.id}
        loans.update(dict.fromkeys(ids))
        loans.update({loan.key_set_id: loan for loan in KeyMovement.select().where(
            KeyMovement.key_set.in_(list(ids)), KeyMovement.kind == "lend",
            KeyMovement.returned_at.is_null())})
    return loans


def _location_cell(view, context, model, name):
    loan = _open_loans(model).get(model.id) if model.location == "lent" else None
    text = model.location_label
    if loan is not None and loan.is_overdue():
        return Markup(gettext('{} <span class="badge badge-danger">逾期未还</span>')).format(text)
    return text


class KeySetAdmin(RegisterView):
    """钥匙: every key set, where it is now, who has it since when, and its history (R-KEY)."""

    permissions = {**SecureModelView.permissions, "move": DESK}
    endpoint_actions = {"receipt_view": "list"}
    details_template = "admin/key_details.html"
    state_field = "location"
    column_list = ("unit", "label", "count", "hook", "location", "holder", "since")
    column_filters = ("location", "since")
    column_searchable_list = ("holder", "hook", Unit.code)
    column_default_sort = ("since", True)
    column_formatters = {"location": _location_cell}
    form_create_columns = ("estate", "unit", "label", "count", "hook", "notes")
    form_edit_columns = ("label", "count", "hook", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    queue_label = L_("借用")
    queues = {"overdue": (L_("逾期未还"), lambda now: KeySet.select().where(KeySet.id.in_(
        KeyMovement.overdue_loans(now).select(KeyMovement.key_set))))}
    row_actions = (
        RowAction("issue", L_("交付业主"), "issue_to_owner", form=IssueKeyForm, when=("office",),
                  permission="move"),
        RowAction("keep", L_("留存整改"), "keep_for_rectification", form=KeepKeyForm,
                  when=("office", "owner"), permission="move", css="btn-info",
                  title=L_("留存整改钥匙")),
        RowAction("collect", L_("凭收条领取"), "collect", form=CollectKeyForm, when=("kept",),
                  permission="move", css="btn-success", title=L_("凭收条领取钥匙")),
        RowAction("lend", L_("借出"), "lend", form=LendKeyForm, when=("office", "kept"),
                  permission="move", css="btn-warning", title=L_("借出钥匙"),
                  # R-KEY-3, R-REC-2: "other" borrowers wait for a supervisor's approval.
                  approval="lend", done=L_("{title}：已登记")),
        RowAction("return", L_("归还"), "return_loan", form=ReturnKeyForm, when=("lent",),
                  permission="move", css="btn-success", title=L_("钥匙归还")),
    )

    @expose("/receipt/")
    def receipt_view(self):
        """The stamped receipt for kept keys (or a loan slip), by movement id."""
        movement = KeyMovement.get_or_none(KeyMovement.id == request.args.get("movement", type=int))
        row = self.row_or_404()
        if movement is None or movement.key_set_id != row.id or not movement.number:
            abort(404)
        return self.render("admin/key_receipt_print.html", row=row, movement=movement,
                           now=to_office(utcnow()))


def _expected_return_cell(view, context, model, name):
    if model.expected_return is None:
        return ""
    text = view._shown_value(model, name, model.expected_return)
    if model.is_overdue():
        return Markup(gettext('{} <span class="badge badge-danger">逾期</span>')).format(text)
    return text


class KeyMovementAdmin(RegisterView):
    """钥匙流转记录: every movement, loans struck off on return; read only (R-KEY-4)."""

    permissions = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY}
    column_list = ("at", "key_set", "kind", "number", "person", "borrower_type", "purpose",
                   "expected_return", "returned_at", "approved_by", "created_by")
    column_filters = ("kind", "borrower_type", "at")
    column_searchable_list = ("person", "number")
    column_number_search = {"JY": "number", "YS": "number"}
    column_default_sort = ("at", True)
    # Sorted only by what an index reads in order: by person, borrower, purpose, return time or
    # slip number it sorted every movement of the user's estates (100,000 at 1M demands: ×2.2
    # from 100k, #14; tests/test_grid_sorts.py). A number is found by search.
    column_sortable_list = ("at", "kind", "expected_return")
    column_formatters = {"expected_return": _expected_return_cell}
    queue_label = L_("借用")
    queues = {"overdue": (L_("逾期未还"), "overdue_loans"),
              "open": (L_("借出未还"), lambda now: KeyMovement.select().where(
                  KeyMovement.kind == "lend", KeyMovement.returned_at.is_null()))}



def register(admin, category: str) -> None:
    admin.add_view(KeySetAdmin(KeySet, name="钥匙", category=category, endpoint="key_set"))
    admin.add_view(KeyMovementAdmin(KeyMovement, name="钥匙流转记录", category=category,
                                    endpoint="key_movement"))
