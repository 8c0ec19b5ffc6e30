"""Shifts, roster, duty directors and the shift log (R-SVC-1/2, R-STAFF-1): coverage on the
default shifts reports 08:00–09:00, never two duty directors on one day, hand-over acknowledged
by the incoming shift (#5)."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import IntegrityError
from test_office_common import ago, field_errors, make_staff, post, today
from test_records import form_data

from models.base import RuleError, db
from models.register import save_record, void_record
from models.roster import (
    DutyDirector,
    RosterEntry,
    Shift,
    ShiftLog,
    ensure_default_shifts,
    fill_month,
    gaps,
)
from models.roster_month import month_coverage
from models.users import User, UserEstate

GAP = (8 * 60, 9 * 60)


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, *[(f"c{i}", "clerk", "cs") for i in range(1, 7)],
                      ("boss", "supervisor", "cs"), ("chief", "director", None))


def clerk_ids(staff):
    return [staff[f"c{i}"].id for i in range(1, 7)]


def test_gaps_of_a_day():
    assert gaps([]) == [(0, 1440)]
    assert gaps([(540, 1020), (1020, 1440), (0, 480)]) == [GAP]
    assert gaps([(0, 600), (300, 1440)]) == []


def test_default_shifts_leave_eight_to_nine_uncovered(staff, estate):
    shifts = ensure_default_shifts(estate.id, staff["boss"])
    assert [(s.name, s.hours) for s in shifts] == [
        ("夜班", "00:00–08:00"), ("白班", "09:00–17:00"), ("中班", "17:00–24:00")]
    assert ensure_default_shifts(estate.id, staff["boss"]) == shifts  # only once
    added = fill_month(staff["boss"], estate.id, 2026, 2, clerk_ids=clerk_ids(staff),
                       per_shift=2, director_ids=[staff["chief"].id, staff["boss"].id])
    assert added == 28 * 3 * 2 + 28
    coverage = month_coverage(estate.id, 2026, 2)
    assert coverage["definition_gaps"] == [GAP]
    assert all(day["gaps"] == [GAP] and day["director"] for day in coverage["days"])
    assert coverage["warnings"] == [
        "班次设置未覆盖 08:00–09:00：每天这段时间客服中心无人值班（R-SVC-1 要求 24 小时值班），"
        "请调整班次"]
    # Covering the hour with a shift of its own clears the warning.
    save_record(Shift(estate=estate.id, name="早班", starts=dt.time(8), ends=dt.time(9),
                      min_staff=0), staff["boss"])
    assert month_coverage(estate.id, 2026, 2)["definition_gaps"] == []


def test_unstaffed_shifts_and_days_without_a_duty_director(staff, estate):
    ensure_default_shifts(estate.id, staff["boss"])
    day, night, evening = (Shift.get(Shift.name == n) for n in ("白班", "夜班", "中班"))
    save_record(RosterEntry(estate=estate.id, day=dt.date(2026, 3, 2), shift=day.id,
                            staff=staff["c1"].id), staff["boss"])
    save_record(DutyDirector(estate=estate.id, day=dt.date(2026, 3, 2),
                             director=staff["chief"].id), staff["boss"])
    coverage = month_coverage(estate.id, 2026, 3)
    second = coverage["days"][1]
    assert second["by_shift"][day.id] == ["c1"] and second["director"] == "chief"
    assert second["gaps"] == [(0, 540), (1020, 1440)]
    assert second["short"] == ["夜班", "中班"] and night and evening
    warnings = coverage["warnings"]
    assert warnings[1].startswith("30 天没有值班主任：1日、3日、4日")
    assert "3月2日 无人值班：00:00–09:00、17:00–24:00" in warnings


def test_a_shift_past_midnight_covers_the_next_morning(staff, estate):
    for name, starts, ends in (("日班", 8, 20), ("夜班", 20, 8)):
        save_record(Shift(estate=estate.id, name=name, starts=dt.time(starts),
                          ends=dt.time(ends)), staff["boss"])
    night = Shift.get(Shift.name == "夜班")
    assert night.hours == "20:00–08:00" and night.spans() == [(0, 1200, 1440), (1, 0, 480)]
    save_record(RosterEntry(estate=estate.id, day=dt.date(2026, 3, 1), shift=night.id,
                            staff=staff["c1"].id), staff["boss"])
    days = month_coverage(estate.id, 2026, 3)["days"]
    assert month_coverage(estate.id, 2026, 3)["definition_gaps"] == []
    assert days[0]["gaps"] == [(0, 1200)]
    assert days[1]["gaps"] == [(480, 1440)]  # the night of the 1st works until 08:00
    with pytest.raises(RuleError, match="结束时间不能与开始时间相同"):
        save_record(Shift(estate=estate.id, name="错班", starts=dt.time(9), ends=dt.time(9)),
                    staff["boss"])


def test_never_two_duty_directors_on_one_day(staff, estate):
    day = dt.date(2026, 5, 1)
    first = save_record(DutyDirector(estate=estate.id, day=day, director=staff["chief"].id),
                        staff["boss"])
    with pytest.raises(RuleError) as refused:
        save_record(DutyDirector(estate=estate.id, day=day, director=staff["boss"].id),
                    staff["boss"])
    assert refused.value.errors == {"day": "2026-05-01 已有值班主任 chief，一天只能有一位值班主任"}
    # The database refuses it as well, whatever path a row takes.
    with pytest.raises(IntegrityError), db.atomic():
        DutyDirector.insert(estate=estate.id, day=day, director=staff["boss"].id).execute()
    with pytest.raises(RuleError, match="不能担任值班主任"):
        save_record(DutyDirector(estate=estate.id, day=dt.date(2026, 5, 2),
                                 director=staff["c1"].id), staff["boss"])
    # A voided row steps aside so the day can be re-staffed.
    void_record(first, staff["boss"], "主任出差")
    assert save_record(DutyDirector(estate=estate.id, day=day, director=staff["boss"].id),
                       staff["boss"]).id


def test_roster_entries_check_people(staff, estate, other_estate):
    ensure_default_shifts(estate.id, staff["boss"])
    shift = Shift.get(Shift.name == "白班")
    stranger = User.create(username="stranger", display_name="外区客服", role="clerk",
                           password_hash="!")
    UserEstate.create(user=stranger, estate=other_estate)
    with pytest.raises(RuleError, match="外区客服 不属于该小区"):
        save_record(RosterEntry(estate=estate.id, day=today(), shift=shift.id,
                                staff=stranger.id), staff["boss"])
    save_record(RosterEntry(estate=estate.id, day=today(), shift=shift.id,
                            staff=staff["c1"].id), staff["boss"])
    with pytest.raises(RuleError, match="该客服员当天已排在这个班次"):
        save_record(RosterEntry(estate=estate.id, day=today(), shift=shift.id,
                                staff=staff["c1"].id), staff["boss"])
    with pytest.raises(RuleError) as refused:  # nothing half-saved: the month stays as it was
        fill_month(staff["boss"], estate.id, 2026, 4, clerk_ids=[staff["c2"].id, stranger.id],
                   per_shift=1)
    assert "不属于该小区" in str(refused.value)
    assert RosterEntry.select().where(RosterEntry.day.between(
        dt.date(2026, 4, 1), dt.date(2026, 4, 30))).count() == 0


def test_hand_over_acknowledged_by_the_incoming_shift(staff, estate):
    ensure_default_shifts(estate.id, staff["boss"])
    evening = Shift.get(Shift.name == "中班")
    night = Shift.get(Shift.name == "夜班")
    yesterday = today() - dt.timedelta(days=1)
    save_record(RosterEntry(estate=estate.id, day=today(), shift=night.id,
                            staff=staff["c2"].id), staff["boss"])
    log = save_record(ShiftLog(estate=estate.id, day=yesterday, shift=evening.id,
                               written_at=ago(hours=2), handover_note="3-1-502 漏水已派工未完工"),
                      staff["c1"])
    # The evening shift hands over to the next day's night shift.
    assert log.incoming_day == today() and log.incoming_shift_id == night.id
    assert log.written_by_id == staff["c1"].id
    with pytest.raises(RuleError, match="交班人不能自己确认"):
        log.acknowledge(staff["c1"])
    with pytest.raises(RuleError, match="您不在 .* 夜班 的排班中"):
        log.acknowledge(staff["c3"])
    with pytest.raises(RuleError, match="确认时间不能早于交班时间"):
        log.acknowledge(staff["c2"], at=ago(hours=3))
    log = ShiftLog.get_by_id(log.id)
    log.acknowledge(staff["c2"], note="已核对")
    log = ShiftLog.get_by_id(log.id)
    assert log.acknowledged_by_id == staff["c2"].id and log.ack_note == "已核对"
    log.handover_note = "改写"
    with pytest.raises(RuleError, match="接班人已确认，交接内容不能再修改"):
        save_record(log, staff["c1"])
    with pytest.raises(RuleError, match="这个班次当天已有交班记录"):
        save_record(ShiftLog(estate=estate.id, day=yesterday, shift=evening.id,
                             handover_note="再交一次"), staff["c1"])


def test_roster_through_the_admin(login_as, staff, estate):
    supervisor = login_as("supervisor")
    listing = supervisor.get("/admin/shift/").get_data(as_text=True)
    assert "尚未设置班次" in listing
    assert post(supervisor, f"/admin/shift/defaults/?estate={estate.id}", {}).status_code == 302
    listing = supervisor.get("/admin/shift/").get_data(as_text=True)
    assert "班次未覆盖 08:00–09:00" in listing
    refused = post(supervisor, f"/admin/roster/fill/?estate={estate.id}",
                   {"month": "2026-02", "clerks": [], "per_shift": "x"})
    assert {"请选择参加轮班的客服员", "每班人数应在 1 到 20 之间"} <= set(field_errors(refused))
    assert RosterEntry.select().count() == 0
    response = post(supervisor, f"/admin/roster/fill/?estate={estate.id}",
                    {"month": "2026-02", "clerks": [str(i) for i in clerk_ids(staff)],
                     "per_shift": "2", "directors": [str(staff["chief"].id)]})
    assert response.status_code == 302, field_errors(response)
    page = supervisor.get(f"/admin/roster/?estate={estate.id}&month=2026-02")
    html = page.get_data(as_text=True)
    assert "班次设置未覆盖 08:00–09:00" in html and "2026年2月 排班表" in html
    assert html.count('<span class="badge badge-danger">08:00–09:00</span>') == 28
    printed = supervisor.get(f"/admin/roster/print/?estate={estate.id}&month=2026-02")
    assert "A4 landscape" in printed.get_data(as_text=True)
    # A second duty director for a day already staffed: the message sits next to the day.
    data = form_data(supervisor, "/admin/duty_director/new/")
    data.update({"day": "2026-02-10", "director": str(staff["boss"].id)})
    refused = supervisor.post("/admin/duty_director/new/", data=data)
    assert "2026-02-10 已有值班主任 chief，一天只能有一位值班主任" in field_errors(refused)
    assert DutyDirector.select().where(DutyDirector.day == dt.date(2026, 2, 10)).count() == 1
    # A shift of its own for 08:00–09:00, entered through the form, clears the warning.
    data = form_data(supervisor, "/admin/shift/new/")
    data.update({"name": "早班", "starts": "08:00", "ends": "09:00", "min_staff": "1"})
    response = supervisor.post("/admin/shift/new/", data=data)
    assert response.status_code == 302, field_errors(response)
    assert Shift.get(Shift.name == "早班").hours == "08:00–09:00"
    assert "班次未覆盖" not in supervisor.get("/admin/shift/").get_data(as_text=True)
    # Pick-lists offer only people of the estate with the right role.
    form = supervisor.get("/admin/duty_director/new/").get_data(as_text=True)
    assert "chief" in form and ">c1<" not in form
