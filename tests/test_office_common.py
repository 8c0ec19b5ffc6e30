"""The office's other registers as a whole (#5): schema, every grid and page for every role,
estate scoping, export, and the demo rows. Helpers here are shared by tests/test_office_*.py."""

from __future__ import annotations

import datetime as dt
import random
import re
from zoneinfo import ZoneInfo

import pytest
from conftest import csrf_token

import models
from demo.office import seed_office
from models.base import db, utcnow
from models.org import Building, Unit
from models.register import AuditLog
from models.users import User, UserEstate

SHANGHAI = ZoneInfo("Asia/Shanghai")

OFFICE_TABLES = (
    "guide_category", "guide_entry", "print_job", "emergency", "emergency_step", "move_in",
    "service_batch", "service_registration", "shift", "roster_entry", "duty_director",
    "shift_log", "survey_round", "survey_visit", "committee_contact", "committee_item",
    "tenancy", "ownership_transfer",
)
GRIDS = ("print_job", "emergency", "emergency_step", "move_in", "service_registration",
         "service_batch", "tenancy", "ownership_transfer", "guide_entry", "guide_category",
         "shift_log", "duty_director", "roster_entry", "shift", "survey_round", "survey_visit",
         "committee_contact", "committee_item")


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    """An office wall-clock moment as an aware datetime."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def today() -> dt.date:
    return utcnow().astimezone(SHANGHAI).date()


def ago(**delta) -> dt.datetime:
    return utcnow() - dt.timedelta(**delta)


def make_staff(estate, *people) -> dict[str, User]:
    """Accounts of the estate (model tests: nobody logs in). people: (username, role, dept)."""
    people = people or (("clerk", "clerk", "cs"), ("clerk2", "clerk", "cs"),
                        ("supervisor", "supervisor", "cs"), ("director", "director", None),
                        ("engineer", "dept", "engineering"),
                      # Move-in step 5 is finance's (R-MOVE-1, #11): the seed needs a cashier.
                      ("finance", "dept", "finance"))
    users = {}
    for username, role, department in people:
        users[username] = User.create(username=username, display_name=username, role=role,
                                      department=department, password_hash="!")
        UserEstate.create(user=users[username], estate=estate)
    return users


def post(client, url: str, data: dict):
    """Post a small action form with the session's CSRF token, as the browser does."""
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/"), **data})


def field_errors(response) -> list[str]:
    """The messages shown next to fields (and flashed at the top) on a refused form."""
    html = response.get_data(as_text=True)
    return (re.findall(r'invalid-feedback[^>]*>\s*(?:<ul[^>]*>\s*<li>)?([^<]+)', html)
            + re.findall(r'alert-danger[^>]*>\s*(?:<button[^>]*>.*?</button>)?\s*([^<]+)',
                         html, re.S))


def test_migration_007_matches_the_models(conn):
    """The hand-written migration creates exactly the columns and partial indexes declared."""
    mine = [m for m in models.MODELS if m._meta.table_name in OFFICE_TABLES]
    assert len(mine) == len(OFFICE_TABLES)
    for model in mine:
        columns = {c.name for c in db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model
        names = {i.name for i in db.get_indexes(model._meta.table_name)}
        for index in model._meta.indexes:
            if not isinstance(index, tuple):  # the partial unique ones, by name
                assert index._name in names, (model, index._name)


def test_every_grid_opens_for_the_desk_and_hides_other_estates(login_as, conn, other_estate):
    clerk = login_as("clerk")
    for endpoint in GRIDS:
        response = clerk.get(f"/admin/{endpoint}/")
        assert response.status_code == 200, endpoint
        assert "别家小区" not in response.get_data(as_text=True)
    for page in ("/admin/roster/", "/admin/print_job/monthly/", "/admin/guide_entry/booklet/"):
        assert clerk.get(page).status_code == 200, page
    assert clerk.get("/admin/print_job/monthly/print/?month=2026-11").status_code == 200
    assert clerk.get("/admin/roster/print/?month=2026-11").status_code == 200


def test_anonymous_and_viewer_access(app, login_as, conn):
    anonymous = app.test_client()
    assert anonymous.get("/admin/emergency/").status_code == 302  # to the login page
    viewer = login_as("viewer")
    assert viewer.get("/admin/tenancy/").status_code == 200
    assert viewer.get("/admin/tenancy/new/").status_code == 403
    assert viewer.get("/admin/roster/fill/").status_code == 403
    export = viewer.get("/admin/print_job/export/csv/")
    assert export.status_code == 200 and export.get_data(as_text=True).startswith("\ufeff")
    assert AuditLog.select().where(AuditLog.action == "export",
                                   AuditLog.table == "print_job").exists()


@pytest.fixture
def demo_staff(estate):
    return make_staff(estate, ("clerk", "clerk", "cs"), ("clerk01", "clerk", "cs"),
                      ("clerk02", "clerk", "cs"), ("clerk03", "clerk", "cs"),
                      ("supervisor", "supervisor", "cs"), ("director", "director", None),
                      ("engineer", "dept", "engineering"),
                      # Move-in step 5 is finance's (R-MOVE-1, #11): the seed needs a cashier.
                      ("finance", "dept", "finance"))


def test_demo_rows_obey_the_rules(conn, estate, demo_staff):
    """seed_office goes through the models' own methods; every register gets rows."""
    building = Building.get()
    for room in ("301", "302"):  # flats not yet handed over, for the move-in checklist
        Unit.create(estate=estate, building=building, room=room, code=f"1-1-{room}")
    counts = seed_office(estate, random.Random(5))
    assert all(value >= 0 for value in counts.values())
    for table in OFFICE_TABLES:
        if table in ("tenancy", "ownership_transfer"):
            continue  # the small test estate has no owner of long enough standing
        assert db.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0, table
