"""A month of the roster as the 排班表 page shows it: who is on each shift of each day, the duty
director, and the warnings (uncovered hours, short shifts, days without a director) (R-SVC-1/2).

Read-only questions over models/roster.py; the rules and the writes stay there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask_babel import gettext

from models.office import month_days, staff_of
from models.roster import (
    DUTY_DIRECTOR_ROLES,
    ROSTER_ROLES,
    DutyDirector,
    RosterEntry,
    Shift,
    definition_gaps,
    gaps,
    span_text,
)
from models.users import User


def month_coverage(estate_id: int, year: int, month: int) -> dict:
    """The roster of a month with its warnings (R-SVC-1/2).

    Returns shifts, the hours no shift definition covers, and per day: who is on each shift,
    the duty director, the uncovered hours (shifts nobody works count as uncovered) and the
    shifts below their minimum staff; plus the warnings in words.
    """
    shifts = list(Shift.live(estate_id))
    days = month_days(year, month)
    first, last = days[0], days[-1]
    staffed: dict[tuple[dt.date, int], list[str]] = defaultdict(list)
    entries = (RosterEntry.select(RosterEntry, User)
               .join(User, on=(RosterEntry.staff == User.id))
               .where(RosterEntry.estate == estate_id, RosterEntry.voided == False,  # noqa: E712
                      RosterEntry.day >= first - dt.timedelta(days=1), RosterEntry.day <= last)
               .order_by(User.display_name))
    for entry in entries:
        staffed[(entry.day, entry.shift_id)].append(entry.staff.display_name)
    directors = {d.day: d for d in DutyDirector.select(DutyDirector, User).join(
        User, on=(DutyDirector.director == User.id)).where(
        DutyDirector.estate == estate_id, DutyDirector.voided == False,  # noqa: E712
        DutyDirector.day >= first, DutyDirector.day <= last)}
    by_definition = definition_gaps(shifts)
    rows = []
    for day in days:
        covered = [(start, end) for shift in shifts for offset, start, end in shift.spans()
                   if staffed.get((day - dt.timedelta(days=offset), shift.id))]
        director = directors.get(day)
        rows.append({
            "day": day,
            "by_shift": {s.id: staffed.get((day, s.id), []) for s in shifts},
            "director": director.director.display_name if director else None,
            "gaps": gaps(covered),
            "gap_text": [span_text(*g) for g in gaps(covered)],
            "short": [s.name for s in shifts if len(staffed.get((day, s.id), [])) < s.min_staff],
        })
    return {"year": year, "month": month, "shifts": shifts, "definition_gaps": by_definition,
            "days": rows, "warnings": coverage_warnings(shifts, by_definition, rows)}


def coverage_warnings(shifts, by_definition, rows) -> list[str]:
    warnings = []
    if not shifts:
        warnings.append(gettext("尚未设置班次：全天无人值班"))
    elif by_definition:
        spans = "、".join(span_text(*g) for g in by_definition)
        warnings.append(gettext("班次设置未覆盖 %(spans)s：每天这段时间客服中心无人值班（R-SVC-1 要"
                                "求 24 小时值班），请调整班次", spans=spans))
    no_director = [r["day"] for r in rows if r["director"] is None]
    if no_director:
        warnings.append(gettext("%(count)s 天没有值班主任：%(days)s", count=len(no_director),
                                days=gettext("、").join(gettext("%(day)s日", day=d.day)
                                                        for d in no_director)))
    for row in rows:
        extra = [g for g in row["gaps"] if g not in by_definition]
        if extra and shifts:
            warnings.append(gettext("%(month)s月%(day)s日 无人值班：%(spans)s",
                                    month=row["day"].month, day=row["day"].day,
                                    spans="、".join(span_text(*g) for g in extra)))
        elif row["short"]:
            warnings.append(gettext("%(month)s月%(day)s日 人数不足：%(shifts)s",
                                    month=row["day"].month, day=row["day"].day,
                                    shifts="、".join(row["short"])))
    return warnings


def roster_candidates(estate_id: int) -> tuple[list[User], list[User]]:
    """(clerks, duty directors) an estate can roster."""
    return staff_of(estate_id, ROSTER_ROLES), staff_of(estate_id, DUTY_DIRECTOR_ROLES)
