"""The deposit and fee ledger in the admin (R-DEP-1/2): one ledger with its totals per estate;
only finance collects and refunds; nothing leaves it.

The rules live in models/deposits.py; this module declares the grid and the row actions (财务收款,
退款, 没收, 改为可退, 取消) and prints the receipt with the amount in words.
"""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from wtforms import DateField, Form, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.base import RuleError
from models.decoration import Decoration
from models.deposits import KINDS, Deposit
from models.i18n import L_
from models.money import amount_in_words
from models.passes import WorkerPass
from models.users import EVERYONE, MANAGERS, in_department
from views.actions import RegisterView, RowAction, current
from views.base import SecureModelView
from views.fields import (
    DATE_FORMAT,
    NOBODY,
    date_cell,
    money_cell,
    when_field,
)
from views.forms import choices


class CollectForm(Form):
    collected_at = when_field(L_("收款时间"))


class RefundForm(Form):
    # Amount and payee are checked by the refund rule with the date and the kept part, so one
    # submit reports them all (#12 item 3); an empty amount is the full deposit.
    amount = StringField(L_("退还金额(元)"), validators=[Optional()],
                         description=L_("默认全额；少退的部分作为扣留，须填写原因并经主管批准"))
    to = StringField(L_("领款人"), validators=[Optional(), Length(max=64)])
    refunded_at = when_field(L_("退款时间"))
    forfeit_reason = StringField(L_("扣留原因"), validators=[Optional(), Length(max=200)])


class ForfeitForm(Form):
    forfeit_reason = StringField(L_("没收原因"),
                                 validators=[InputRequired(L_("没收押金时请填写原因")),
                                                     Length(max=200)])
    forfeited_at = when_field(L_("没收时间"))


class CancelDepositForm(Form):
    reason = StringField(L_("取消原因"), validators=[InputRequired(L_("请填写取消原因")),
                                               Length(max=200)])


class RefundableForm(Form):
    on = DateField(L_("可退日期"), validators=[Optional()], format=DATE_FORMAT,
                   description=L_("留空为今天"))
    note = StringField(L_("原因"),
                       validators=[InputRequired(L_("请填写可退原因")), Length(max=200)])


def _prepare_refund(view, row, form):
    if request.method == "GET":  # a full refund to the payer unless finance says otherwise
        form.amount.data = str(row.amount)
        form.to.data = row.payer


def _refund_values(form) -> dict:
    values = dict(form.data)
    values["forfeit_reason"] = values["forfeit_reason"] or ""
    return values


def _forfeit_values(form) -> dict:
    return {"reason": form.forfeit_reason.data, "forfeited_at": form.forfeited_at.data}


FINANCE_ACTIONS = frozenset({"create", "collect", "refund"})


class DepositAdmin(RegisterView):
    """押金/费用台账: one ledger; only finance collects and refunds; nothing leaves (R-DEP)."""

    permissions = {**SecureModelView.permissions, "create": EVERYONE, "edit": NOBODY,
                   "collect": EVERYONE, "refund": EVERYONE, "release": EVERYONE,
                   "receipt": EVERYONE}
    endpoint_actions = {"print_view": "receipt"}
    list_template = "admin/deposit_list.html"
    details_template = "admin/deposit_details.html"
    print_template = "admin/deposit_receipt_print.html"
    column_list = ("receipt_number", "created_at", "kind", "payer", "amount", "purpose",
                   "state", "refundable_on", "collected_by", "refunded_at", "refunded_amount")
    column_filters = ("state", "kind", "created_at", "refundable_on")
    column_searchable_list = ("receipt_number", "payer", "purpose")
    column_number_search = {"SJ": "receipt_number"}
    column_default_sort = ("created_at", True)
    column_formatters = {"amount": money_cell, "refunded_amount": money_cell,
                         "refundable_on": date_cell}
    form_create_columns = ("estate", "kind", "payer", "payer_phone", "amount", "purpose", "note")
    form_args = {"kind": {"choices": choices(KINDS)}}
    queues = {"refundable_late": (L_("可退超过 30 天未退"),
                                  lambda now: Deposit.refundable_not_refunded(now, 30)),
              "uncollected": (L_("超过 3 天未收款"), lambda now: Deposit.uncollected(now, 3))}
    row_actions = (
        # 财务收款: the numbered receipt is issued.
        RowAction("collect", L_("财务收款"), "collect", form=CollectForm, when=("due",),
                  permission="collect"),
        # 退款: when, to whom, by whom; once. A part kept waits for a manager's approval.
        RowAction("refund", L_("退款"), "refund", form=RefundForm, when=("refundable",),
                  permission="refund", css="btn-success", title=L_("退还押金"),
                  prepare=_prepare_refund, values=_refund_values, approval="refund"),
        # 没收 with a reason, once a manager has approved (R-DEP-2, R-REC-2).
        RowAction("forfeit", L_("没收"), "forfeit", form=ForfeitForm, when=("held", "refundable"),
                  permission="refund", css="btn-outline-danger", title=L_("没收押金"),
                  values=_forfeit_values, approval="forfeit"),
        # 改为可退 (e.g. a key deposit whose key came back).
        RowAction("refundable", L_("改为可退"), "make_refundable", form=RefundableForm,
                  when=lambda row: row.state == "held" and not row.is_fee, permission="release",
                  css="btn-outline-secondary"),
        # 取消 money asked for but never collected.
        RowAction("cancel", L_("取消（未收款）"), "cancel", form=CancelDepositForm, when=("due",),
                  permission="release", css="btn-outline-secondary", title=L_("取消未收款项")),
    )

    def allowed(self, action: str) -> bool:
        if not current_user.is_authenticated:
            return False
        finance = in_department(current_user, "finance")
        if action in FINANCE_ACTIONS:
            return finance and super().allowed(action)  # R-DEP-1: only finance takes/refunds
        if action == "release":
            return finance or current_user.role in MANAGERS
        return super().allowed(action)

    def linked_record(self, row) -> tuple[str, str] | None:
        """The pass or decoration a deposit belongs to: (label, details URL)."""
        decoration = Decoration.get_or_none((Decoration.owner_deposit == row.id)
                                            | (Decoration.contractor_deposit == row.id))
        if decoration is not None:
            return gettext("装修申请 %(number)s",
                           number=decoration.number), self.get_url("decoration.details_view",
                                                               id=decoration.id)
        card = WorkerPass.get_or_none((WorkerPass.deposit == row.id)
                                      | (WorkerPass.card_fee == row.id))
        if card is not None:
            label = gettext("装修工人出入证 %(number)s", number=card.number or gettext("申请"))
            return label, self.get_url("worker_pass.details_view", id=card.id)
        return None

    def printable(self, row) -> bool:
        return bool(row.receipt_number)

    def print_args(self, row) -> dict:
        return {"amount_words": amount_in_words(row.amount)}

    @expose("/")
    def index_view(self):
        """The ledger with its totals per estate (held, refundable, refunded, forfeited, fees)."""
        estates = list(current().estates())
        totals = Deposit.totals([e.id for e in estates])
        self._template_args["ledger_totals"] = [(e, totals[e.id]) for e in estates
                                                if e.id in totals]
        return super().index_view()

    def create_model(self, form):
        model = self.model()
        form.populate_obj(model)
        try:
            model.save_collected(current())
        except RuleError as error:
            self.attach_errors(form, error)
            return False
        self.after_model_change(form, model, True)
        return model


def register(admin, category: str) -> None:
    admin.add_view(DepositAdmin(Deposit, name="押金/费用台账", category=category,
                                endpoint="deposit"))
