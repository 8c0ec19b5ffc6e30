"""Row actions whose step needs an approver (R-REC-2), for `views.actions.RegisterView`.

A step its model declares in `approvals` (`RowAction(approval="lend")`) is done at once when
the user is the approver (own login) or when an approver standing at the desk types their own
username and password or PIN into the form's 现场审批 fields; otherwise it waits, unchanged,
in the approver's queue (待我审批) — see models/approvals.py.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from wtforms import Form, PasswordField, StringField
from wtforms.validators import Length, Optional

from models import approvals
from models.approval_desk import verify_at_desk
from models.i18n import L_, N_


class DeskApproval(Form):
    """An approver beside the clerk approves on the clerk's screen with their own secret."""

    approver_username = StringField(
        L_("现场审批人用户名"), validators=[Optional(), Length(max=32)],
        description=L_("审批人在场时由其本人输入；留空则提交到审批人的“待我审批”队列"))
    approver_secret = PasswordField(L_("审批人密码或审批PIN"),
                                    validators=[Optional(), Length(max=128)])


DESK_FIELDS = ("approver_username", "approver_secret")
LIMITS = ("LOGIN_MAX_FAILURES", "LOGIN_LOCK_MINUTES", "LOGIN_ADDRESS_MAX_FAILURES",
          "LOGIN_ADDRESS_LOCK_MINUTES")
QUEUED = N_("{title}：已提交审批，等待{approver}在“待我审批”中批准，批准前不生效")
ALREADY_QUEUED = N_("{title}：已在{approver}的“待我审批”队列中，批准前不生效")


class ApprovalStepsMixin:
    """The approval side of a register's row actions."""

    def action_form_class(self, action, row):
        """The action's form, with the desk-approval fields when the user is not the approver."""
        form_class = action.form_class(row)
        user = current_user._get_current_object()
        if form_class is None or not action.approval or approvals.may_approve(
                user, row, action.approval,
                requester=approvals.requester_of(row, action.approval, user)):
            return form_class
        return type(form_class.__name__, (form_class, DeskApproval), {})

    def run_with_approval(self, action, row, form, values: dict):
        """(True, result) once approved now; (False, message) when the step waits instead."""
        user = current_user._get_current_object()
        name = action.approval
        requester = approvals.requester_of(row, name, user)
        if approvals.may_approve(user, row, name, requester=requester):
            return True, approvals.apply_now(row, name, requester, user, values, how="login")
        username = form.approver_username.data if form is not None else ""
        secret = form.approver_secret.data if form is not None else ""
        if username or secret:
            approver = verify_at_desk(
                username, secret, address=request.remote_addr or "-", operator=user,
                limits={key: current_app.config[key] for key in LIMITS})
            return True, approvals.apply_now(row, name, requester, approver, values,
                                             how="desk", operator=user)
        if approvals.ApprovalRequest.pending_for(row, name) is not None \
                and approvals.spec_of(row, name).reject:
            # The row's own approval (a print job, a decoration) waits from its creation.
            return False, ALREADY_QUEUED
        approvals.request(row, name, user, values, try_first=True)
        return False, QUEUED

    def approval_requests(self, row) -> list:
        """The row's approval requests, newest first (its details page lists them)."""
        if not getattr(self.model, "approvals", None):
            return []
        return list(approvals.ApprovalRequest.of_row(row))
