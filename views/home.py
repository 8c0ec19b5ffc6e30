"""The admin home page: the user's estates, what they hold, and calendar warnings."""

from __future__ import annotations

import datetime as dt

from flask_admin import expose
from flask_login import current_user

from models import deadlines
from models.base import to_office, utcnow
from models.org import Resident, Unit
from views.base import SecureIndexView


def calendar_warnings(today: dt.date) -> list[str]:
    """Years around today whose working days fall back to Monday–Friday (R-DEM-7 deadlines)."""
    years = [today.year, today.year + 1]
    overridden = {d.year for d in deadlines.get_overrides()}
    missing = [y for y in deadlines.years_without_data(years) if y not in overridden]
    warning = deadlines.fallback_warning(missing) if missing else None
    return [warning] if warning else []


class HomeView(SecureIndexView):
    @expose("/")
    def index(self):
        today = to_office(utcnow()).date()
        estates = []
        for estate in current_user.estates():
            estates.append({
                "estate": estate,
                "units": Unit.select().where(Unit.estate == estate,
                                             Unit.voided == False).count(),  # noqa: E712
                "residents": Resident.select().where(Resident.estate == estate,
                                                     Resident.voided == False).count(),  # noqa: E712
            })
        return self.render("admin/home.html", estates=estates, today=today,
                           warnings=calendar_warnings(today))
