"""The calendar per scope and the audit log per estate (issue #11 items 6 and 7, R-REC, SPEC
"Deadline arithmetic"): the company-wide schedule is the admins'; an estate's closure moves that
estate's deadlines alone; every audit row carries the estate it concerns and the supervisors of
that estate (and only they, besides admins) read it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import csrf_token, login

from models import deadlines
from models.calendar import CalendarOverride, load_overrides
from models.estate import Estate
from models.register import AuditLog

SHANGHAI = deadlines.OFFICE_TZ
# A Tuesday in a year the package knows: two working days later is Thursday's end.
TUESDAY = dt.datetime(2026, 6, 2, 10, 0, tzinfo=SHANGHAI)
WEDNESDAY = dt.date(2026, 6, 3)


@pytest.fixture
def other(conn, estate):
    """A second estate of the same branch, with its own supervisor."""
    return Estate.create(branch=estate.branch_id, code="EAST", name="东区花园")


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def test_estate_closure_moves_that_estate_only(login_as, conn, estate, other):
    client = login_as("supervisor")
    response = _post(client, "/admin/calendar/new/", {"estate": str(estate.id),
                                                       "day": f"{WEDNESDAY:%Y-%m-%d}",
                                                       "note": "停水停电，管理处闭门"})
    assert response.status_code == 302
    load_overrides()
    due_here = deadlines.reply_due(TUESDAY, serious=False, urgent=False, estate=estate.id)
    due_there = deadlines.reply_due(TUESDAY, serious=False, urgent=False, estate=other.id)
    assert due_here.date() == dt.date(2026, 6, 5)  # Wednesday closed: Thursday, Friday
    assert due_there.date() == dt.date(2026, 6, 4)
    # The existing signature still works and sees only the company-wide calendar.
    assert deadlines.add_working_days(TUESDAY, 2).date() == dt.date(2026, 6, 4)


def test_supervisor_cannot_change_the_company_calendar_or_another_estate(
        login_as, make_user, app, conn, estate, other):
    client = login_as("supervisor")
    _post(client, "/admin/calendar/new/", {"estate": "", "day": "2026-06-03", "note": "全公司"})
    _post(client, "/admin/calendar/new/", {"estate": str(other.id), "day": "2026-06-03",
                                           "note": "别的小区"})
    assert CalendarOverride.select().count() == 0
    admin = login_as("admin")
    assert _post(admin, "/admin/calendar/new/", {"estate": "", "day": "2026-06-03",
                                                 "is_workday": "", "note": "公司"}
                 ).status_code == 302
    row = CalendarOverride.get()
    assert row.estate_id is None
    response = _post(client, f"/admin/calendar/edit/?id={row.id}",
                     {"estate": "", "day": "2026-06-03", "is_workday": "y",
                      "note": "改成上班", "row_version": row.version})
    assert "只有系统管理员" in response.get_data(as_text=True)
    assert CalendarOverride.get_by_id(row.id).is_workday is False
    # An estate may only close, not declare a working day (the official schedule's).
    response = _post(client, "/admin/calendar/new/", {"estate": str(estate.id),
                                                       "day": "2026-06-06", "is_workday": "y"})
    assert "只能登记本小区的停休日" in response.get_data(as_text=True)
    assert CalendarOverride.select().count() == 1
    # The same day in both scopes is two rows (the old one-row-per-day index is gone).
    assert _post(client, "/admin/calendar/new/", {"estate": str(estate.id), "day": "2026-06-03",
                                                  "note": "本小区"}).status_code == 302
    assert CalendarOverride.select().count() == 2


def test_audit_rows_belong_to_their_estate_and_its_supervisors(
        login_as, make_user, app, conn, estate, other):
    here = login_as("supervisor")
    there_user = make_user("eastboss", "supervisor", other)
    there = app.test_client()
    assert login(there, "eastboss").status_code == 302
    _post(here, "/admin/calendar/new/", {"estate": str(estate.id), "day": "2026-06-03",
                                         "note": "本小区停休"})
    closure = AuditLog.get(AuditLog.table == "calendar_override")
    assert closure.estate_id == estate.id
    # A failed login of a known user of TEST, and an export of TEST's grid.
    make_user("clerkx", "clerk", estate)
    stranger = app.test_client()
    assert login(stranger, "clerkx", "wrong-password").status_code == 401
    failed = AuditLog.get(AuditLog.action == "login_failed")
    assert failed.estate_id == estate.id
    assert here.get("/admin/unit/export/csv/").status_code == 200
    export = AuditLog.get(AuditLog.action == "export")
    assert export.estate_id == estate.id
    login_row = AuditLog.get(AuditLog.action == "login", AuditLog.user == there_user.id)
    assert login_row.estate_id == other.id

    def visible(client) -> set[int]:
        page = client.get("/admin/audit/?page_size=500").get_data(as_text=True)
        return {row.id for row in AuditLog.select() if f"id={row.id}&" in page
                or f"id={row.id}\"" in page}

    mine, theirs = visible(here), visible(there)
    for row in (closure, failed, export):
        assert row.id in mine and row.id not in theirs
    assert login_row.id in theirs and login_row.id not in mine
    # A company-wide change moves everybody's deadlines: every supervisor sees it.
    admin = login_as("admin")
    _post(admin, "/admin/calendar/new/", {"estate": "", "day": "2026-06-04", "note": "公司"})
    company = AuditLog.get(AuditLog.table == "calendar_override", AuditLog.estate.is_null())
    assert company.id in visible(here) and company.id in visible(there)


def test_upgrade_to_016_keeps_calendar_and_gives_old_audit_rows_their_estate(tmp_path):
    """Migration 016 on a database of schema 013: the office's days become the company-wide
    table, a known user's old login row gets the user's estate, nothing is lost (#11)."""
    from conftest import PG_URL

    import models
    from app import create_app
    from models.base import db

    if PG_URL:
        pytest.skip("the upgrade path is checked on a SQLite file of the older schema")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/old.db", "SECRET_KEY": "x"})
    stamp = "'2026-01-01 00:00:00'"
    with app.app_context():
        models.upgrade("013_department_supervisor")
        with db.connection_context():
            for sql in (
                f"INSERT INTO branch (created_at, updated_at, version, name, general_manager,"
                f" phone) VALUES ({stamp}, {stamp}, 1, '分公司', '', '')",
                f"INSERT INTO estate (created_at, updated_at, version, branch_id, code, name,"
                f" address, office_phone, active) VALUES ({stamp}, {stamp}, 1, 1, 'OLD',"
                f" '老小区', '', '', 1)",
                f"INSERT INTO app_user (created_at, updated_at, version, username, display_name,"
                f" password_hash, role, phone, active, can_reveal_id, session_generation,"
                f" dept_supervisor) VALUES ({stamp}, {stamp}, 1, 'old', 'old', '!', 'clerk', '',"
                f" 1, 0, 0, 0)",
                f"INSERT INTO user_estate (created_at, updated_at, user_id, estate_id)"
                f" VALUES ({stamp}, {stamp}, 1, 1)",
                f"INSERT INTO calendar_override (created_at, updated_at, version, day,"
                f" is_workday, note) VALUES ({stamp}, {stamp}, 1, '2027-02-08', 0, '春节')",
                f"INSERT INTO audit_log (created_at, updated_at, user_id, username, action,"
                f" \"table\", row_id, changes, summary) VALUES ({stamp}, {stamp}, 1, 'old',"
                f" 'login', 'app_user', 1, '{{}}', '登录')",
            ):
                db.execute_sql(sql)
        # Every later step runs on the filled database too (014–019 since the merge).
        assert "016_scope_and_money_first" in models.upgrade()
        with db.connection_context():
            day = CalendarOverride.get()
            assert (day.day, day.estate_id, day.note) == (dt.date(2027, 2, 8), None, "春节")
            assert AuditLog.get().estate_id == 1
