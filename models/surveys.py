"""Monthly satisfaction surveys (满意度访问, R-SVC-3).

Every month the centre runs one survey round per estate and visits owners (or calls them): one
visit per unit per round, with scores, overall satisfaction and the needs the owner raised. A
need becomes a demand with one action (channel 主任/主管走访), linked back to the visit. Each
round reports its coverage (units visited / units lived in) and satisfaction.
"""

from __future__ import annotations

import calendar
import datetime as dt

from flask_babel import gettext
from peewee import (
    SQL,
    BooleanField,
    Case,
    CharField,
    DateField,
    ForeignKeyField,
    SmallIntegerField,
    TextField,
    fn,
)

from models.base import AwareDateTimeField, office_day, to_office, utcnow
from models.callbacks import SCORES
from models.demands import Demand
from models.i18n import L_
from models.office import DemandSource, month_start
from models.org import Resident, Unit, _same_estate
from models.register import RegisterModel
from models.users import User

CHANNELS = [("visit", L_("上门走访")), ("phone", L_("电话访问"))]
# The four things owners are asked to score (1–5), in the order of the paper form.
SCORE_FIELDS = [
    ("service_score", L_("客服服务")),
    ("environment_score", L_("环境保洁")),
    ("security_score", L_("安全秩序")),
    ("engineering_score", L_("工程维修")),
]


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def lived_in_units_by_estate(estate_ids) -> dict[int, int]:
    """Units somebody lives in now, per estate, in one query (the survey's denominators)."""
    return dict(Resident.select(Resident.estate, fn.COUNT(Resident.unit.distinct()))
                .where(Resident.estate.in_(list(estate_ids)), Resident.moved_out.is_null(),
                       Resident.voided == False)  # noqa: E712
                .group_by(Resident.estate).tuples())


class SurveyRound(RegisterModel):
    """One month's survey of an estate."""

    month = DateField(verbose_name=L_("月份"), help_text=L_("填该月任意一天，按月保存"))
    title = CharField(max_length=64, default="", verbose_name=L_("主题"),
                      help_text=L_("如 11月满意度访问（重点：冬季供暖）"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "survey_round"

    def __str__(self) -> str:
        if not self.month:
            return gettext("满意度访问")
        return gettext("%(year)s年%(month)s月满意度访问", year=f"{self.month:%Y}",
                       month=f"{self.month:%m}")

    @classmethod
    def date_range(cls, name: str):
        # A survey is this month's visit (R-SVC-3): a month more than two years away is a typo.
        if name == "month":
            today = office_day()
            last = calendar.monthrange(today.year + 2, today.month)[1]
            return (today.replace(year=today.year - 2, day=1),
                    today.replace(year=today.year + 2, day=last))
        return super().date_range(name)

    def validate(self):
        if self.month:
            self.month = month_start(self.month)
        if self.month and self.estate_id:
            twin = SurveyRound.select().where(SurveyRound.estate == self.estate_id,
                                              SurveyRound.month == self.month,
                                              SurveyRound.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(SurveyRound.id != self.id)
            if twin.exists():
                yield "month", gettext("%(year)s年%(month)s月已有满意度访问，请在原记录中登记走访",
                                       year=f"{self.month:%Y}", month=f"{self.month:%m}")

    def live_visits(self):
        return self.visits.where(SurveyVisit.voided == False)  # noqa: E712

    def stats(self) -> dict:
        """Coverage and satisfaction of the round (R-SVC-3)."""
        return SurveyRound.stats_for([self])[self.id]

    @classmethod
    def stats_for(cls, rounds) -> dict[int, dict]:
        """Each round's coverage and satisfaction (R-SVC-3), by round id: two grouped
        queries for any number of rounds (the grid's page, an export batch, a year's review),
        not seven per round (#14 item 2)."""
        rounds = list(rounds)
        if not rounds:
            return {}
        live = SurveyVisit.voided == False  # noqa: E712
        yes = lambda condition: fn.SUM(Case(None, [(condition, 1)], 0))  # noqa: E731
        figures = {
            row[0]: row[1:] for row in
            SurveyVisit.select(
                SurveyVisit.round, fn.COUNT(SurveyVisit.id),
                fn.COUNT(SurveyVisit.unit.distinct()),
                yes(SurveyVisit.satisfied == True),  # noqa: E712
                yes(SurveyVisit.needs != ""), fn.COUNT(SurveyVisit.demand),
                *[fn.AVG(getattr(SurveyVisit, name)) for name, _ in SCORE_FIELDS])
            .where(SurveyVisit.round.in_([r.id for r in rounds]), live)
            .group_by(SurveyVisit.round).tuples()}
        units = lived_in_units_by_estate({r.estate_id for r in rounds})
        result = {}
        for survey in rounds:
            count, visited_units, satisfied, needs, demands, *averages = figures.get(
                survey.id, (0, 0, 0, 0, 0) + (None,) * len(SCORE_FIELDS))
            lived = units.get(survey.estate_id, 0)
            satisfied, needs = int(satisfied or 0), int(needs or 0)
            result[survey.id] = {
                "visits": count, "units": lived, "visited_units": visited_units,
                "coverage": _rate(visited_units, lived),
                "satisfied": satisfied, "satisfaction": _rate(satisfied, count),
                "averages": [(label, round(float(avg), 2) if avg is not None else None)
                             for (_, label), avg in zip(SCORE_FIELDS, averages, strict=True)],
                "needs": needs,
                "demands": demands,
            }
        return result

    @classmethod
    def monthly(cls, estate_ids, year: int) -> list[tuple[SurveyRound, dict]]:
        rounds = (cls.select().where(cls.estate.in_(estate_ids), cls.voided == False,  # noqa: E712
                                     cls.month >= dt.date(year, 1, 1),
                                     cls.month <= dt.date(year, 12, 1))
                  .order_by(cls.month, cls.estate))
        rounds = list(rounds)
        figures = cls.stats_for(rounds)
        return [(r, figures[r.id]) for r in rounds]


class SurveyVisit(DemandSource, RegisterModel):
    """One unit visited (or called) in a round: scores, satisfaction, needs raised."""

    demand_channel = "proactive"

    round = ForeignKeyField(SurveyRound, backref="visits", on_delete="RESTRICT",
                            verbose_name=L_("访问月份"))
    unit = ForeignKeyField(Unit, backref="+", on_delete="RESTRICT", verbose_name=L_("房屋"))
    resident = ForeignKeyField(Resident, null=True, backref="+", on_delete="RESTRICT",
                               verbose_name=L_("受访业户"))
    visited_at = AwareDateTimeField(default=utcnow, verbose_name=L_("访问时间"))
    visited_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("访问人"))
    channel = CharField(max_length=16, choices=CHANNELS, default="visit", verbose_name=L_("方式"))
    service_score = SmallIntegerField(choices=SCORES, verbose_name=L_("客服服务"))
    environment_score = SmallIntegerField(choices=SCORES, verbose_name=L_("环境保洁"))
    security_score = SmallIntegerField(choices=SCORES, verbose_name=L_("安全秩序"))
    engineering_score = SmallIntegerField(choices=SCORES, verbose_name=L_("工程维修"))
    satisfied = BooleanField(default=True, verbose_name=L_("总体满意"))
    needs = TextField(default="", verbose_name=L_("业户需求/意见"),
                      help_text=L_("业户提出的需求，可一键转为业户需求登记处理"))
    demand = ForeignKeyField(Demand, null=True, backref="+", on_delete="RESTRICT",
                             verbose_name=L_("转入需求"))

    class Meta:
        table_name = "survey_visit"

    def __str__(self) -> str:
        return gettext("%(unit)s 满意度访问", unit=self.unit.code if self.unit_id else "")

    def demand_text(self) -> str:
        return f"满意度访问中业户提出：{self.needs.strip()}" if self.needs.strip() else ""

    def demand_unit_ids(self):
        return self.unit_id, self.resident_id

    def validate(self):
        yield from _same_estate(self, "estate", ("round", "unit"))
        if self.resident_id and self.unit_id:
            resident = Resident.get_or_none(Resident.id == self.resident_id)
            if resident is not None and resident.unit_id != self.unit_id:
                yield "resident", gettext("所选业户不住在该房屋")
        for name, label in SCORE_FIELDS:
            value = getattr(self, name)
            if value is not None and not 1 <= int(value) <= 5:
                yield name, gettext("“%(label)s”评分应为 1 到 5 分", label=label)
        survey = SurveyRound.get_or_none(SurveyRound.id == self.round_id) \
            if self.round_id else None
        if self.visited_at and self.visited_at > utcnow() + dt.timedelta(minutes=5):
            yield "visited_at", gettext("访问时间不能晚于现在")
        elif survey is not None and self.visited_at \
                and month_start(to_office(self.visited_at).date()) != survey.month:
            yield "visited_at", gettext("访问时间应在%(year)s年%(month)s月内",
                                        year=f"{survey.month:%Y}", month=f"{survey.month:%m}")
        if self.round_id and self.unit_id:
            twin = SurveyVisit.select().where(SurveyVisit.round == self.round_id,
                                              SurveyVisit.unit == self.unit_id,
                                              SurveyVisit.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(SurveyVisit.id != self.id)
            if twin.exists():
                yield "unit", gettext("本月已访问过该房屋")

    def before_create(self, user) -> None:
        if user is not None and not self.visited_by_id:
            self.visited_by = user.id


# One survey round per estate and month, one visit per unit and round (voided rows aside).
SurveyRound.add_index(SurveyRound.estate, SurveyRound.month, unique=True,
                      where=SQL("NOT voided"), name="survey_round_once_per_month")
SurveyVisit.add_index(SurveyVisit.round, SurveyVisit.unit, unique=True,
                      where=SQL("NOT voided"), name="survey_visit_once_per_unit")
