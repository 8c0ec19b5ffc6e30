"""The office's working-day calendar in the admin (R-DEM-7 deadlines count working days)."""

from __future__ import annotations

from models.calendar import CalendarOverride
from models.users import MANAGERS
from views.base import SecureModelView


class CalendarOverrideAdmin(SecureModelView):
    """节假日调整: the office's own working days and days off, which win over the package."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    column_list = ("day", "is_workday", "note")
    column_default_sort = ("day", False)
    column_filters = ("day",)


def register(admin, category: str) -> None:
    admin.add_view(CalendarOverrideAdmin(CalendarOverride, name="节假日调整", category=category,
                                         endpoint="calendar"))
