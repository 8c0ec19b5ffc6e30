"""Rectification items past their deadline (#15, R-FRONT-2) at the boundary, where staff see
them (the grid's 超时 filter and badge, the front desk, the digest), and the Sheets mirror."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import url_for
from test_office_common import make_staff
from test_overdue_rules import SECOND, flagged, history
from test_overdue_screens import BADGE, grid_of

from jobs.digest import daily_digest, latest_digest, render
from jobs.overdue import RULES, mark_overdue
from jobs.views import OverdueFilter
from models import deadlines
from models.base import utcnow
from models.org import Department, Unit
from models.rectification import Rectification
from models.register import save_record, void_record
from sync.projection import project
from sync.registers import MIRRORS
from sync.registers_office import RECTIFICATIONS

RULE = next(rule for rule in RULES if rule.id == "rectification_overdue")


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, ("desk", "clerk", "cs"), ("lead", "supervisor", "cs"),
                      ("engineer", "dept", "engineering"))


def assigned(estate, staff, description="卫生间地漏堵塞", days=2) -> Rectification:
    row = save_record(Rectification(estate=estate.id, unit=Unit.get(Unit.code == "1-1-101").id,
                                    location="卫生间", description=description), staff["desk"])
    engineering = Department.get(Department.estate == estate.id, Department.kind == "engineering")
    row.assign(staff["lead"], responsible=str(engineering.id), working_days=days)
    return Rectification.get_by_id(row.id)


def test_flagged_from_the_first_second_after_the_deadline(app, staff, estate):
    row = assigned(estate, staff)
    # The deadline is the end of the 2nd working day after the day it was handed out.
    assert row.due == deadlines.add_working_days(row.assigned_at, 2)
    with app.app_context():
        assert flagged("rectification_overdue", row.due) == set()
        assert flagged("rectification_overdue", row.due + SECOND) == {row.id}
    # Done late: the flag clears, its history stays (R-REC-5) and the miss is on the row.
    Rectification.update(due=row.due - dt.timedelta(days=10),
                         original_due=row.due - dt.timedelta(days=10)).where(
        Rectification.id == row.id).execute()
    Rectification.get_by_id(row.id).complete(staff["engineer"], result="疏通地漏")
    with app.app_context():
        assert flagged("rectification_overdue", row.due + 2 * SECOND) == set()
    assert history("rectification_overdue") == [(row.due + SECOND, row.due + 2 * SECOND)]
    assert Rectification.get_by_id(row.id).late_count == 1


def test_items_waiting_for_handing_out_or_voided_are_not_flagged(app, staff, estate):
    row = save_record(Rectification(estate=estate.id, location="中心花园", description="喷泉漏水"),
                      staff["desk"])
    late = assigned(estate, staff, "门吸缺失", days=1)
    later = late.due + dt.timedelta(days=30)
    with app.app_context():
        assert flagged("rectification_overdue", later) == {late.id}
        void_record(Rectification.get_by_id(late.id), staff["lead"], "重复登记")
        assert flagged("rectification_overdue", later + SECOND) == set()
    assert Rectification.get_by_id(row.id).state == "registered"


def test_seen_in_the_grid_front_desk_and_digest(app, login_as, staff, estate):
    row = assigned(estate, staff)
    Rectification.update(due=utcnow() - dt.timedelta(hours=1)).where(
        Rectification.id == row.id).execute()
    fresh = assigned(estate, staff, "窗框打胶")
    with app.app_context():
        mark_overdue(utcnow())
    director = login_as("director", "chief")
    view = grid_of(app, Rectification)
    index, row_filter = next((i, f) for i, f in enumerate(view._filters)
                             if isinstance(f, OverdueFilter))
    assert (RULE.id, RULE.label) in row_filter.get_options(view)
    with app.test_request_context():
        grid = url_for(f"{view.endpoint}.index_view")
    html = director.get(f"{grid}?flt0_{index}={RULE.id}").get_data(as_text=True)
    assert BADGE.findall(html) == [RULE.label] and row.number in html
    assert fresh.number not in html
    # The register's own queue says the same, with its 超期 mark on the deadline.
    queue = next(i for i, f in enumerate(view._filters) if f.name == "整改队列")
    listed = director.get(f"{grid}?flt0_{queue}=overdue").get_data(as_text=True)
    assert row.number in listed and fresh.number not in listed and "超期</span>" in listed
    desk = login_as("clerk").get("/admin/").get_data(as_text=True)
    assert f"{RULE.label}：<strong>1</strong>" in desk
    with app.app_context():
        daily_digest(utcnow())
    digest = latest_digest(estate.id)
    items = {item["rule"]: item for item in digest.items}
    assert items[RULE.id]["numbers"] == [row.number]
    assert f"> {RULE.label}：" in render(estate, digest)[1]


def test_mirrored_with_its_promise_misses_and_callback(conn, staff, estate):
    assert MIRRORS["rectifications"] is RECTIFICATIONS and RECTIFICATIONS.title == "整改"
    row = assigned(estate, staff)
    Rectification.get_by_id(row.id).complete(staff["engineer"], result="疏通地漏")
    Rectification.get_by_id(row.id).callback(staff["desk"], satisfied=False, reason="仍有异味",
                                             working_days=3)
    developer = save_record(Rectification(estate=estate.id, location="3栋外墙",
                                          description="外墙渗水"), staff["desk"])
    developer.assign(staff["lead"], responsible="developer", working_days=10)
    voided = save_record(Rectification(estate=estate.id, location="会所", description="作废项"),
                         staff["desk"])
    void_record(voided, staff["lead"], "重复")
    rows = {r.key: dict(zip(RECTIFICATIONS.headers[1:], r.cells, strict=True))
            for r in project(RECTIFICATIONS, estate.id)}
    assert set(rows) == {row.id, developer.id}
    cells = rows[row.id]
    assert cells["编号"] == row.number and cells["房屋"] == "1-1-101" and cells["楼栋"] == "1栋"
    assert cells["责任方"] == "工程维修部" and cells["状态"] == "已交办（整改中）"
    assert cells["来源"] == "巡查发现" and cells["返工次数"] == "1"
    assert cells["业主满意"] == "否" and "仍有异味" in cells["回访意见"]
    assert cells["首次承诺期限"] != cells["整改期限"]
    assert rows[developer.id]["责任方"] == "地产遗留（开发商）"
