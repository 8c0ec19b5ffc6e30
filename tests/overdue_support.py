"""Builders shared by the overdue-rule tests (no tests here): one register row each, made
through the register's own save and steps, at the moments a test asks for."""

from __future__ import annotations

import datetime as dt

from test_jobs_support import OFFICE

from models.base import utcnow
from models.deposits import Deposit
from models.emergencies import Emergency
from models.movein import MoveIn
from models.org import Building, Department, Unit
from models.permits import GoodsRelease
from models.printing import PrintJob
from models.register import save_record
from models.roster import DutyDirector, ShiftLog, ensure_default_shifts
from models.surveys import SurveyRound, SurveyVisit
from models.tenancy import Tenancy
from models.users import User, UserEstate

ID = "11010519491231002X"
SCORES = {"service_score": 5, "environment_score": 4, "security_score": 5,
          "engineering_score": 4}


def midnight(day: dt.date) -> dt.datetime:
    """Office-local 00:00 of `day`."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=OFFICE)


def office_today() -> dt.date:
    return utcnow().astimezone(OFFICE).date()


def staff_of(estate) -> dict[str, User]:
    """A clerk, a CS supervisor, the office director and a cashier of the estate."""
    people = {}
    for username, role, department in (("desk", "clerk", "cs"), ("lead", "supervisor", "cs"),
                                       ("boss", "director", None),
                                       ("cashier", "dept", "finance")):
        people[username] = User.create(username=f"{username}-{estate.code}",
                                       display_name=username, role=role,
                                       department=department, password_hash="!")
        UserEstate.create(user=people[username], estate=estate)
    return people


def goods_slip(estate, user) -> GoodsRelease:
    unit = Unit.get(Unit.estate == estate.id, Unit.code == "1-1-101")
    return save_record(GoodsRelease(estate=estate.id, unit=unit.id, bearer_name="搬家公司小李",
                                    id_number=ID, goods_text="沙发 1\n纸箱 12 个"), user)


def age(model, row, created_at: dt.datetime) -> None:
    """Move a row's recording time back (as if it had been entered then)."""
    model.update(created_at=created_at).where(model.id == row.id).execute()


def deposit_asked(estate, user) -> Deposit:
    return Deposit.ask(user, estate_id=estate.id, kind="pass_deposit", payer="装修工人",
                       purpose="出入证押金")


def incident(estate, user, occurred_at: dt.datetime, **fields) -> Emergency:
    values = {"occurred_at": occurred_at, "place": "3栋电梯", "kind": "lift",
              "description": "电梯困人", "reported_by": "业主", "first_reported_to": "值班客服",
              "reported_at": occurred_at + dt.timedelta(minutes=2), **fields}
    return save_record(Emergency(estate=estate.id, **values), user)


def print_job(estate, user, requested_at: dt.datetime) -> PrintJob:
    department = Department.get(Department.estate == estate.id, Department.kind == "cs")
    return save_record(PrintJob(estate=estate.id, department=department.id, title="停水通知",
                                copies=5, pages=2, requested_at=requested_at), user)


def move_in(estate, user, step1_at: dt.datetime | None = None) -> MoveIn:
    unit = Unit.create(estate=estate, building=Building.get(Building.estate == estate.id),
                       room="501", code="1-1-501")
    row = save_record(MoveIn(estate=estate.id, unit=unit.id, owner_name="林新业",
                             owner_phone="13712345678"), user)
    if step1_at is not None:
        row.do_step(user, 1, at=step1_at)
    return MoveIn.get_by_id(row.id)


def gas_batch(estate, user, day: dt.date):
    from models.batches import ServiceBatch

    return save_record(ServiceBatch(estate=estate.id, kind="gas", day=day, gas_company="港华燃气",
                                    gas_appointment="GH-001"), user)


def duty_directors(estate, director, days) -> None:
    for day in days:
        save_record(DutyDirector(estate=estate.id, day=day, director=director.id), director)


def handover(estate, user, written_at: dt.datetime) -> ShiftLog:
    shift = ensure_default_shifts(estate.id, user)[0]
    return save_record(ShiftLog(estate=estate.id, day=written_at.astimezone(OFFICE).date(),
                                shift=shift.id, written_at=written_at,
                                handover_note="3栋漏水待回访"), user)


def survey_round(estate, user, month: dt.date) -> SurveyRound:
    """The month's round (created if missing), with no visit yet."""
    existing = SurveyRound.get_or_none(SurveyRound.estate == estate.id,
                                       SurveyRound.month == month.replace(day=1))
    return existing or save_record(SurveyRound(estate=estate.id, month=month.replace(day=1)),
                                   user)


def survey(estate, user, visited_at: dt.datetime) -> SurveyVisit:
    """One visit of the month's round (R-SVC-3)."""
    round_ = survey_round(estate, user, visited_at.astimezone(OFFICE).date())
    unit = Unit.get(Unit.estate == estate.id, Unit.code == "1-1-101")
    return save_record(SurveyVisit(estate=estate.id, round=round_.id, unit=unit.id,
                                   visited_at=visited_at, **SCORES), user)


def committee_contact(estate, user, held_at: dt.datetime):
    from models.committee import CommitteeContact

    return save_record(CommitteeContact(estate=estate.id, held_at=held_at,
                                        attendees="业委会主任、管理处主任", topics="停车收费"),
                       user)


def tenancy(estate, user, starts: dt.date, ends: dt.date) -> Tenancy:
    unit = Unit.get(Unit.estate == estate.id, Unit.code == "1-1-102")
    return save_record(Tenancy(estate=estate.id, unit=unit.id, starts=starts, ends=ends,
                               tenant_name="租客甲", tenant_phone="13911112222",
                               contract_number="ZL-2026-001"), user)
