"""Batch services in the admin (R-JOB-1/2): owners register for a lock/peephole, intercom or gas
service; the office groups them into a batch on a day, notifies the owners in advance and
records each unit's result.

The rules live in models/batches.py; this module declares both grids and their row actions
(加入登记, 登记提前通知 on a batch; 登记完成情况 on a registration).
"""

from __future__ import annotations

from flask_babel import gettext
from wtforms import Form, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.base import utcnow
from models.batches import NOTICE_METHODS, ServiceBatch, ServiceRegistration, notice_days
from models.i18n import L_
from models.org import Unit
from models.users import DESK
from views.actions import RegisterView, RowAction, add_views
from views.base import SecureModelView
from views.fields import RESIDENT_LOOKUP, UNIT_LOOKUP, date_cell, when_field
from views.forms import choices


class AddToBatchForm(Form):
    registrations = SelectMultipleField(L_("加入的登记"), coerce=int, validate_choice=False,
                                        description=L_("只列出同一服务项目、尚未安排的登记"))


class NoticeForm(Form):
    notice_method = SelectField(L_("通知方式"), choices=choices([("", L_("—— 请选择 ——")),
                                                          *NOTICE_METHODS]),
                                validate_choice=False)
    notice_at = when_field(L_("通知时间"))
    notice_content = StringField(L_("通知内容"), validators=[Optional(), Length(max=200)])


class CompleteUnitForm(Form):
    done = RadioField(L_("结果"),
                      choices=choices([("1", L_("已完成")), ("0", L_("未完成（退回待安排）"))]),
                      default="1", validators=[InputRequired(L_("请选择结果"))],
                      validate_choice=False)
    result = StringField(L_("完成情况/未完成原因"), validators=[Optional(), Length(max=200)])
    at = when_field(L_("完成时间"))


def _offer_pending(view, row, form):
    """Registrations of the same service not yet in a batch."""
    pending = (ServiceRegistration.select().join(Unit)
               .where(ServiceRegistration.estate == row.estate_id,
                      ServiceRegistration.kind == row.kind,
                      ServiceRegistration.state == "registered",
                      ServiceRegistration.voided == False)  # noqa: E712
               .order_by(Unit.code))
    form.registrations.choices = choices([(r.id, f"{r.unit.code} {r.contact_name}")
                                          for r in pending])


def _notice_values(form) -> dict:
    return {"method": form.notice_method.data, "at": form.notice_at.data,
            "content": form.notice_content.data}


class ServiceBatchAdmin(RegisterView):
    """其他工作·批次: lock/peephole and intercom on Saturdays and Sundays, gas with the gas
    company's appointment; owners notified in advance; results per unit (R-JOB-1/2)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    details_extra = "admin/office_batch_units.html"
    column_list = ("number", "kind", "day", "team", "state", "notice_method", "notice_at",
                   "gas_company", "gas_appointment")
    column_filters = ("kind", "state", "day")
    column_searchable_list = ("number", "team", "gas_appointment")
    column_number_search = {"PL": "number"}
    column_default_sort = ("day", True)
    column_formatters = {"day": date_cell}
    form_create_columns = ("estate", "kind", "day", "team", "gas_company", "gas_appointment",
                           "gas_contact", "notes")
    form_edit_columns = ("day", "team", "gas_company", "gas_appointment", "gas_contact",
                         "notes")
    row_actions = (
        RowAction("add", L_("加入登记"), "add", form=AddToBatchForm, when=("planned", "notified"),
                  permission="handle", title=lambda row, form: gettext("加入批次 %(row)s", row=row),
                  prepare=_offer_pending, versioned=False,
                  values=lambda form: {"registration_ids": form.registrations.data}),
        # 提前通知业户: how and when, at least the configured number of days before.
        RowAction("notice", L_("登记提前通知"), "record_notice", form=NoticeForm, when=("planned",),
                  permission="handle", css="btn-info", values=_notice_values),
    )

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if "day" in form:
            form.day.description = gettext("锁芯/猫眼和可视对讲只能安排在周六、周日；须至少提前 "
                                           "%(days)s 天通知业户",
                                           days=notice_days())
        return form


class ServiceRegistrationAdmin(RegisterView):
    """其他工作·业主登记: who registered for which service; its batch and result per unit."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    column_list = ("kind", "unit", "contact_name", "contact_phone", "registered_at", "state",
                   "batch", "done_at", "result")
    column_filters = ("kind", "state", "batch", "registered_at")
    column_searchable_list = ("contact_name", "contact_phone", Unit.code)
    column_default_sort = ("registered_at", True)
    form_create_columns = ("estate", "kind", "unit", "resident", "contact_name",
                           "contact_phone", "registered_at", "notes")
    form_edit_columns = ("contact_name", "contact_phone", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "resident": RESIDENT_LOOKUP}
    create_defaults = {"registered_at": utcnow}
    row_actions = (
        # 完成情况 of this unit on the batch day (not done: back to the queue).
        RowAction("complete", L_("登记完成情况"), "complete", form=CompleteUnitForm,
                  when=("scheduled",), permission="handle", css="btn-success",
                  values=lambda form: {"done": {"1": True, "0": False}.get(form.done.data),
                                       "result": form.result.data, "at": form.at.data}),
    )


def register(admin, category: str) -> None:
    add_views(admin, category,
              (ServiceRegistrationAdmin, ServiceRegistration, "锁芯/对讲/燃气登记",
               "service_registration"),
              (ServiceBatchAdmin, ServiceBatch, "统一施工批次", "service_batch"))
