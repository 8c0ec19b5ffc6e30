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


def test_a_day_off_can_be_entered_in_the_calendar(login_as, conn, estate):
    """The 上班 box left unchecked saves a holiday, not a browser refusal (#12 item 1)."""
    client = login_as("supervisor")
    form = client.get("/admin/calendar/new/").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="is_workday"[^>]*>', form).group(0)
    assert "required" not in checkbox
    # Since #11 item 6 a supervisor enters their own estate's closure (the company-wide
    # schedule is the admins'): the form starts on the supervisor's estate.
    assert re.search(r'<option selected value="\d+">', form) or "selected" in form
    response = client.post("/admin/calendar/new/", data={
        "csrf_token": csrf_token(client, "/admin/calendar/new/"),
        "estate": str(estate.id), "day": "2027-02-08", "note": "2027年春节"})
    assert response.status_code == 302
    row = CalendarOverride.get(CalendarOverride.day == dt.date(2027, 2, 8))
    assert row.is_workday is False and row.estate_id == estate.id


def test_missing_years_are_named_until_marked_complete(login_as, conn):
    """The warning names each year without data and ends when the year is marked (#12 item 1)."""
    assert years_lacking_data([2026, 2027, 2028]) == [2027, 2028]
    CalendarOverride.create(day=dt.date(2027, 1, 1), is_workday=False, note="元旦")
    assert years_lacking_data([2027, 2028]) == [2027, 2028]
    client = login_as("admin")  # the official schedule is company-wide: admins (#11 item 6)
    response = client.post("/admin/calendar_year/new/", data={
        "csrf_token": csrf_token(client, "/admin/calendar_year/new/"),
        "year": "2027", "note": "已录入"})
    assert response.status_code == 302
    assert years_lacking_data([2027, 2028]) == [2028]


def _selected(html: str, name: str) -> str:
    """The option a browser would submit for the select `name` (the first if none is marked)."""
    select = re.search(r'<select[^>]*name="' + name + r'"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    options = re.findall(r'<option([^>]*)>([^<]*)</option>', select.group(1))
    chosen = [label for attrs, label in options if "selected" in attrs]
    return chosen[0] if chosen else options[0][1]


def test_required_choices_start_empty(login_as, estate):
    """No risky pre-selection on a new record (#12 item 6): 请选择 until a person chooses."""
    from models.guide import GuideCategory
    from models.surveys import SurveyRound

    GuideCategory.create(estate=estate, name="紧急求援电话", sort_order=1)
    SurveyRound.create(estate=estate, month=dt.date(2026, 1, 1), title="一月访问")
    client = login_as("admin")
    pages = {"/admin/demand/new/": ["category"], "/admin/emergency/new/": ["kind"],
             "/admin/guide_entry/new/": ["category"], "/admin/user/new/": ["role"],
             "/admin/survey_visit/new/": ["round", "service_score", "environment_score",
                                          "security_score", "engineering_score"]}
    for url, names in pages.items():
        html = client.get(url).get_data(as_text=True)
        for name in names:
            assert _selected(html, name) == "—— 请选择 ——", (url, name)
    # A default that is right for nearly every case stays: a demand is a request for help.
    assert _selected(client.get("/admin/demand/new/").get_data(as_text=True), "kind") == "求援"


def test_a_user_without_a_chosen_role_is_refused_at_the_field(login_as, estate):
    """Left on 请选择, the role is reported next to its field and nobody is created."""
    from models.users import User

    client = login_as("admin")
    response = client.post("/admin/user/new/", data={
        "csrf_token": csrf_token(client, "/admin/user/new/"), "username": "newbie",
        "display_name": "新人", "role": "__None", "password": "s3cret-Passw0rd!"})
    assert response.status_code == 200
    assert "此项必填" in response.get_data(as_text=True)
    assert not User.select().where(User.username == "newbie").exists()


def test_a_voided_pass_is_shown_as_voided_not_valid(login_as, estate):
    """A voided row's 状态 reads 已作废 in its details, never 有效 (#12 item 9)."""
    from models.passes import TemporaryPass
    from models.register import save_record, void_record
    from models.users import User

    client = login_as("supervisor")
    supervisor = User.get(User.username == "supervisor")
    issued = save_record(TemporaryPass(estate=estate.id, holder_name="快递员",
                                       id_number="11010519491231002X", purpose="送货"), supervisor)
    void_record(issued, supervisor, "录错")
    html = client.get(f"/admin/temporary_pass/details/?id={issued.id}").get_data(as_text=True)
    row = re.search(r"<b>状态</b>\s*</td>\s*<td>(.*?)</td>", html, re.S)
    assert row and "已作废" in row.group(1) and "有效" not in row.group(1)


def test_the_caller_is_found_by_phone_or_flat_exact_first(login_as, estate):
    """来电查找 above the new-demand form (#12 item 8): the flat or number the caller gives,
    exact match first; the user's estates only."""
    _add_unit(estate, "13-1-502", "十三栋业主")
    flat = _add_unit(estate, "3-1-502", "三栋业主")
    client = login_as("clerk")
    # One resident at the flat named: chosen at once, 13-1-502 is not offered instead.
    html = client.get("/admin/demand/new/?caller=3-1-502").get_data(as_text=True)
    assert 'id="caller-chosen"' in html and "三栋业主" in html
    assert 'id="caller-matches"' not in html
    # Owner and tenant at the flat: both listed, owner first, before the longer code.
    Resident.create(estate=estate, unit=flat, name="三栋租户", kind="tenant",
                    phone="13600136000")
    html = client.get("/admin/demand/new/?caller=3-1-502").get_data(as_text=True)
    table = re.search(r'id="caller-matches">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", table)
    assert rows == [("3-1-502", "三栋业主"), ("3-1-502", "三栋租户"),
                    ("13-1-502", "十三栋业主")]
    assert "13700137000" not in table and "137****7000" in table  # masked in the list


def test_a_caller_picked_fills_in_the_form_and_saving_lands_on_the_demand(login_as, estate):
    """Picked (or the only match), the caller's flat, name and phone are on the form; after
    saving, the number and deadline are said and the new demand's page opens (#12 item 8)."""
    from models.demands import Demand

    unit = _add_unit(estate, "7-2-303", "七栋业主")
    resident = Resident.get(Resident.unit == unit)
    client = login_as("clerk")
    html = client.get("/admin/demand/new/?caller=7-2-303").get_data(as_text=True)
    assert 'id="caller-chosen"' in html and "七栋业主" in html
    assert re.search(r'<input[^>]*name="contact_name"[^>]*value="七栋业主"', html)
    assert re.search(r'<input[^>]*name="contact_phone"[^>]*value="13700137000"', html)
    assert re.search(rf'name="unit"[^>]*value="{unit.id}"', html) or \
        re.search(rf'value="{unit.id}"[^>]*name="unit"', html)
    picked = client.get(f"/admin/demand/new/?resident={resident.id}").get_data(as_text=True)
    assert re.search(rf'name="resident"[^>]*value="{resident.id}"', picked) or \
        re.search(rf'value="{resident.id}"[^>]*name="resident"', picked)
    nobody = client.get("/admin/demand/new/?caller=9-9-999").get_data(as_text=True)
    assert 'id="caller-none"' in nobody

    from test_records import form_data

    data = form_data(client, f"/admin/demand/new/?resident={resident.id}")
    data.update({"channel": "phone", "kind": "help", "category": "engineering",
                 "description": "卫生间漏水"})
    response = client.post("/admin/demand/new/", data=data)
    assert response.status_code == 302
    demand = Demand.select().order_by(Demand.id.desc()).first()
    assert (demand.unit_id, demand.resident_id, demand.contact_phone) == (
        unit.id, resident.id, "13700137000")
    assert response.headers["Location"].endswith(f"/admin/demand/details/?id={demand.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"已登记 {demand.number}，答复期限：" in page


def test_a_caller_of_another_estate_is_not_offered(login_as, estate, make_user):
    """The lookup and the ?resident= prefill see only the user's estates (scoping)."""
    from models.estate import Estate
    from models.org import Cluster

    other = Estate.create(branch=estate.branch, code="ELSE", name="别的小区")
    cluster = Cluster.create(estate=other, name="外组团")
    building = Building.create(estate=other, cluster=cluster, name="外栋", floors=3)
    unit = Unit.create(estate=other, building=building, room="502", code="3-1-502")
    stranger = Resident.create(estate=other, unit=unit, name="外小区业主", phone="13600136000")
    client = login_as("clerk")
    html = client.get("/admin/demand/new/?caller=3-1-502").get_data(as_text=True)
    assert "外小区业主" not in html and 'id="caller-none"' in html
    html = client.get(f"/admin/demand/new/?resident={stranger.id}").get_data(as_text=True)
    assert "外小区业主" not in html and "13600136000" not in html


def test_the_work_order_slip_names_the_owner_and_the_phone(login_as, estate):
    """The worker arranges the visit from the slip (#12 item 8)."""
    from models.demands import Demand
    from models.org import Department
    from models.register import save_record

    client = login_as("clerk")
    unit = Unit.get(Unit.code == "1-1-101")
    demand = save_record(Demand(estate=estate.id, category="engineering", kind="help",
                                unit=unit.id, contact_name="来电业主", contact_phone="13912345678",
                                description="阳台漏水"), client.user)
    department = Department.get(Department.estate == estate, Department.kind == "engineering")
    order = demand.dispatch(client.user, department_id=department.id)
    html = client.get(f"/admin/work_order/print/?id={order.id}").get_data(as_text=True)
    row = re.search(r'id="slip-owner">(.*?)</tr>', html, re.S).group(1)
    assert "来电业主" in row and "13912345678" in row
