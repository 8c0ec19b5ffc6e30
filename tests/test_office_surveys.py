"""Monthly satisfaction surveys and the owners' committee log (R-SVC-3/4): visits per unit,
coverage and satisfaction per month, needs and committee items turned into demands (#5)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PG_URL
from test_office_common import ago, at, field_errors, make_staff, post, today
from test_records import form_data

from models.base import RuleError
from models.committee import CommitteeContact, CommitteeItem
from models.demands import Demand, DemandStep
from models.org import Resident, Unit
from models.register import save_record, void_record
from models.surveys import SurveyRound, SurveyVisit

SCORES = {"service_score": 5, "environment_score": 3, "security_score": 4,
          "engineering_score": 2}


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, ("visitor", "clerk", "cs"), ("boss", "supervisor", "cs"))


@pytest.fixture
def this_round(staff, estate):
    return save_record(SurveyRound(estate=estate.id, month=today()), staff["boss"])


def visit(estate, user, survey, code="1-1-101", **fields) -> SurveyVisit:
    unit = Unit.get(Unit.code == code)
    values = {**SCORES, "visited_at": ago(minutes=30), "satisfied": True, **fields}
    return save_record(SurveyVisit(estate=estate.id, round=survey.id, unit=unit.id,
                                   resident=Resident.get(Resident.unit == unit).id, **values),
                       user)


def test_one_round_per_month_and_one_visit_per_unit(staff, estate, this_round):
    assert this_round.month == today().replace(day=1)
    with pytest.raises(RuleError, match="已有满意度访问"):
        save_record(SurveyRound(estate=estate.id, month=today().replace(day=2)), staff["boss"])
    first = visit(estate, staff["visitor"], this_round)
    assert first.visited_by_id == staff["visitor"].id
    with pytest.raises(RuleError, match="本月已访问过该房屋"):
        visit(estate, staff["visitor"], this_round)
    with pytest.raises(RuleError, match="评分应为 1 到 5 分"):
        visit(estate, staff["visitor"], this_round, code="1-1-102", service_score=6)
    last_month = today().replace(day=1) - dt.timedelta(days=1)
    with pytest.raises(RuleError, match=f"访问时间应在{today():%Y年%m月}内"):
        visit(estate, staff["visitor"], this_round, code="1-1-102",
              visited_at=at(last_month.year, last_month.month, last_month.day))
    void_record(first, staff["boss"], "录错房号")
    assert visit(estate, staff["visitor"], this_round).id != first.id


def test_coverage_and_satisfaction_per_month(staff, estate, this_round):
    visit(estate, staff["visitor"], this_round, needs="楼道灯不亮")
    visit(estate, staff["visitor"], this_round, code="1-1-102", satisfied=False,
          service_score=3, environment_score=1, security_score=2, engineering_score=4)
    stats = this_round.stats()
    # Three units are lived in; two were visited.
    assert (stats["visits"], stats["units"], stats["coverage"]) == (2, 3, 66.7)
    assert (stats["satisfied"], stats["satisfaction"]) == (1, 50.0)
    assert stats["averages"] == [("客服服务", 4.0), ("环境保洁", 2.0), ("安全秩序", 3.0),
                                 ("工程维修", 3.0)]
    assert (stats["needs"], stats["demands"]) == (1, 0)
    assert [(r.id, s["visits"]) for r, s in SurveyRound.monthly([estate.id], today().year)] \
        == [(this_round.id, 2)]


def test_a_need_becomes_a_demand_once(staff, estate, this_round):
    row = visit(estate, staff["visitor"], this_round, needs="希望增加夜间巡逻")
    with pytest.raises(RuleError) as refused:
        row.to_demand(staff["visitor"], kind="suggestion", category="")
    assert refused.value.errors == {"category": "请选择需求类别"}
    assert Demand.select().count() == 0
    demand = row.to_demand(staff["visitor"], kind="suggestion", category="security")
    assert demand.number.startswith("XQ-") and demand.channel == "proactive"
    assert demand.unit_id == row.unit_id and demand.resident_id == row.resident_id
    assert demand.description == "满意度访问中业户提出：希望增加夜间巡逻"
    assert SurveyVisit.get_by_id(row.id).demand_id == demand.id
    assert DemandStep.get(DemandStep.demand == demand.id).action == "create"
    with pytest.raises(RuleError, match=f"已转为业户需求 {demand.number}，不能重复转入"):
        SurveyVisit.get_by_id(row.id).to_demand(staff["visitor"], kind="suggestion",
                                                category="security")
    quiet = visit(estate, staff["visitor"], this_round, code="1-1-102")
    with pytest.raises(RuleError, match="没有可转为需求的内容"):
        quiet.to_demand(staff["visitor"], kind="suggestion", category="security")


def test_committee_items_become_demands_and_missed_months_show(staff, estate):
    held = ago(minutes=5)
    contact = save_record(CommitteeContact(
        estate=estate.id, held_at=held, attendees="周主任、钱委员；陈主管", topics="电梯维保",
        committee_opinions="要求提供故障记录", follow_up="下次例会通报",
        follow_up_due=today() + dt.timedelta(days=10)), staff["boss"])
    with pytest.raises(RuleError, match="跟进期限不能早于沟通日期"):
        save_record(CommitteeContact(estate=estate.id, held_at=held, attendees="x", topics="y",
                                     follow_up="z", follow_up_due=today()
                                     - dt.timedelta(days=5)), staff["boss"])
    unit = Unit.get(Unit.code == "1-1-201")
    item = save_record(CommitteeItem(estate=estate.id, contact=contact.id, kind="complaint",
                                     content="1-1-201 外墙渗水", unit=unit.id), staff["boss"])
    demand = item.to_demand(staff["visitor"], kind="complaint", category="developer")
    assert demand.channel == "committee" and demand.kind == "complaint"
    assert demand.unit_id == unit.id and "业委会沟通中提出的投诉" in demand.description
    assert CommitteeItem.get_by_id(item.id).demand_id == demand.id
    first = (today().replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    missed = CommitteeContact.months_without_contact(estate.id, first, today())
    assert today().replace(day=1) not in missed and first in missed


def test_survey_and_committee_through_the_admin(login_as, staff, estate, this_round):
    clerk = login_as("clerk")
    unit = Unit.get(Unit.code == "1-1-101")
    data = form_data(clerk, "/admin/survey_visit/new/")
    data.update({"round": str(this_round.id), "unit": str(unit.id), "channel": "visit",
                 "service_score": "5", "environment_score": "4", "security_score": "4",
                 "engineering_score": "3", "satisfied": "y", "needs": "建议增设快递柜"})
    response = clerk.post("/admin/survey_visit/new/", data=data)
    assert response.status_code == 302, field_errors(response)
    row = SurveyVisit.get()
    page = clerk.get(f"/admin/survey_visit/details/?id={row.id}").get_data(as_text=True)
    assert "转为业户需求" in page
    refused = post(clerk, f"/admin/survey_visit/demand/?id={row.id}",
                   {"kind": "suggestion", "category": "", "description": "",
                    "row_version": row.version})
    assert "请选择需求类别" in field_errors(refused) and Demand.select().count() == 0
    response = post(clerk, f"/admin/survey_visit/demand/?id={row.id}",
                    {"kind": "suggestion", "category": "proposal",
                     "description": "业户建议增设快递柜", "row_version": row.version})
    assert response.status_code == 302
    demand = Demand.get()
    assert demand.description == "业户建议增设快递柜" and demand.received_by_id == clerk.user.id
    assert SurveyVisit.get_by_id(row.id).demand_id == demand.id
    listing = clerk.get("/admin/survey_round/").get_data(as_text=True)
    assert "33.3%" in listing and "100.0%" in listing  # coverage 1/3, satisfaction 1/1
    # The committee: a contact, an item added on it, the item to a demand.
    data = form_data(clerk, "/admin/committee_contact/new/")
    data.update({"kind": "meeting", "attendees": "周主任", "topics": "绿化改造",
                 "held_at": f"{ago(hours=3).astimezone(at(2026, 1, 1).tzinfo):%Y-%m-%d %H:%M}"})
    assert clerk.post("/admin/committee_contact/new/", data=data).status_code == 302
    contact = CommitteeContact.get()
    bad = post(clerk, f"/admin/committee_contact/item/?id={contact.id}",
               {"kind": "suggestion", "content": "保留大榕树", "unit_code": "9-9-999",
                "row_version": contact.version})
    assert "该小区没有这个房屋编号" in field_errors(bad)
    assert post(clerk, f"/admin/committee_contact/item/?id={contact.id}",
                {"kind": "suggestion", "content": "保留大榕树", "unit_code": "",
                 "row_version": contact.version}).status_code == 302
    item = CommitteeItem.get()
    assert post(clerk, f"/admin/committee_item/demand/?id={item.id}",
                {"kind": "suggestion", "category": "environment", "description": "",
                 "row_version": item.version}).status_code == 302
    assert Demand.get(Demand.channel == "committee").description.endswith("保留大榕树")
    details = clerk.get(f"/admin/committee_contact/details/?id={contact.id}")
    assert CommitteeItem.get().demand.number in details.get_data(as_text=True)


def test_months_without_contact_read_only_those_months(conn, estate):
    """The committee list's warning (R-SVC-4) names the months of the last half-year without a
    contact. It read every contact the estate ever had on every page view (#14): five times the
    older contacts, the same SQLite work; the months' edges in office time."""
    from sql_support import vm_steps_of

    from models.base import office_tz

    first, last = dt.date(2026, 7, 1), dt.date(2026, 12, 3)

    def held(*moments):
        CommitteeContact.insert_many([
            {"estate": estate, "held_at": moment, "attendees": "x", "topics": "y"}
            for moment in moments]).execute()

    def local(*args):
        return dt.datetime(*args, tzinfo=office_tz())

    # 2026-06-30 23:59 office time is June (outside); 2026-08-01 00:00 is August; 12-31 23:59
    # is December, the last month asked.
    held(local(2026, 6, 30, 23, 59), local(2026, 8, 1, 0, 0), local(2026, 12, 31, 23, 59))
    expected = [dt.date(2026, 7, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1),
                dt.date(2026, 11, 1)]
    assert CommitteeContact.months_without_contact(estate.id, first, last) == expected

    def older(n, start):
        held(*(local(2020, 1, 1) + dt.timedelta(hours=start + i) for i in range(n)))

    if PG_URL:
        return  # the instruction counter is SQLite's
    older(200, 0)
    before, missed = vm_steps_of(
        lambda: CommitteeContact.months_without_contact(estate.id, first, last))
    older(800, 200)
    after, missed_after = vm_steps_of(
        lambda: CommitteeContact.months_without_contact(estate.id, first, last))
    assert missed == missed_after == expected
    assert after <= 1.3 * before, (before, after)
