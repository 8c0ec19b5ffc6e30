"""Approvals in the admin (R-REC-2): 待我审批 — what this user may approve, decided in their own
login — and 审批记录, every request of the user's estates with who decided, when and how.

The mechanism lives in models/approvals.py; the register steps that need an approver declare
`approval=` on their RowAction (views/actions.py). The pending count shows on the front desk
and beside the user's name in the menu bar (`approvals_waiting`).
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from wtforms import Form, StringField
from wtforms.validators import Length, Optional

from models import approvals
from models.approvals import ApprovalRequest
from models.base import RuleError
from models.i18n import L_
from models.users import EVERYONE
from views.actions import RegisterView, current
from views.base import SecureModelView
from views.fields import NOBODY
from views.i18n import FORM_META
from views.users import PinView

# Roles that can approve something (the queue is empty for the others).
APPROVERS = frozenset({"admin", "director", "supervisor", "dept"})
READ_ONLY = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY, "void": NOBODY}


def approvals_waiting() -> int | None:
    """How many requests wait for the logged-in user (None: this user approves nothing)."""
    if not current_user.is_authenticated or not approvals.rules_of(current_user):
        return None
    return ApprovalRequest.queue(current()).count()


def row_url(pending: ApprovalRequest) -> str | None:
    """The details page of the row a request is about, where the user may open it."""
    from flask import current_app

    for view in current_app.extensions["admin"][0]._views:
        model = getattr(view, "model", None)
        if model is not None and model._meta.table_name == pending.register \
                and getattr(model, "approvals", None) and view.is_accessible():
            return url_for(f"{view.endpoint}.details_view", id=pending.row_id)
    return None


def _row_cell(view, context, model, name):
    url = row_url(model)
    text = model.summary or model.label
    return Markup('<a href="{}">{}</a>').format(url, text) if url else text


def _decide_cell(view, context, model, name):
    return Markup(gettext('<a class="btn btn-sm btn-primary" href="{}">审批</a>')).format(
        view.get_url(".decide_view", id=model.id))


class DecideForm(Form):
    note = StringField(L_("审批意见/驳回原因"), validators=[Optional(), Length(max=200)],
                       description=L_("驳回时必须填写原因，申请人会在记录上看到"))


class ApprovalQueueAdmin(RegisterView):
    """待我审批: requests this user may approve, in their estates; approve or reject here."""

    permissions = {**READ_ONLY, "list": APPROVERS, "export": NOBODY}
    endpoint_actions = {"decide_view": "list"}
    can_view_details = False
    column_list = ("requested_at", "label", "summary", "requested_by", "rule", "decide")
    column_labels = {"decide": L_("操作")}
    column_formatters = {"summary": _row_cell, "decide": _decide_cell,
                         "rule": lambda v, c, m, n: m.rule_label}
    column_default_sort = ("requested_at", False)
    column_filters = ("label",)

    def scoped_query(self):
        return ApprovalRequest.queue(current())

    def get_query(self):
        return self.scoped_query()

    @expose("/decide/", methods=("GET", "POST"))
    def decide_view(self):
        """Approve or reject one request in the approver's own login."""
        pending = ApprovalRequest.queue(current()).where(
            ApprovalRequest.id == request.args.get("id", type=int)).first()
        if pending is None:
            abort(404)
        form = DecideForm(request.form, meta=FORM_META)
        if request.method == "POST" and form.validate():
            try:
                if request.form.get("decision") == "approve":
                    approvals.approve(pending, current(), note=form.note.data or "")
                    flash(gettext("已批准：%(label)s，已生效", label=pending.label), "success")
                else:
                    approvals.reject(pending, current(), note=form.note.data or "")
                    flash(gettext("已驳回：%(label)s", label=pending.label), "success")
            except RuleError as error:
                self.attach_errors(form, error)
            else:
                return redirect(self.get_url(".index_view"))
        return self.render("admin/approval_decide.html", form=form, pending=pending,
                           values=pending.values_dict(), row_url=row_url(pending))


class ApprovalRecordAdmin(RegisterView):
    """审批记录: every approval request of the user's estates, who decided, when and how."""

    permissions = {**READ_ONLY, "list": EVERYONE}
    column_list = ("requested_at", "label", "summary", "requested_by", "state", "decided_by",
                   "decided_at", "how", "note")
    column_filters = ("state", "label", "how", "requested_at", "decided_at")
    column_searchable_list = ("summary", "note")
    column_default_sort = ("requested_at", True)
    column_formatters = {"summary": _row_cell}
    column_details_exclude_list = (*RegisterView.column_details_exclude_list, "payload")


def register(admin, category: str) -> None:
    admin.app.jinja_env.globals["approvals_waiting"] = approvals_waiting
    admin.add_view(ApprovalQueueAdmin(ApprovalRequest, name="待我审批", category=category,
                                      endpoint="approval_queue"))
    admin.add_view(ApprovalRecordAdmin(ApprovalRequest, name="审批记录", category=category,
                                       endpoint="approval"))
    admin.add_view(PinView(name="我的审批PIN", category=category, endpoint="approval_pin"))
