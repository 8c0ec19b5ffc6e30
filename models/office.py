"""What the office's other registers share (issue #5): staff checks, months, settings, and
turning something heard from an owner into a demand.

The registers themselves live one per module: printing, emergencies, guide, movein, batches,
roster, surveys, committee, tenancy. Demo rows: demo/office.py, demo/community.py.
"""

from __future__ import annotations

import calendar
import datetime as dt

from flask import current_app, has_app_context
from flask_babel import gettext

from models.base import RuleError, office_tz, utcnow, write_transaction
from models.demands import CATEGORIES, KINDS, Demand
from models.register import StatefulMixin, save_record
from models.users import User, UserEstate


def setting(name: str, default):
    """An app setting when running inside the app (views, jobs), else the default (scripts)."""
    return current_app.config.get(name, default) if has_app_context() else default


def works_for(user: User | None, estate_id: int | None) -> bool:
    """Whether a staff account belongs to an estate (the system admin belongs to every one)."""
    if user is None or estate_id is None:
        return False
    if user.role == "admin":
        return True
    return UserEstate.select().where(UserEstate.user == user.id,
                                     UserEstate.estate == estate_id).exists()


def staff_of(estate_id: int, roles) -> list[User]:
    """Active accounts of an estate with one of `roles`, by name (pick-lists and checks)."""
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate_id)
    return list(User.select().where(User.active == True, User.role.in_(sorted(roles)),  # noqa: E712
                                    User.id.in_(linked)).order_by(User.display_name))


def user_or_none(user_id) -> User | None:
    return User.get_or_none(User.id == user_id) if user_id else None


def refuse_changes_after(instance, frozen: tuple[str, ...], locked, message: str) -> None:
    """Refuse an edit of `frozen` fields once the stored row is `locked(stored)` (e.g. approved).

    Called from before_update: the stored row, not the form, says what was already signed off.
    """
    if instance._pk is None:
        return
    stored = type(instance).get_or_none(type(instance)._meta.primary_key == instance._pk)
    if stored is None or not locked(stored):
        return
    changed = [name for name in frozen if getattr(stored, name) != getattr(instance, name)]
    if changed:
        raise RuleError({changed[0]: message})


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_days(year: int, month: int) -> list[dt.date]:
    last = calendar.monthrange(year, month)[1]
    return [dt.date(year, month, d) for d in range(1, last + 1)]


def month_range(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of an office-local month as aware moments, for indexed time queries."""
    start = dt.datetime(year, month, 1, tzinfo=office_tz())
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=office_tz())
    return start, end


def parse_month(text: str | None) -> tuple[int, int] | None:
    """"2026-11" → (2026, 11); anything else → None."""
    try:
        year, month = (int(part) for part in (text or "").strip().split("-"))
    except ValueError:
        return None
    if 2000 <= year <= 2100 and 1 <= month <= 12:
        return year, month
    return None


def this_month() -> tuple[int, int]:
    """The office's current (year, month)."""
    today = utcnow().astimezone(office_tz()).date()
    return today.year, today.month


class DemandSource(StatefulMixin):
    """A row where an owner raised something (a survey visit's need, a committee item) that
    the clerk turns into a demand with one action, linked back both ways.

    The demand is created through save_record like any other (its number, deadline, history),
    and the link is saved in the same transaction: either both exist or neither does.
    """

    demand_channel = "proactive"  # R-DEM-1 channel the demand is recorded under

    def demand_text(self) -> str:
        raise NotImplementedError

    def demand_unit_ids(self) -> tuple[int | None, int | None]:
        """(unit id, resident id) the demand concerns, if known."""
        return None, None

    def to_demand(self, user, *, kind: str, category: str, description: str = "",
                  expected_version: int | None = None):
        self.require_state(doing=gettext("转为需求"))
        if self.demand_id:
            raise RuleError({"": gettext("已转为业户需求 %(number)s，不能重复转入",
                                         number=self.demand.number)})
        errors = {}
        if kind not in dict(KINDS):
            errors["kind"] = gettext("请选择需求类型")
        if category not in dict(CATEGORIES):
            errors["category"] = gettext("请选择需求类别")
        text = (description or self.demand_text() or "").strip()
        if not text:
            errors["description"] = gettext("没有可转为需求的内容，请填写需求内容")
        if errors:
            raise RuleError(errors)
        unit_id, resident_id = self.demand_unit_ids()
        with write_transaction():
            demand = Demand(estate=self.estate_id, channel=self.demand_channel, kind=kind,
                            category=category, unit=unit_id, resident=resident_id,
                            description=text, received_at=utcnow())
            save_record(demand, user)
            self.transition(user, expected_version=expected_version, demand=demand.id)
        return demand
