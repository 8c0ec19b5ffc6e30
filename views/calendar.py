"""The office's working-day calendar in the admin (R-DEM-7 deadlines count working days)."""

from __future__ import annotations

from models.calendar import CalendarOverride, CalendarYear
from models.users import MANAGERS
from views.base import SecureModelView


class CalendarOverrideAdmin(SecureModelView):
    """节假日调整: the office's own working days and days off, which win over the package."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("day", "is_workday", "note")
    column_default_sort = ("day", False)
    column_filters = ("day",)


class CalendarYearAdmin(SecureModelView):
    """节假日年度: years whose schedule the office has entered completely (ends the warning)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("year", "note", "created_at")
    column_default_sort = ("year", False)
    form_columns = ("year", "note")


def register(admin, category: str) -> None:
    admin.add_view(CalendarOverrideAdmin(CalendarOverride, name="节假日调整", category=category,
                                         endpoint="calendar"))
    admin.add_view(CalendarYearAdmin(CalendarYear, name="节假日年度", category=category,
                                     endpoint="calendar_year"))
