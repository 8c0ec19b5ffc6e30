"""The printing log in the admin (R-PRINT-1): a department's job, approved by its supervisor,
printed and signed for; pages per month and department, and the month's log for the file.

The rules live in models/printing.py; this module declares the grid, the row actions (审批,
登记打印并签收) and the monthly pages.
"""

from __future__ import annotations

from flask import abort, request
from flask_admin import expose
from wtforms import BooleanField, Form, RadioField, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.base import office_day, to_office, utcnow
from models.office import parse_month, this_month
from models.printing import PrintJob
from models.users import MANAGERS
from views.actions import RegisterView, RowAction, add_views
from views.base import SecureModelView
from views.fields import DESK_AND_DEPT, chosen_estate, when_field
from views.forms import choices

# The action forms leave choice checking to the models (validate_choice=False): the model's
# Chinese message then sits next to the field instead of wtforms' English "Not a valid choice".


class ApprovePrintForm(Form):
    decision = RadioField("审批", choices=choices([("1", "同意打印"), ("0", "不同意")]),
                          default="1", validators=[InputRequired("请选择是否同意")],
                          validate_choice=False)
    note = StringField("审批意见", validators=[Optional(), Length(max=200)],
                       description="不同意时请填写原因")
    at = when_field("审批时间")


class PrintedForm(Form):
    signed_name = StringField("签收人", validators=[Optional(), Length(max=32)],
                              description="领取文件的人")
    confirmed = BooleanField("签收人已在打印登记簿上签名")
    printed_at = when_field("打印时间")


def _approve_values(form) -> dict:
    return {"approved": form.decision.data == "1", "note": form.note.data, "at": form.at.data}


class PrintJobAdmin(RegisterView):
    """文件打印登记: a department's job, approved by its supervisor, printed and signed for
    (R-PRINT-1); monthly pages per department."""

    permissions = {**SecureModelView.permissions, "create": DESK_AND_DEPT,
                   "edit": DESK_AND_DEPT, "approve": MANAGERS, "print_job": DESK_AND_DEPT}
    endpoint_actions = {"monthly_view": "list", "month_print_view": "list"}
    list_template = "admin/office_print_list.html"
    column_list = ("number", "requested_at", "department", "title", "copies", "pages",
                   "total_pages", "requested_by", "state", "approved_by", "printed_at",
                   "signed_name")
    column_filters = ("state", "department", "requested_at", "printed_at")
    column_searchable_list = ("number", "title", "signed_name")
    column_default_sort = ("requested_at", True)
    form_create_columns = ("estate", "department", "title", "copies", "pages", "notes")
    form_edit_columns = ("department", "title", "copies", "pages", "notes")
    row_actions = (
        # 审批: the department's supervisor or above, never the requester.
        RowAction("approve", "审批", "approve", form=ApprovePrintForm, when=("requested",),
                  permission="approve", title="打印审批", values=_approve_values),
        # 打印并签收: only an approved job.
        RowAction("printed", "登记打印并签收", "mark_printed", form=PrintedForm,
                  when=("approved",), permission="print_job", css="btn-success",
                  title="登记打印"),
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
