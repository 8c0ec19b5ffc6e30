"""Shifts, the monthly duty roster, duty directors and the shift log (R-SVC-1/2, R-STAFF-1).

Shifts are data the office edits; the manual's three (09–17, 17–24, 00–08) are the default and
leave 08:00–09:00 uncovered, which the roster shows as a warning instead of silently accepting
it. The roster names the clerks of each shift of each day and one duty director per day (never
two). At each change of shift the outgoing shift writes its hand-over note and the incoming
shift acknowledges it.

Times of day are minutes 0–1440; a shift ending at 00:00 ends at midnight (24:00), and one
ending before it starts runs past midnight into the next day. A month as the 排班表 page shows
it, with its warnings: models/roster_month.py.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import (
    SQL,
    CharField,
    DateField,
    ForeignKeyField,
    IntegerField,
    TextField,
    TimeField,
)

from models.base import AwareDateTimeField, RuleError, check_moment, utcnow, write_transaction
from models.i18n import L_
from models.office import month_days, refuse_changes_after, user_or_none, works_for
from models.register import RegisterModel, StatefulMixin, save_record
from models.users import MANAGERS, User

DAY = 24 * 60
# R-SVC-1 as written in the manual (note the 08:00–09:00 gap).
DEFAULT_SHIFTS = [
    ("白班", dt.time(9, 0), dt.time(17, 0)),
    ("中班", dt.time(17, 0), dt.time(0, 0)),
    ("夜班", dt.time(0, 0), dt.time(8, 0)),
]
ROSTER_ROLES = frozenset({"clerk", "supervisor"})  # who works the desk shifts
DUTY_DIRECTOR_ROLES = frozenset({"director", "supervisor"})  # who can be 值班主任


def minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def clock(m: int) -> str:
    """Minutes since midnight as 08:00 (1440 is 24:00)."""
    return f"{m // 60:02d}:{m % 60:02d}"


def span_text(start: int, end: int) -> str:
    return f"{clock(start)}–{clock(end)}"


def gaps(intervals) -> list[tuple[int, int]]:
    """The parts of a day [0, 1440) that no interval covers."""
    result, reached = [], 0
    for start, end in sorted(intervals):
        if start > reached:
            result.append((reached, start))
        reached = max(reached, end)
    if reached < DAY:
        result.append((reached, DAY))
    return result


class Shift(RegisterModel):
    """A desk shift (班次): name and hours; edited by the office (R-SVC-1)."""

    name = CharField(max_length=16, verbose_name=L_("班次名称"))
    starts = TimeField(formats=["%H:%M:%S", "%H:%M"], verbose_name=L_("开始时间"))
    ends = TimeField(formats=["%H:%M:%S", "%H:%M"], verbose_name=L_("结束时间"),
                     help_text=L_("00:00 表示到夜里 24 点；早于开始时间表示跨过午夜"))
    min_staff = IntegerField(default=1, verbose_name=L_("最少人数"),
                             help_text=L_("排班少于此人数时提醒"))

    class Meta:
        table_name = "shift"
        indexes = ((("estate", "starts"), False),)

    def __str__(self) -> str:
        return f"{self.name} {self.hours}"

    @property
    def hours(self) -> str:
        if self.starts is None or self.ends is None:
            return ""
        end = minutes(self.ends) or DAY
        return span_text(minutes(self.starts), end)

    def spans(self) -> list[tuple[int, int, int]]:
        """(day offset, start, end) in minutes: a shift past midnight covers two days."""
        start, end = minutes(self.starts), minutes(self.ends) or DAY
        if end > start:
            return [(0, start, end)]
        return [(0, start, DAY), (1, 0, end)]

    def validate(self):
        if self.starts is not None and self.ends is not None \
                and minutes(self.starts) == minutes(self.ends):
            yield "ends", gettext("结束时间不能与开始时间相同")
        if self.min_staff is not None and not 0 <= int(self.min_staff) <= 50:
            yield "min_staff", gettext("最少人数应在 0 到 50 之间")
        if self.name and self.estate_id:
            twin = Shift.live(self.estate_id).where(Shift.name == self.name.strip())
            if self.id:
                twin = twin.where(Shift.id != self.id)
            if twin.exists():
                yield "name", gettext("该班次名称已存在")

    @classmethod
    def live(cls, estate_id: int):
        return (cls.select().where(cls.estate == estate_id, cls.voided == False)  # noqa: E712
                .order_by(cls.starts, cls.id))


def ensure_default_shifts(estate_id: int, user) -> list[Shift]:
    """Create the manual's three shifts for an estate that has none yet."""
    with write_transaction():
        existing = list(Shift.live(estate_id))
        if existing:
            return existing
        for name, starts, ends in DEFAULT_SHIFTS:
            save_record(Shift(estate=estate_id, name=name, starts=starts, ends=ends), user)
    return list(Shift.live(estate_id))


def definition_gaps(shifts) -> list[tuple[int, int]]:
    """Hours of every day no shift covers at all (the default shifts leave 08:00–09:00)."""
    return gaps([(start, end) for shift in shifts for _, start, end in shift.spans()])


def _check_staff(estate_id, user_id, roles, field: str, what: str):
    if user_id is None:
        return  # the required-field check speaks for it
    person = user_or_none(user_id)
    if person is None:
        yield field, gettext("请选择%(what)s", what=what)
        return
    if person.role not in roles:
        yield field, gettext("%(display_name)s（%(role_label)s）不能担任%(what)s",
                             display_name=person.display_name, role_label=person.role_label,
                             what=what)
    elif not works_for(person, estate_id):
        yield field, gettext("%(display_name)s 不属于该小区", display_name=person.display_name)


class RosterEntry(RegisterModel):
    """One person on one shift of one day."""

    day = DateField(verbose_name=L_("日期"))
    shift = ForeignKeyField(Shift, backref="entries", on_delete="RESTRICT", verbose_name=L_("班次"))
    staff = ForeignKeyField(User, backref="+", on_delete="RESTRICT", verbose_name=L_("值班客服"))
    notes = CharField(max_length=100, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "roster_entry"
        indexes = ((("estate", "day"), False),)

    def __str__(self) -> str:
        return f"{self.day} {self.shift.name if self.shift_id else ''} " \
               f"{self.staff.display_name if self.staff_id else ''}"

    def validate(self):
        shift = Shift.get_or_none(Shift.id == self.shift_id) if self.shift_id else None
        if shift is not None and shift.estate_id != self.estate_id:
            yield "shift", gettext("所选班次不属于该小区")
        yield from _check_staff(self.estate_id, self.staff_id, ROSTER_ROLES, "staff",
                                gettext("值班客服"))
        if self.day and self.shift_id and self.staff_id:
            twin = RosterEntry.select().where(
                RosterEntry.day == self.day, RosterEntry.shift == self.shift_id,
                RosterEntry.staff == self.staff_id, RosterEntry.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(RosterEntry.id != self.id)
            if twin.exists():
                yield "staff", gettext("该客服员当天已排在这个班次")


class DutyDirector(RegisterModel):
    """The duty director (值班主任) of one day — exactly one (R-SVC-2)."""

    day = DateField(verbose_name=L_("日期"))
    director = ForeignKeyField(User, backref="+", on_delete="RESTRICT", verbose_name=L_("值班主任"))
    phone = CharField(max_length=32, default="", verbose_name=L_("值班电话"))
    notes = CharField(max_length=100, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "duty_director"

    def __str__(self) -> str:
        return f"{self.day} {self.director.display_name if self.director_id else ''}"

    def validate(self):
        yield from _check_staff(self.estate_id, self.director_id, DUTY_DIRECTOR_ROLES,
                                "director", gettext("值班主任"))
        if self.day and self.estate_id:
            twin = DutyDirector.select().where(DutyDirector.estate == self.estate_id,
                                               DutyDirector.day == self.day,
                                               DutyDirector.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(DutyDirector.id != self.id)
            other = twin.first()
            if other is not None:
                yield "day", (gettext("%(day)s 已有值班主任 %(display_name)s，一天只能有一位值班主"
                                      "任",
                                      day=format(self.day, '%Y-%m-%d'),
                                      display_name=other.director.display_name))


# The database says it too (R-SVC-2: never two duty directors on one day); a voided row steps
# aside so a mistake can be entered again.
DutyDirector.add_index(DutyDirector.estate, DutyDirector.day, unique=True,
                       where=SQL("NOT voided"), name="duty_director_one_per_day")
# Nobody is rostered twice on the same shift of the same day.
RosterEntry.add_index(RosterEntry.day, RosterEntry.shift, RosterEntry.staff, unique=True,
                      where=SQL("NOT voided"), name="roster_entry_once_per_shift")


def next_shift(estate_id: int, day: dt.date, shift: Shift) -> tuple[dt.date, Shift] | None:
    """The shift that takes over from `shift` of `day` (by start time, wrapping to tomorrow)."""
    shifts = list(Shift.live(estate_id))
    if shift.id not in [s.id for s in shifts]:
        return None
    index = [s.id for s in shifts].index(shift.id)
    if index + 1 < len(shifts):
        return day, shifts[index + 1]
    return day + dt.timedelta(days=1), shifts[0]


def rostered(estate_id: int, day: dt.date, shift_id: int) -> list[int]:
    return [e.staff_id for e in RosterEntry.select(RosterEntry.staff).where(
        RosterEntry.estate == estate_id, RosterEntry.day == day, RosterEntry.shift == shift_id,
        RosterEntry.voided == False)]  # noqa: E712


class ShiftLog(StatefulMixin, RegisterModel):
    """The hand-over of one shift to the next: the outgoing note, the incoming acknowledgement."""

    day = DateField(verbose_name=L_("日期"))
    shift = ForeignKeyField(Shift, backref="logs", on_delete="RESTRICT",
                            verbose_name=L_("交班班次"))
    written_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("交班人"))
    written_at = AwareDateTimeField(default=utcnow, verbose_name=L_("交班时间"))
    handover_note = TextField(verbose_name=L_("交接事项"),
                              help_text=L_("未办完的事、待回访的业户、钥匙和物品、设备情况等"))
    incoming_day = DateField(null=True, verbose_name=L_("接班日期"))
    incoming_shift = ForeignKeyField(Shift, null=True, backref="+", on_delete="RESTRICT",
                                     verbose_name=L_("接班班次"))
    acknowledged_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                      verbose_name=L_("接班人"))
    acknowledged_at = AwareDateTimeField(null=True, verbose_name=L_("接班确认时间"))
    ack_note = CharField(max_length=200, default="", verbose_name=L_("接班意见"))

    class Meta:
        table_name = "shift_log"
        indexes = ((("estate", "day"), False),)

    def __str__(self) -> str:
        return gettext("%(day)s %(shift)s 交接班", day=self.day,
                       shift=self.shift.name if self.shift_id else "")

    def validate(self):
        shift = Shift.get_or_none(Shift.id == self.shift_id) if self.shift_id else None
        if shift is not None and shift.estate_id != self.estate_id:
            yield "shift", gettext("所选班次不属于该小区")
        if self.day and self.shift_id and self.estate_id:
            twin = ShiftLog.select().where(ShiftLog.estate == self.estate_id,
                                           ShiftLog.day == self.day,
                                           ShiftLog.shift == self.shift_id,
                                           ShiftLog.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(ShiftLog.id != self.id)
            if twin.exists():
                yield "shift", gettext("这个班次当天已有交班记录，请在原记录上补充")
        if self.acknowledged_by_id and self.acknowledged_by_id == self.written_by_id:
            yield "acknowledged_by", gettext("接班确认须由接班人员进行，交班人不能自己确认")

    def before_create(self, user) -> None:
        if user is not None and not self.written_by_id:
            self.written_by = user.id
        following = next_shift(self.estate_id, self.day, self.shift)
        if following is not None:
            self.incoming_day, self.incoming_shift = following[0], following[1].id

    def before_update(self) -> None:
        refuse_changes_after(self, ("handover_note", "day", "shift"),
                             lambda stored: stored.acknowledged_at is not None,
                             gettext("接班人已确认，交接内容不能再修改"))

    def acknowledge(self, user, *, note: str = "", at: dt.datetime | None = None,
                    expected_version: int | None = None) -> None:
        """接班确认 by someone of the incoming shift (or a supervisor), never the writer."""
        self.require_state(doing=gettext("确认"))
        if self.acknowledged_at is not None:
            raise RuleError({"": gettext("该交班记录已经确认")})
        if user is None or user.id == self.written_by_id:
            raise RuleError({"": gettext("接班确认须由接班人员进行，交班人不能自己确认")})
        if self.incoming_shift_id and user.role not in MANAGERS:
            expected = rostered(self.estate_id, self.incoming_day, self.incoming_shift_id)
            if expected and user.id not in expected:
                raise RuleError({"": gettext("您不在 %(incoming_day)s %(name)s 的排班中，只有接班"
                                             "人员或主管可以确认",
                                             incoming_day=format(self.incoming_day, '%Y-%m-%d'),
                                             name=self.incoming_shift.name)})
        at = check_moment(at, field_name="at", label=gettext("确认时间"),
                          not_before=self.written_at,
                          before_label=gettext("交班时间"))
        self.transition(user, expected_version=expected_version, acknowledged_by=user.id,
                        acknowledged_at=at, ack_note=(note or "").strip()[:200])


# One hand-over record per shift and day.
ShiftLog.add_index(ShiftLog.estate, ShiftLog.day, ShiftLog.shift, unique=True,
                   where=SQL("NOT voided"), name="shift_log_once_per_shift")


# --- the month ----------------------------------------------------------------------------


def fill_month(user, estate_id: int, year: int, month: int, *, clerk_ids, per_shift,
               director_ids=()) -> int:
    """Roster a whole month by rotation: `per_shift` clerks on every shift, directors in turn.

    Days or places already rostered are kept; everything is saved in one transaction, so a
    refused row (a clerk of another estate…) leaves the month as it was. Returns rows added.
    """
    shifts = list(Shift.live(estate_id))
    clerks = [int(i) for i in clerk_ids]
    directors = [int(i) for i in director_ids]
    errors = {}
    if not shifts:
        errors[""] = gettext("请先设置班次")
    if not clerks:
        errors["clerks"] = gettext("请选择参加轮班的客服员")
    try:
        per_shift = int(per_shift or 0)
    except (TypeError, ValueError):
        per_shift = 0
    if not 1 <= per_shift <= 20:
        errors["per_shift"] = gettext("每班人数应在 1 到 20 之间")
    if errors:
        raise RuleError(errors)
    added, turn = 0, 0
    with write_transaction():
        for index, day in enumerate(month_days(year, month)):
            for shift in shifts:
                already = set(rostered(estate_id, day, shift.id))
                for _ in range(per_shift):
                    staff_id = clerks[turn % len(clerks)]
                    turn += 1
                    if staff_id in already:
                        continue
                    save_record(RosterEntry(estate=estate_id, day=day, shift=shift.id,
                                            staff=staff_id), user)
                    already.add(staff_id)
                    added += 1
            has_director = DutyDirector.select().where(
                DutyDirector.estate == estate_id, DutyDirector.day == day,
                DutyDirector.voided == False).exists()  # noqa: E712
            if directors and not has_director:
                save_record(DutyDirector(estate=estate_id, day=day,
                                         director=directors[index % len(directors)]), user)
                added += 1
    return added
