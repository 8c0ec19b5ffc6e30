"""Working-day overrides (节假日调整) per scope, and per-estate numbering.

The official calendar comes from `chinesecalendar`; when the State Council publishes a year the
package does not know yet (FINDINGS: 2027 is missing), the company enters its holidays and
make-up working days here and they win (SPEC "Deadline arithmetic"). Scope (#11 item 6):

* a row without an estate is the company-wide official schedule; only admins edit it;
* a row with an estate is that estate's own dated closure (a day off); it applies to that estate
  alone, and only that estate's supervisors and directors (or an admin) enter it.

Every change is audited with its estate (none for the company-wide table), so the supervisors it
affects see it in the audit log.
"""

from __future__ import annotations

from flask_babel import gettext
from peewee import SQL, BooleanField, CharField, DateField, ForeignKeyField, IntegerField

from models import deadlines
from models.base import BaseModel, RuleError, VersionedModel, write_transaction
from models.estate import Estate
from models.i18n import L_
from models.users import MANAGERS, UserEstate

COMPANY_WIDE = L_("全公司（国家法定节假日及调休）")


def may_edit_calendar(user, estate_id: int | None) -> bool:
    """Admins keep the company-wide table; an estate's supervisor or director its closures."""
    if user is None:
        return False
    if user.role == "admin":
        return True
    if estate_id is None or user.role not in MANAGERS:
        return False
    return UserEstate.select().where(UserEstate.user == user.id,
                                     UserEstate.estate == estate_id).exists()


class CalendarOverride(VersionedModel):
    """One dated exception to the official calendar: company-wide, or one estate's closure."""

    estate = ForeignKeyField(Estate, null=True, backref="+", on_delete="CASCADE",
                             verbose_name=L_("适用范围"),
                             help_text=L_("留空＝全公司（仅系统管理员）；选小区＝仅该小区的停休日"))
    day = DateField(verbose_name=L_("日期"))
    # Unchecked means a day off (#12 item 1): with no default the form made the box required,
    # so the browser refused to save a holiday — the very entry the missing-year warning asks for.
    is_workday = BooleanField(default=False, verbose_name=L_("上班"),
                              help_text=L_("勾选＝上班（如调休补班）；不勾＝放假"))
    note = CharField(max_length=64, default="", verbose_name=L_("说明"),
                     help_text=L_("如：2027年春节"))

    class Meta:
        table_name = "calendar_override"
        # One entry per estate and day (the company-wide day: the partial index below).
        indexes = ((("estate", "day"), True),)

    def __str__(self) -> str:
        scope = self.estate.name if self.estate_id else gettext("全公司")
        return f"{scope} {self.day:%Y-%m-%d} " + (gettext("上班") if self.is_workday
                                                     else gettext("放假"))

    @property
    def scope_label(self) -> str:
        return self.estate.name if self.estate_id else COMPANY_WIDE

    def validate(self):
        if self.estate_id and self.is_workday:
            # An estate closes; making a day a working day is the official schedule's (admins).
            yield "is_workday", gettext("小区只能登记本小区的停休日（放假）；调休上班以全公司日历"
                                        "为准")
        if self.day and not self.estate_id:
            twin = CalendarOverride.select().where(CalendarOverride.day == self.day,
                                                   CalendarOverride.estate.is_null())
            if self.id:
                twin = twin.where(CalendarOverride.id != self.id)
            if twin.exists():
                yield "day", gettext("全公司日历中 %(day)s 已存在，请修改原记录",
                                     day=format(self.day, '%Y-%m-%d'))

    def check_editor(self, user, stored_estate_id: int | None = None,
                     is_new: bool = True) -> None:
        """Refuse a change outside the user's scope (the old scope too, for an edit)."""
        scopes = {self.estate_id} if is_new else {self.estate_id, stored_estate_id}
        for estate_id in scopes:
            if not may_edit_calendar(user, estate_id):
                raise RuleError({"estate": gettext("全公司日历只有系统管理员可以修改；小区停休日由"
                                                   "该小区的客服主管或管理处主任登记")})


# The company-wide table has one row per day (NULL estates are distinct in a unique index).
CalendarOverride.add_index(CalendarOverride.day, unique=True, where=SQL("estate_id IS NULL"),
                           name="calendar_override_company_day")


class CalendarYear(VersionedModel):
    """A year whose holidays and make-up days the office has entered completely (#12 item 1).

    One override of 2027 is not its schedule: until the office marks the year here, a year the
    package does not know keeps its Monday–Friday warning (SPEC "Deadline arithmetic").
    """

    year = IntegerField(unique=True, verbose_name=L_("年份"), help_text=L_("如 2027"))
    note = CharField(max_length=64, default="", verbose_name=L_("说明"),
                     help_text=L_("如：据国办发明电〔2026〕X号录入"))

    class Meta:
        table_name = "calendar_year"

    def __str__(self) -> str:
        return gettext("%(year)s年（已录入完整）", year=self.year)

    def validate(self):
        if self.year is not None and not 2000 <= int(self.year) <= 2100:
            yield "year", gettext("年份应在 2000 至 2100 之间")


def years_lacking_data(years) -> list[int]:
    """Years among `years` with neither official data nor the office's complete schedule."""
    entered = {row.year for row in CalendarYear.select(CalendarYear.year)
               .where(CalendarYear.year.in_(list(years)))}
    return [y for y in deadlines.years_without_data(years) if y not in entered]


def load_overrides() -> dict:
    """Hand the overrides to the deadline engine (once per request or job run): the
    company-wide map, and each estate's own closures."""
    mapping, per_estate = {}, {}
    for row in CalendarOverride.select(CalendarOverride.estate, CalendarOverride.day,
                                       CalendarOverride.is_workday):
        if row.estate_id is None:
            mapping[row.day] = bool(row.is_workday)
        else:
            per_estate.setdefault(row.estate_id, {})[row.day] = bool(row.is_workday)
    deadlines.set_overrides(mapping)
    deadlines.set_estate_overrides(per_estate)
    return mapping


class NumberSequence(BaseModel):
    """The last number issued per estate, prefix and year (e.g. TS-2026-00042)."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="CASCADE")
    prefix = CharField(max_length=8)
    year = IntegerField()
    last = IntegerField(default=0)

    class Meta:
        table_name = "number_sequence"
        # One counter per estate, document kind and year: numbers never repeat.
        indexes = ((("estate", "prefix", "year"), True),)


def next_number(estate_id: int, prefix: str, year: int) -> str:
    """Issue the next number for an estate, e.g. next_number(1, "TS", 2026) -> "TS-2026-00001".

    Runs in a write transaction (BEGIN IMMEDIATE on SQLite) so two desks never get the same one.
    """
    with write_transaction():
        seq, _ = NumberSequence.get_or_create(estate=estate_id, prefix=prefix, year=year)
        updated = (NumberSequence.update(last=NumberSequence.last + 1)
                   .where(NumberSequence.id == seq.id).execute())
        assert updated == 1
        last = NumberSequence.select(NumberSequence.last).where(
            NumberSequence.id == seq.id).scalar()
    return f"{prefix}-{year}-{last:05d}"
