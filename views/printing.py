"""The printing log in the admin (R-PRINT-1): a department's job, approved by its supervisor,
printed and signed for; pages per month and department, and the month's log for the file.

The rules live in models/printing.py; this module declares the grid, the row actions (审批,
登记打印并签收) and the monthly pages.
"""

from __future__ import annotations

from flask import abort, request
from flask_admin import expose
from wtforms import BooleanField, Form, StringField
from wtforms.validators import InputRequired, Length, Optional

from models import approvals
from models.approvals import ApprovalRequest
from models.base import office_day, to_office, utcnow
from models.i18n import L_
from models.office import parse_month, this_month
from models.printing import PrintJob
from views.actions import RegisterView, RowAction, add_views, current
from views.base import SecureModelView
from views.fields import DESK_AND_DEPT, chosen_estate, when_field


class ApprovePrintForm(Form):
    note = StringField(L_("审批意见"), validators=[Optional(), Length(max=200)])
    at = when_field(L_("审批时间"))


class RefusePrintForm(Form):
    note = StringField(L_("不批准原因"), validators=[InputRequired(L_("不批准时请填写原因")),
                                              Length(max=200)])


class PrintedForm(Form):
    signed_name = StringField(L_("签收人"), validators=[Optional(), Length(max=32)],
                              description=L_("领取文件的人"))
    confirmed = BooleanField(L_("签收人已在打印登记簿上签名"))
    printed_at = when_field(L_("打印时间"))


def _approver_here(row) -> bool:
    """The row's approver is the one logged in (不批准 is their own act, R-REC-2)."""
    return row.state == "requested" and approvals.may_approve(
        current(), row, "approve", requester=row.requested_by)


def _refuse(row, user, *, note: str):
    pending = ApprovalRequest.pending_for(row, "approve")
    if pending is None:
        return row.refuse(user, note=note)
    return approvals.reject(pending, user, note=note)


class PrintJobAdmin(RegisterView):
    """文件打印登记: a department's job, approved by its supervisor, printed and signed for
    (R-PRINT-1); monthly pages per department."""

    # 审批 is open to the desk for an approver standing beside the clerk (R-REC-2); the model
    # and models.approvals decide who approves.
    permissions = {**SecureModelView.permissions, "create": DESK_AND_DEPT,
                   "edit": DESK_AND_DEPT, "approve": DESK_AND_DEPT, "print_job": DESK_AND_DEPT}
    endpoint_actions = {"monthly_view": "list", "month_print_view": "list"}
    list_template = "admin/office_print_list.html"
    column_list = ("number", "requested_at", "department", "title", "copies", "pages",
                   "total_pages", "requested_by", "state", "approved_by", "printed_at",
                   "signed_name")
    column_filters = ("state", "department", "requested_at", "printed_at")
    column_searchable_list = ("number", "title", "signed_name")
    column_number_search = {"DY": "number"}
    column_default_sort = ("requested_at", True)
    form_create_columns = ("estate", "department", "title", "copies", "pages", "notes")
    form_edit_columns = ("department", "title", "copies", "pages", "notes")
    row_actions = (
        # 审批: the department's supervisor, the director or the admin, never the requester: in
        # their own login (here or 待我审批) or at the desk with their password/PIN (R-PRINT-1).
        RowAction("approve", L_("审批"), "approve", form=ApprovePrintForm, when=("requested",),
                  permission="approve", title=L_("打印审批"), approval="approve",
                  done=L_("{title}：已批准")),
        RowAction("refuse", L_("不批准"), _refuse, form=RefusePrintForm, when=_approver_here,
                  permission="approve", css="btn-outline-secondary", title=L_("打印不批准"),
                  versioned=False, done=L_("{title}：已记录")),
        # 打印并签收: only an approved job.
        RowAction("printed", L_("登记打印并签收"), "mark_printed", form=PrintedForm,
                  when=("approved",), permission="print_job", css="btn-success",
                  title=L_("登记打印")),
    )

    @expose("/monthly/")
    def monthly_view(self):
        """Pages printed per month and department in a year."""
        estate, estates = chosen_estate()
        if estate is None:
            abort(404)
        year = request.args.get("year", type=int) or office_day().year
        return self.render("admin/office_print_monthly.html", estate=estate, estates=estates,
                           year=year, report=PrintJob.monthly_pages([estate.id], year))

    @expose("/monthly/print/")
    def month_print_view(self):
        """The month's printing log by department, for the file (A4)."""
        estate, _ = chosen_estate()
        if estate is None:
            abort(404)
        year, month = parse_month(request.args.get("month")) or this_month()
        groups = PrintJob.month_log(estate.id, year, month)
        return self.render("admin/office_print_month_print.html", estate=estate, year=year,
                           month=month, groups=groups, total=sum(g[2] for g in groups),
                           now=to_office(utcnow()))


def register(admin, category: str) -> None:
    add_views(admin, category, (PrintJobAdmin, PrintJob, "文件打印登记", "print_job"))
