"""Office-editable working-day overrides (节假日调整) and per-estate numbering.

The official calendar comes from `chinesecalendar`; when the State Council publishes a year the
package does not know yet (FINDINGS: 2027 is missing), the office enters its holidays and make-up
working days here and they win (SPEC "Deadline arithmetic").
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateField, ForeignKeyField, IntegerField

from models import deadlines
from models.base import BaseModel, VersionedModel, write_transaction
from models.estate import Estate


class CalendarOverride(VersionedModel):
    """One dated exception to the official calendar: a working day or a day off."""

    day = DateField(unique=True, verbose_name="日期")
    # Unchecked means a day off (#12 item 1): with no default the form made the box required,
    # so the browser refused to save a holiday — the very entry the missing-year warning asks for.
    is_workday = BooleanField(default=False, verbose_name="上班",
                              help_text="勾选＝上班（如调休补班）；不勾＝放假")
    note = CharField(max_length=64, default="", verbose_name="说明", help_text="如：2027年春节")

    class Meta:
        table_name = "calendar_override"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {'上班' if self.is_workday else '放假'}"


class CalendarYear(VersionedModel):
    """A year whose holidays and make-up days the office has entered completely (#12 item 1).

    One override of 2027 is not its schedule: until the office marks the year here, a year the
    package does not know keeps its Monday–Friday warning (SPEC "Deadline arithmetic").
    """

    year = IntegerField(unique=True, verbose_name="年份", help_text="如 2027")
    note = CharField(max_length=64, default="", verbose_name="说明",
                     help_text="如：据国办发明电〔2026〕X号录入")

    class Meta:
        table_name = "calendar_year"

    def __str__(self) -> str:
        return f"{self.year}年（已录入完整）"

    def validate(self):
        if self.year is not None and not 2000 <= int(self.year) <= 2100:
            yield "year", "年份应在 2000 至 2100 之间"


def years_lacking_data(years) -> list[int]:
    """Years among `years` with neither official data nor the office's complete schedule."""
    entered = {row.year for row in CalendarYear.select(CalendarYear.year)
               .where(CalendarYear.year.in_(list(years)))}
    return [y for y in deadlines.years_without_data(years) if y not in entered]


def load_overrides() -> dict:
    """Hand the office's overrides to the deadline engine (once per request or job run)."""
    mapping = {row.day: bool(row.is_workday) for row in
               CalendarOverride.select(CalendarOverride.day, CalendarOverride.is_workday)}
    deadlines.set_overrides(mapping)
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
