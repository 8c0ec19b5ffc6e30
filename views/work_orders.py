"""Work orders in the admin (R-DEM-8): the department's list, its row actions (登记到场,
完工登记, 回访) and the printed slip.

The rules live in models/work_orders.py; a demand's order is called back on its demand.
"""

from __future__ import annotations

from flask import g, redirect, request
from wtforms import Form, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.attachments import Attachment, photos
from models.callbacks import callback_work_order
from models.i18n import L_
from models.users import DESK, EVERYONE, MANAGERS, may_reassign
from models.work_orders import OPEN_FIRST, WorkOrder
from views.actions import RegisterView, RowAction
from views.base import SecureModelView
from views.callbacks import CallbackForm, callback_values
from views.fields import DESK_AND_DEPT, department_staff_choices
from views.forms import LocalDateTimeField
from views.scoping import may_act_on


class OrderCompleteForm(Form):
    completed_at = LocalDateTimeField(L_("完工时间"), validators=[Optional()],
                                      description=L_("留空表示现在"))
    result = TextAreaField(L_("完成情况"), validators=[InputRequired(L_("请填写完成情况")),
                                                Length(max=2000)])
    materials = StringField(L_("用料"), validators=[Optional(), Length(max=200)])
    cost = StringField(L_("费用(元)"), validators=[Optional()])


class ReassignForm(Form):
    # The model says in Chinese why a person cannot take the order (another department…).
    assignee_id = SelectField(L_("改派给"), coerce=int, validate_choice=False)


def _offer_department_staff(view, row, form):
    """Only people of the order's estate and department (#11 item 5; the model refuses others)."""
    form.assignee_id.choices = department_staff_choices(row.estate_id, row.department_kind)
    if request.method == "GET":
        form.assignee_id.data = row.assignee_id or 0


def _may_reassign(row, user) -> bool:
    return may_reassign(user, row.department_kind)


def _callback_on_demand(view, row, form):
    """An order of a demand is called back on the demand (R-DEM-9)."""
    if row.demand_id:
        return redirect(view.get_url("demand.callback_view", id=row.demand_id))
    return None


class WorkOrderAdmin(RegisterView):
    """维修单: department staff see their own department's open orders first (R-DEM-8)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS,
                   "handle": DESK_AND_DEPT, "callback": DESK, "print": EVERYONE,
                   "reassign": MANAGERS | {"dept"}}
    # Department staff see and act on their own department's orders only (R-REC-4).
    department_scoped = True
    user_fields = {"assignee": frozenset({"dept"})}
    # #16: before/after photos and the owner's signature, added by the department on site.
    attachment_kinds = (photos("before", L_("维修前照片"), permission="handle"),
                        photos("after", L_("完工照片"), permission="handle"),
                        photos("signature", L_("业主签字"), max_mb=2, permission="handle"))
    print_template = "admin/work_order_print.html"
    print_label = L_("打印维修单")
    row_actions = (
        RowAction("arrive", L_("登记到场"), "record_arrival", when=("open",), permission="handle",
                  allowed=may_act_on, css="btn-info", done=L_("{row.number} 已登记到场")),
        RowAction("complete", L_("完工登记"), "complete", form=OrderCompleteForm,
                  when=("open", "arrived"), permission="handle", allowed=may_act_on,
                  css="btn-success"),
        # 改派: the department's supervisor (or the desk's managers), within the department.
        RowAction("reassign", L_("改派"), "reassign", form=ReassignForm, when=("open", "arrived"),
                  permission="reassign", allowed=_may_reassign, prepare=_offer_department_staff,
                  css="btn-outline-secondary", title=L_("改派维修人员"),
                  values=lambda form: {"assignee_id": form.assignee_id.data or None}),
        # Stand-alone orders only (the model says so too); the version is not checked, as
        # before: a callback adds a row and marks the order, it does not edit what was seen.
        RowAction("callback", L_("回访"), callback_work_order, form=CallbackForm,
                  when=lambda row: row.state == "completed" and not row.callback_done,
                  permission="callback", css="btn-warning", prepare=_callback_on_demand,
                  values=callback_values, versioned=False),
    )
    column_list = ("number", "dispatched_at", "department", "what", "location", "assignee",
                   "state", "arrived_at", "completed_at", "needs_callback", "demand")
    column_filters = ("state", "department", "needs_callback", "callback_done", "dispatched_at")
    column_searchable_list = ("number", "what", "location")
    column_number_search = {"WX": "number"}
    column_sortable_list = ("number", "dispatched_at", "state", "completed_at")
    column_formatters = {"what": lambda v, c, m, n: (m.what or "")[:30]}
    form_columns = ("estate", "department", "what", "location", "assignee", "dispatched_at")

    def print_args(self, row) -> dict:
        # #16: the owner's signature drawn on the phone prints on the slip.
        return {"signatures": list(Attachment.of(row, ["signature"]))}

    def get_query(self):
        query = super().get_query()
        if not self.sort_chosen():
            # Open orders first, newest dispatched first (department staff see their own
            # department's orders only: department_scoped). OPEN_FIRST is the expression
            # migration 025 indexes (#14). A number searched names a row or a few, sorted in a
            # moment: there the indexed order would lead SQLite, without statistics, to walk
            # the whole list index instead of the number's.
            order = [WorkOrder.state == "completed" if g.get("number_search") else OPEN_FIRST]
            query = query.order_by(*order, WorkOrder.dispatched_at.desc())
        return query


def register(admin, category: str) -> None:
    admin.add_view(WorkOrderAdmin(WorkOrder, name="维修单", category=category,
                                  endpoint="work_order"))
