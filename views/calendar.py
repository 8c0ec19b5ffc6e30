"""The working-day calendar in the admin (R-DEM-7 deadlines count working days), per scope (#11):
the company-wide official schedule (admins) and each estate's own closures (its supervisors and
directors). Everyone sees the company-wide rows and their own estates' rows."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from models.calendar import CalendarOverride, CalendarYear
from models.i18n import L_
from models.users import MANAGERS
from views.base import SecureModelView


class CalendarOverrideAdmin(SecureModelView):
    """节假日调整: the company's holidays and make-up days, and an estate's own closures."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("day", "estate", "is_workday", "note")
    column_default_sort = ("day", False)
    column_filters = ("day", "estate")
    column_labels = {"estate": L_("适用范围")}
    column_formatters = {"estate": lambda v, c, m, n: m.scope_label}
    form_columns = ("estate", "day", "is_workday", "note")

    def scoped_query(self):
        query = CalendarOverride.select()
        if current_user.role != "admin":
            query = query.where(CalendarOverride.estate.is_null()
                                | CalendarOverride.estate.in_(current_user.estate_ids()))
        return query

    def create_form(self, obj=None):
        form = super().create_form(obj)
        # Empty scope means company-wide (not "the user's only estate", the base default):
        # what an admin starts from, and what a posted empty choice says.
        if (request.method == "GET" and current_user.role == "admin") \
                or (request.method == "POST" and not request.form.get("estate")):
            form.estate.data = None
        return form

    def before_save(self, model, *, is_created: bool) -> None:
        stored = None if is_created else CalendarOverride.get_by_id(model.id).estate_id
        model.check_editor(current_user._get_current_object(), stored, is_new=is_created)


class CalendarYearAdmin(SecureModelView):
    """节假日年度: years whose schedule the company has entered completely (ends the warning)."""

    # The official schedule is company-wide: only admins mark a year complete (#11 item 6).
    permissions = {**SecureModelView.permissions, "create": frozenset({"admin"}),
                   "edit": frozenset({"admin"})}
    column_list = ("year", "note", "created_at")
    column_default_sort = ("year", False)
    form_columns = ("year", "note")


def register(admin, category: str) -> None:
    admin.add_view(CalendarOverrideAdmin(CalendarOverride, name="节假日调整", category=category,
                                         endpoint="calendar"))
    admin.add_view(CalendarYearAdmin(CalendarYear, name="节假日年度", category=category,
                                     endpoint="calendar_year"))
