"""The overdue sweep's rules beyond the demand loop, one module per register area (issue #15).

Each module holds plain query functions `query(now)` → the register's rows overdue at `now`,
set-based like the demand rules in jobs/overdue.py, which keeps the one RULES table. Settings
the manual gives no number for are app config (`setting`), documented in the README.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from peewee import Model

from models.base import office_tz, to_office


def setting(name: str, default):
    """An app setting inside the app (the scheduler, a view), else the default (bench, shell)."""
    return current_app.config.get(name, default) if has_app_context() else default


def hours_setting(name: str, default: float) -> dt.timedelta:
    return dt.timedelta(hours=float(setting(name, default)))


def days_setting(name: str, default: int) -> int:
    return int(setting(name, default))


def not_voided(model: type[Model]):
    """Live rows, in a form the planner does not mistake for a selective index.

    As `voided = FALSE` it is an indexed equality that SQLite's planner prefers over the
    rules' own indexes (state, deadline): every sweep then reads every live row.
    """
    return model.voided != True  # noqa: E712


def office_today(now: dt.datetime) -> dt.date:
    return to_office(now).date()


def office_midnight(day: dt.date) -> dt.datetime:
    """The office-local start of `day`, as an aware moment."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=office_tz())
