"""The 镜像状态 admin page: state per tab, "立即同步", and the preview/XLSX without Google."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from models.org import Resident
from models.register import AuditLog
from sync.http import EMULATOR_ENV
from sync.registers import MIRRORS
from sync.state import SheetTab, SheetTarget
from tests.conftest import csrf_token
from tests.sheets_fake import FakeSheets
from tests.sheets_helpers import SHEET_ID, expected_values

PAGE = "/admin/sheets/"


@pytest.fixture(autouse=True)
def no_emulator(monkeypatch):
    monkeypatch.delenv(EMULATOR_ENV, raising=False)


@pytest.fixture(scope="module")
def server():
    with FakeSheets() as fake:
        yield fake


@pytest.fixture
def fake(server, app):
    server.reset()
    server.create_spreadsheet(SHEET_ID, "测试花园 客服台账")
    app.config["SHEETS_EMULATOR_HOST"] = server.host
    return server


@pytest.fixture
def formula_note(estate):
    resident = Resident.get(Resident.name == "业主101")
    resident.notes = "=HYPERLINK(\"http://x\")"
    resident.save()


def test_supervisor_sees_the_preview_when_nothing_is_configured(login_as, formula_note):
    client = login_as("supervisor")
    html = client.get(PAGE).get_data(as_text=True)
    assert "镜像状态" in html and "尚未配置镜像表格" in html
    assert "未配置 Google 凭据" in html and "下载 XLSX" in html
    assert "住户" in html and "房屋" in html and "业主101" in html
    assert "138****8000" in html and "110105********002X" in html
    assert "11010519491231002X" not in html and "13800138000" not in html
    assert "立即同步" not in html


def test_the_xlsx_holds_exactly_what_the_tabs_would(login_as, estate, formula_note):
    client = login_as("director")
    response = client.get(f"/admin/sheets/xlsx?estate={estate.id}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [m.title for m in MIRRORS.values()]
    rows = [[("" if c.value is None else str(c.value)) for c in row] for row in book["住户"].rows]
    want = expected_values(estate.id)
    assert [r[:len(w)] for r, w in zip(rows, want, strict=True)] == want
    note = next(c for row in book["住户"].rows for c in row if c.value == want[1][-1])
    assert note.data_type == "s"  # a clerk's "=HYPERLINK(…)" is text, not a live formula
    export = AuditLog.get(AuditLog.action == "export")
    assert export.table == "sheet_preview" and "6 行" in export.summary


def test_clerks_and_strangers_are_kept_out(app, login_as, estate):
    clerk = login_as("clerk")
    assert clerk.get(PAGE).status_code == 403
    assert clerk.get(f"/admin/sheets/xlsx?estate={estate.id}").status_code == 403
    token = csrf_token(clerk, "/admin/")
    assert clerk.post("/admin/sheets/sync", data={"estate": estate.id,
                                                  "csrf_token": token}).status_code == 403
    anonymous = app.test_client().get(PAGE)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_only_the_users_estates(login_as, other_estate):
    client = login_as("supervisor")
    assert client.get(f"/admin/sheets/xlsx?estate={other_estate.id}").status_code == 404
    assert "别家小区" not in client.get(PAGE).get_data(as_text=True)


def test_sync_now_mirrors_and_shows_the_state(login_as, estate, fake):
    SheetTarget.create(estate=estate, spreadsheet_id=SHEET_ID)
    client = login_as("supervisor")
    html = client.get(PAGE).get_data(as_text=True)
    assert "立即同步" in html and "下载 XLSX" not in html
    assert client.post("/admin/sheets/sync", data={"estate": estate.id}).status_code == 400
    assert not fake.requests  # no CSRF token: nothing happened

    response = client.post("/admin/sheets/sync", data={
        "estate": estate.id, "csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 302
    assert fake.values(SHEET_ID, "住户") == expected_values(estate.id)
    html = client.get(PAGE).get_data(as_text=True)
    assert "住户：新建，共 3 行" in html and "请求数：3" in html  # the flashed report
    assert SheetTab.select().count() == len(MIRRORS)
    assert "从未" not in html and "<td>3</td>" in html


def test_a_failed_sync_shows_its_cause(login_as, estate, fake):
    SheetTarget.create(estate=estate, spreadsheet_id="no-such-spreadsheet")
    client = login_as("admin")
    client.post("/admin/sheets/sync", data={"estate": estate.id,
                                            "csrf_token": csrf_token(client, PAGE)})
    html = client.get(PAGE).get_data(as_text=True)
    assert "找不到该表格：请核对表格 ID" in html


def test_a_director_sets_the_spreadsheet_and_the_registers(login_as, estate):
    client = login_as("director")
    html = client.get(PAGE).get_data(as_text=True)
    assert "镜像设置" in html
    response = client.post("/admin/sheets/configure", data={
        "estate": estate.id, "registers": ["residents"],
        "spreadsheet": f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit",
        "csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 302
    target = SheetTarget.get(SheetTarget.estate == estate)
    assert target.spreadsheet_id == SHEET_ID
    assert target.disabled_registers() == set(MIRRORS) - {"residents"}
    entry = AuditLog.get(AuditLog.table == "sheet_target")
    assert entry.action == "create" and entry.username == "director"
    html = client.get(PAGE).get_data(as_text=True)
    assert "已保存测试花园的镜像表格设置" in html
    # the preview follows the switches (a tab's name is the sheet's: marked lang=zh, #12 item 2)
    assert '<h5><span lang="zh">住户</span> ' in html
    assert '<h5><span lang="zh">房屋</span> ' not in html

    client.post("/admin/sheets/configure", data={
        "estate": estate.id, "spreadsheet": "not an id", "csrf_token": csrf_token(client, PAGE)})
    assert "表格 ID 只能包含字母、数字" in client.get(PAGE).get_data(as_text=True)
    assert SheetTarget.get().spreadsheet_id == SHEET_ID


def test_a_supervisor_may_not_change_the_target(login_as, estate):
    client = login_as("supervisor")
    assert "镜像设置" not in client.get(PAGE).get_data(as_text=True)
    response = client.post("/admin/sheets/configure", data={
        "estate": estate.id, "spreadsheet": SHEET_ID, "csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 403
    assert not SheetTarget.select().exists()
