"""Phone intake and desk ergonomics (issue #12 items 1, 6, 8, 9)."""

from __future__ import annotations

import datetime as dt
import re

from conftest import csrf_token

from models.calendar import CalendarOverride, years_lacking_data
from models.org import Building, Resident, Unit


def _add_unit(estate, code: str, name: str) -> Unit:
    building = Building.get(Building.estate == estate)
    unit = Unit.create(estate=estate, building=building, room=code.rsplit("-", 1)[-1], code=code)
    Resident.create(estate=estate, unit=unit, name=name, phone="13700137000")
    return unit


def test_unit_lookup_offers_the_exact_flat_first(login_as, estate):
    """Typing 3-1-502 lists 3-1-502 before 13-1-502, so Enter picks the flat named (#12 item 8)."""
    _add_unit(estate, "13-1-502", "十三栋业主")
    _add_unit(estate, "3-1-502", "三栋业主")
    _add_unit(estate, "3-1-5021", "长号业主")
    client = login_as("clerk")
    found = client.get("/admin/resident/ajax/lookup/?name=unit&query=3-1-502").get_json()
    labels = [label for _, label in found]
    assert len(labels) == 3
    assert "3-1-502" in labels[0] and "13-1-502" not in labels[0]
    assert "13-1-502" in labels[-1]


def test_resident_grid_is_searchable_by_flat(login_as, estate):
    """The resident grid finds the caller by the flat they name (#12 item 8)."""
    _add_unit(estate, "7-2-303", "七栋业主")
    client = login_as("clerk")
    html = client.get("/admin/resident/?search=7-2-303").get_data(as_text=True)
    assert "七栋业主" in html and "业主101" not in html


def test_a_day_off_can_be_entered_in_the_calendar(login_as, conn):
    """The 上班 box left unchecked saves a holiday, not a browser refusal (#12 item 1)."""
    client = login_as("supervisor")
    form = client.get("/admin/calendar/new/").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="is_workday"[^>]*>', form).group(0)
    assert "required" not in checkbox
    response = client.post("/admin/calendar/new/", data={
        "csrf_token": csrf_token(client, "/admin/calendar/new/"),
        "day": "2027-02-08", "note": "2027年春节"})
    assert response.status_code == 302
    row = CalendarOverride.get(CalendarOverride.day == dt.date(2027, 2, 8))
    assert row.is_workday is False


def test_missing_years_are_named_until_marked_complete(login_as, conn):
    """The warning names each year without data and ends when the year is marked (#12 item 1)."""
    assert years_lacking_data([2026, 2027, 2028]) == [2027, 2028]
    CalendarOverride.create(day=dt.date(2027, 1, 1), is_workday=False, note="元旦")
    assert years_lacking_data([2027, 2028]) == [2027, 2028]
    client = login_as("supervisor")
    response = client.post("/admin/calendar_year/new/", data={
        "csrf_token": csrf_token(client, "/admin/calendar_year/new/"),
        "year": "2027", "note": "已录入"})
    assert response.status_code == 302
    assert years_lacking_data([2027, 2028]) == [2028]
