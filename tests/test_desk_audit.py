"""What #12's audit found still open (items 2, 3, 4, 5, 7 and 9), through the test client.

Item 5: the resident edit form showed the full 18-digit ID number to clerks, who get 403 on
查看完整证件号 — the form shows it masked unless the user may reveal it, and saving the form
as shown keeps the stored number. Item 4: one vertical tab in a row made the Sheets preview's
XLSX answer 500 — the preview drops what a spreadsheet cannot hold, as the exports do.
Item 3: the owners' report form (H5) and the phone's patrol form stopped at their first problem.
Item 7: a typed id above 2^63 on the phone pages and the H5 answered 500 (the hostile-URL crawl
covers /admin only). Item 9: a row action refused as stale offered no link and kept failing.
Item 2: two plain forms (排满一个月, 审批) said WTForms' messages in English; a weekday
stayed Chinese.
"""

from __future__ import annotations

import io
import re

from conftest import csrf_token
from decoration_support import apply, to_permit
from decoration_support import make_staff as decoration_staff
from openpyxl import load_workbook
from test_office_batches import next_weekday
from test_office_common import make_staff
from test_office_printing import job
from test_patrols import post_patrol
from test_records import form_data

from models.approvals import ApprovalRequest
from models.base import utcnow
from models.demands import Demand
from models.keys import KeySet
from models.org import Resident, Unit
from models.patrols import DecorationPatrol
from models.register import AuditLog, change_record, save_record
from models.users import User
from views.security import RowId

FULL, MASKED = "11010519491231002X", "110105********002X"


def test_a_clerk_edits_a_resident_without_seeing_the_full_id_number(login_as, estate):
    client = login_as("clerk")
    resident = Resident.get(Resident.name == "业主101")
    url = f"/admin/resident/edit/?id={resident.id}"
    html = client.get(url).get_data(as_text=True)
    assert FULL not in html and f'value="{MASKED}"' in html
    data = form_data(client, url)
    assert data["id_number"] == MASKED
    # Saved as shown: the number stays; the other change is made.
    data["name"] = "业主101甲"
    assert client.post(url, data=data).status_code == 302
    fresh = Resident.get_by_id(resident.id)
    assert (fresh.name, fresh.id_number) == ("业主101甲", FULL)
    # A refused save shows it masked still; the stored number is untouched.
    data = {**form_data(client, url), "phone": "99"}
    html = client.post(url, data=data).get_data(as_text=True)
    assert "电话号码格式不正确" in html and FULL not in html and f'value="{MASKED}"' in html
    # A number typed in its place replaces it, and is checked like any.
    data = {**form_data(client, url), "id_number": "110105194912310020"}
    assert "校验位不正确" in client.post(url, data=data).get_data(as_text=True)
    data["id_number"] = "110105195001010012"
    assert client.post(url, data=data).status_code == 302
    assert Resident.get_by_id(resident.id).id_number == "110105195001010012"


def test_a_stale_form_posting_the_old_mask_reports_the_change_not_a_bad_number(login_as,
                                                                              estate):
    """The clerk's form shows 110105********002X; meanwhile somebody changes the number. The
    old mask posted back is "left as shown": the save is refused as stale, the field says it
    was changed by someone else, and the mask is not judged as an ID number."""
    client = login_as("clerk")
    resident = Resident.get(Resident.name == "业主101")
    url = f"/admin/resident/edit/?id={resident.id}"
    data = {**form_data(client, url), "name": "业主101乙"}
    assert data["id_number"] == MASKED
    change_record(Resident.get_by_id(resident.id), User.get(User.username == "clerk"),
                  id_number="110105195001010012")
    html = client.post(url, data=data).get_data(as_text=True)
    assert 'id="newer-version"' in html and "他人已修改此项" in html
    assert "校验位" not in html and "格式" not in html
    assert "110105195001010012" not in html  # still masked to the clerk
    fresh = Resident.get_by_id(resident.id)
    assert (fresh.name, fresh.id_number) == ("业主101", "110105195001010012")
    # Saving again, as the form now stands on the newer version, keeps the newer number.
    again = {**data, "id_number": "110105********0012",
             "row_version": re.search(r'name="row_version"[^>]*value="(\d+)"', html).group(1)}
    assert client.post(url, data=again).status_code == 302
    fresh = Resident.get_by_id(resident.id)
    assert (fresh.name, fresh.id_number) == ("业主101乙", "110105195001010012")


def test_who_may_reveal_sees_the_number_in_the_form(login_as, estate):
    client = login_as("director")
    resident = Resident.get(Resident.name == "业主102")
    html = client.get(f"/admin/resident/edit/?id={resident.id}").get_data(as_text=True)
    assert f'value="{FULL}"' in html


def test_the_sheets_preview_xlsx_drops_control_characters(login_as, estate):
    # Saving refuses them now; rows written before (or by hand in the database) may hold one.
    Resident.update(notes="卫生间\x0b=1+1").where(Resident.name == "业主101").execute()
    client = login_as("director")
    response = client.get(f"/admin/sheets/xlsx?estate={estate.id}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    values = [c.value for sheet in book.worksheets for row in sheet.rows for c in row]
    assert "卫生间=1+1" in values and not [v for v in values if "\x0b" in str(v or "")]
    assert AuditLog.get(AuditLog.action == "export").table == "sheet_preview"


def test_an_owners_report_says_every_problem_at_once(app, estate):
    """Item 3 on the owners' H5: no category, no description and a past reply time, together."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["h5_owner"] = {"phone": "13800138000", "since": utcnow().isoformat()}
    unit = Unit.get(Unit.code == "1-1-101")
    token = csrf_token(client, "/h5/new")
    response = client.post("/h5/new", data={"csrf_token": token, "unit": unit.id,
                                             "kind": "help", "category": "", "description": "",
                                             "requested": "2020-01-01T08:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    feedback = re.findall(r'invalid-feedback[^>]*>([^<]+)<', html)
    assert feedback == ["请选择类别", "请描述您的问题或建议", "要求答复时间不能早于受理时间"]
    assert 'value="2020-01-01T08:00"' in html  # what was typed is kept
    assert not Demand.select().exists()


def test_a_patrol_with_a_malformed_date_says_the_other_problems_too(login_as, estate, conn,
                                                                   tmp_path):
    """Item 3 on the phone's patrol form: a malformed 整改期限 with no findings, together."""
    staff = decoration_staff(estate)
    decoration = to_permit(apply(estate, staff["clerk"], tmp_path), staff)
    guard = login_as("dept", "guard", department="security")
    response = post_patrol(guard, decoration, findings="", violations=["noise"],
                           follow_up="rectify", rectify_by="下周五")
    assert response.status_code == 400
    errors = response.json["errors"]
    assert set(errors) == {"findings", "rectify_by"}
    assert errors["rectify_by"] == ["整改期限格式应为 年-月-日"]
    assert not DecorationPatrol.select().exists()


def test_a_stale_row_action_links_the_newer_version_and_can_be_taken_again(login_as, estate):
    """Item 9 on the row actions: a step refused because someone else saved the row since the
    form opened says so with a link; the form then carries the newer version, so submitting
    again after checking is judged by the row as it is now, not refused forever."""
    client = login_as("clerk")
    clerk = User.get(User.username == "clerk")
    keys = save_record(KeySet(estate=estate.id, unit=Unit.get(Unit.code == "1-1-101").id,
                              label="大门钥匙", sets=2), clerk)
    url = f"/admin/key_set/issue/?id={keys.id}"
    data = {**form_data(client, url), "owner_name": "张三"}
    change_record(KeySet.get_by_id(keys.id), clerk, label="大门钥匙（两把）")
    html = client.post(url, data=data).get_data(as_text=True)
    assert 'id="newer-version"' in html and f"/admin/key_set/details/?id={keys.id}" in html
    assert 'value="张三"' in html and KeySet.get_by_id(keys.id).location == "office"
    again = {**data, "row_version": re.search(r'name="row_version" value="(\d+)"',
                                              html).group(1)}
    assert client.post(url, data=again).status_code == 302
    assert KeySet.get_by_id(keys.id).location == "owner"


def test_a_typed_id_no_column_holds_is_no_page_on_the_phone_pages_and_the_h5(app, login_as,
                                                                            estate):
    """Item 7 beyond /admin: every route with a number in its path (/m/…, /h5/…), asked with
    2^64 by a department's staff and by a signed-in owner, is 404 or 405, never a 500."""
    engineer = login_as("dept", "eng", department="engineering")
    owner = app.test_client()
    with owner.session_transaction() as session:
        session["h5_owner"] = {"phone": "13800138000", "since": utcnow().isoformat()}
    assert app.url_map.converters["int"] is RowId
    numbered = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert len(numbered) >= 8
    for rule in numbered:
        path = re.sub(r"<[^>]+>", str(2 ** 64), rule.rule)
        client = owner if path.startswith("/h5/") else engineer
        token = csrf_token(client, "/h5/" if client is owner else "/m/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code in (404, 405), (method, path, response.status_code)


def test_the_plain_forms_outside_the_row_actions_speak_chinese_too(login_as, estate):
    """Item 2: 按轮换排满一个月 and 待我审批's decision form were built without the desk's
    WTForms catalogue: a bad pick or a long note was said in English."""
    director = login_as("director")
    token = csrf_token(director, "/admin/")
    page = director.post(f"/admin/roster/fill/?estate={estate.id}",
                         data={"csrf_token": token, "month": "2026-12", "clerks": ["abc"]})
    assert "选择无效" in page.get_data(as_text=True)
    pending = job(estate, make_staff(estate, ("asker", "clerk", "cs"))["asker"])
    url = f"/admin/approval_queue/decide/?id={ApprovalRequest.pending_for(pending, 'approve').id}"
    page = director.post(url, data={"csrf_token": token, "decision": "approve", "note": "长" * 201})
    html = page.get_data(as_text=True)
    assert "字段长度不能超过 200 个字符" in html and "Field cannot" not in html


def test_a_batch_on_a_weekday_names_the_day_in_english_under_the_switch(login_as, estate):
    """Item 2: the weekday in 锁芯…统一安排在周六、周日 was a Chinese word in the English page."""
    client = login_as("supervisor")
    token = csrf_token(client, "/admin/")
    client.post("/lang", data={"lang": "en", "next": "/admin/", "csrf_token": token})
    day = next_weekday(2)  # a Wednesday
    data = {**form_data(client, "/admin/service_batch/new/"), "kind": "lock",
            "day": day.isoformat()}
    html = client.post("/admin/service_batch/new/", data=data).get_data(as_text=True)
    assert f"{day:%Y-%m-%d} is a Wednesday" in html and "星期" not in html
