"""Tenancies and ownership transfers in the admin (R-STAFF-2): the tenant joins the unit's
residents with the lease and leaves it on moving out; a transfer moves the old owner out and
registers the new one.

The rules live in models/tenancy.py; the lease's one row action is 登记退租.
"""

from __future__ import annotations

from wtforms import DateField, Form
from wtforms.validators import Optional

from models.i18n import L_
from models.org import Unit
from models.tenancy import OwnershipTransfer, Tenancy
from models.users import DESK
from views.actions import RegisterView, RowAction, add_views
from views.base import SecureModelView
from views.fields import DATE_FORMAT, RESIDENT_LOOKUP, UNIT_LOOKUP, date_cell


class EndTenancyForm(Form):
    on = DateField(L_("退租日期"), validators=[Optional()], format=DATE_FORMAT,
                   description=L_("留空为今天"))


class TenancyAdmin(RegisterView):
    """租户/出租登记: tenant, unit, period, contract; the tenant joins the unit's residents
    (R-STAFF-2)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    column_list = ("unit", "tenant_name", "tenant_phone", "id_number", "starts", "ends",
                   "contract_number", "ended_on")
    column_filters = ("starts", "ends", "ended_on")
    column_searchable_list = ("tenant_name", "contract_number", Unit.code)
    column_default_sort = ("starts", True)
    column_formatters = {"starts": date_cell, "ends": date_cell, "ended_on": date_cell}
    form_create_columns = ("estate", "unit", "landlord", "tenant_name", "tenant_phone",
                           "doc_type", "id_number", "starts", "ends", "contract_number", "notes")
    form_edit_columns = ("tenant_phone", "ends", "contract_number", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "landlord": RESIDENT_LOOKUP}
    row_actions = (
        # 退租: the tenant moves out of the unit's residents.
        RowAction("end", L_("登记退租"), "end", form=EndTenancyForm,
                  when=lambda row: row.ended_on is None, permission="handle", css="btn-warning"),
    )


class OwnershipTransferAdmin(RegisterView):
    """过户登记: from, to, date, documents; the old owner moves out and the new one is
    registered (R-STAFF-2)."""

    column_list = ("unit", "from_owner", "to_name", "to_phone", "transfer_date", "documents",
                   "new_owner")
    column_filters = ("transfer_date",)
    column_searchable_list = ("to_name", Unit.code)
    column_default_sort = ("transfer_date", True)
    column_formatters = {"transfer_date": date_cell,
                         "documents": lambda v, c, m, n: (m.documents or "")[:30]}
    form_create_columns = ("estate", "unit", "from_owner", "to_name", "to_phone", "doc_type",
                           "id_number", "transfer_date", "documents", "notes")
    form_edit_columns = ("to_phone", "documents", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "from_owner": RESIDENT_LOOKUP}


def register(admin, category: str) -> None:
    add_views(admin, category,
              (TenancyAdmin, Tenancy, "租户/出租登记", "tenancy"),
              (OwnershipTransferAdmin, OwnershipTransfer, "过户登记", "ownership_transfer"))
