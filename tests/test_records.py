"""Saving, conflicts, voiding, audit, masking and Chinese error messages through the admin (#2)."""

from __future__ import annotations

import re

from conftest import csrf_token

from models.org import Resident, Unit
from models.register import AuditLog
from views.scoping import VoidStateFilter


def form_data(client, url: str) -> dict:
    """The fields of a form page as a browser would submit them (inputs, selects, textareas)."""
    html = client.get(url).get_data(as_text=True)
    data = {}
    for tag in re.finditer(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag.group(0))
        if not name or 'type="submit"' in tag.group(0) or 'type="checkbox"' in tag.group(0):
            continue
        value = re.search(r'value="([^"]*)"', tag.group(0))
        data[name.group(1)] = value.group(1) if value else ""
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', select.group(2)) or \
            re.search(r'<option value="([^"]*)" selected', select.group(2))
        data[select.group(1)] = chosen.group(1) if chosen else ""
    for area in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[area.group(1)] = area.group(2).strip()
    return data


def test_create_resident_through_the_form_is_audited(login_as, conn):
    client = login_as("clerk")
    unit = Unit.get(Unit.code == "1-1-102")
    data = form_data(client, "/admin/resident/new/")
    data.update({"unit": str(unit.id), "name": "李四", "kind": "tenant",
                 "phone": "+86 139-0013-9000", "doc_type": "resident_id",
                 "id_number": "11010519491231002x", "moved_in": "2026-11-01"})
    response = client.post("/admin/resident/new/", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    resident = Resident.get(Resident.name == "李四")
    assert resident.phone == "13900139000"  # normalised
    assert resident.id_number == "11010519491231002X"
    assert resident.created_by_id == client.user.id
    entry = AuditLog.get(AuditLog.action == "create", AuditLog.table == "resident",
                         AuditLog.row_id == resident.id)
    assert entry.username == "clerk" and entry.estate_id == resident.estate_id
    assert entry.changes_dict["name"] == [None, "李四"]
    assert entry.changes_dict["id_number"] == [None, "110105********002X"]  # masked in the log


def test_bad_input_gets_chinese_messages_next_to_fields(login_as, conn):
    client = login_as("clerk")
    unit = Unit.select().first()
    before = Resident.select().count()
    data = form_data(client, "/admin/resident/new/")
    data.update({"unit": str(unit.id), "name": "王五", "kind": "owner", "phone": "1380013",
                 "doc_type": "resident_id", "id_number": "110105194912310021",
                 "moved_in": "2026-11-02", "moved_out": "2026-11-01"})
    response = client.post("/admin/resident/new/", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "电话号码格式不正确" in html
    assert "校验位不正确" in html
    assert "迁出日期不能早于入住日期" in html
    assert 'value="王五"' in html  # nothing typed is lost
    assert Resident.select().count() == before


def test_stale_form_is_refused_and_nothing_is_lost(login_as, conn):
    first = login_as("clerk")
    second = login_as("supervisor")
    resident = Resident.get(Resident.name == "业主101")
    url = f"/admin/resident/edit/?id={resident.id}"
    mine = form_data(first, url)
    theirs = form_data(second, url)
    theirs["phone"] = "13700137000"
    assert second.post(url, data=theirs).status_code == 302
    mine["notes"] = "业主来电：下午在家"
    response = first.post(url, data=mine)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "已被其他人修改" in html
    assert "业主来电：下午在家" in html  # the clerk's text is still in the form
    fresh = Resident.get_by_id(resident.id)
    assert fresh.phone == "13700137000" and fresh.notes == ""
    assert fresh.version == resident.version + 1
    # Reopening shows the latest version, and saving it works.
    again = form_data(first, url)
    again["notes"] = "业主来电：下午在家"
    assert first.post(url, data=again).status_code == 302
    assert Resident.get_by_id(resident.id).notes == "业主来电：下午在家"


def test_edit_records_field_level_before_and_after(login_as, conn):
    client = login_as("clerk")
    resident = Resident.get(Resident.name == "业主102")
    url = f"/admin/resident/edit/?id={resident.id}"
    data = form_data(client, url)
    data["phone"] = "0755-86008888"
    assert client.post(url, data=data).status_code == 302
    entry = AuditLog.get(AuditLog.action == "update", AuditLog.row_id == resident.id)
    assert entry.changes_dict == {"phone": ["13800138000", "0755-86008888"]}


def test_void_keeps_the_row_hides_it_and_audits(login_as, conn):
    client = login_as("supervisor")
    resident = Resident.get(Resident.name == "业主201")
    url = f"/admin/resident/void/?id={resident.id}"
    token = csrf_token(client, url)
    refused = client.post(url, data={"csrf_token": token, "reason": "  ",
                                     "row_version": resident.version})
    assert "请填写作废原因" in refused.get_data(as_text=True)
    assert not Resident.get_by_id(resident.id).voided
    done = client.post(url, data={"csrf_token": token, "reason": "重复登记",
                                  "row_version": resident.version})
    assert done.status_code == 302
    row = Resident.get_by_id(resident.id)
    assert row.voided and row.void_reason == "重复登记" and row.voided_by_id == client.user.id
    row_link = f"details/?id={resident.id}&"
    assert row_link not in client.get("/admin/resident/").get_data(as_text=True)
    # The 作废状态 filter shows it again; "valid" (the default) does not.
    assert row_link in filtered(client, "resident", "voided")
    assert row_link in filtered(client, "resident", "all")
    assert row_link not in filtered(client, "resident", "valid")
    entry = AuditLog.get(AuditLog.action == "void", AuditLog.row_id == resident.id)
    assert entry.changes_dict["void_reason"] == [None, "重复登记"]
    assert client.get("/admin/resident/delete/").status_code in (403, 404, 405)
    again = client.post(url, data={"csrf_token": token, "reason": "再次", "row_version": 2})
    assert "该记录已于" in again.get_data(as_text=True)
    assert AuditLog.select().where(AuditLog.action == "void").count() == 1


def filtered(client, endpoint: str, value: str) -> str:
    """The list with the 作废状态 filter set, as the filter widget submits it."""
    admin = client.application.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", "") == endpoint)
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, VoidStateFilter))
    return client.get(f"/admin/{endpoint}/?flt0_{index}={value}").get_data(as_text=True)


def test_id_numbers_are_masked_and_reveal_is_audited(login_as, conn):
    resident = Resident.get(Resident.name == "业主101")
    clerk = login_as("clerk")
    listing = clerk.get("/admin/resident/").get_data(as_text=True)
    assert "11010519491231002X" not in listing and "110105********002X" in listing
    details = clerk.get(f"/admin/resident/details/?id={resident.id}").get_data(as_text=True)
    assert "11010519491231002X" not in details and "显示完整" not in details
    token = csrf_token(clerk, "/admin/")
    assert clerk.post(f"/admin/resident/reveal/?id={resident.id}",
                      data={"csrf_token": token, "field": "id_number"}).status_code == 403
    director = login_as("director")
    details = director.get(f"/admin/resident/details/?id={resident.id}").get_data(as_text=True)
    assert "显示完整证件号码" in details
    token = csrf_token(director, "/admin/")
    shown = director.post(f"/admin/resident/reveal/?id={resident.id}",
                          data={"csrf_token": token, "field": "id_number"})
    assert "11010519491231002X" in shown.get_data(as_text=True)
    assert AuditLog.select().where(AuditLog.action == "reveal",
                                   AuditLog.row_id == resident.id).count() == 1


def test_list_shows_chinese_labels_and_choice_names(login_as):
    html = login_as("clerk").get("/admin/resident/").get_data(as_text=True)
    assert "证件号码" in html and "联系电话" in html
    assert ">业主<" in html or "业主\n" in html
