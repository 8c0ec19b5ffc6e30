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
