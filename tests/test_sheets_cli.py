"""`flask --app app sheets configure|sync|check|import`, through Flask's CLI runner.

The commands reach the fake Sheets server the way an operator would reach any emulator: through
the SHEETS_EMULATOR_HOST setting.
"""

from __future__ import annotations

import json

import pytest

from models.org import Resident, Unit
from models.register import AuditLog
from sync.http import EMULATOR_ENV
from sync.registers import MIRRORS
from sync.state import SheetTab, SheetTarget
from tests.sheets_fake import FakeSheets
from tests.sheets_helpers import SHEET_ID, expected_values

SOURCE = "1OldOfficeSheet_0123456789"


@pytest.fixture(scope="module")
def server():
    with FakeSheets() as fake:
        yield fake


@pytest.fixture
def fake(server, app, monkeypatch):
    server.reset()
    server.create_spreadsheet(SHEET_ID, "测试花园 客服台账")
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    app.config["SHEETS_EMULATOR_HOST"] = server.host
    return server


@pytest.fixture
def cli(app, estate):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=["sheets", *args])

    return invoke


@pytest.fixture
def configured(cli, fake):
    result = cli("configure", "--estate", "TEST", "--spreadsheet", SHEET_ID)
    assert result.exit_code == 0, result.output
    return result


# --- configure -----------------------------------------------------------------------------------


def test_configure_sets_the_spreadsheet_and_the_register_switches(cli, fake, estate):
    url = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0"
    result = cli("configure", "--estate", "test", "--spreadsheet", url, "--disable", "房屋")
    assert result.exit_code == 0, result.output
    assert f"已配置：小区 TEST（测试花园）→ 表格 {SHEET_ID}" in result.output
    assert "镜像：住户" in result.output and f"模拟器 {fake.host}" in result.output
    target = SheetTarget.get(SheetTarget.estate == estate)
    assert target.spreadsheet_id == SHEET_ID and target.disabled_registers() == {"units"}
    result = cli("configure", "--estate", "TEST", "--spreadsheet", SHEET_ID, "--enable", "units")
    assert "镜像：房屋、住户" in result.output
    assert SheetTarget.select().count() == 1 and not target.disabled_registers()


def test_configure_refuses_what_cannot_work(cli, fake, estate, other_estate, tmp_path):
    assert "找不到代码为 NOPE 的小区" in cli("configure", "--estate", "NOPE",
                                             "--spreadsheet", SHEET_ID).output
    assert "只能包含字母" in cli("configure", "--estate", "TEST", "--spreadsheet", "a b").output
    cli("configure", "--estate", "OTHER", "--spreadsheet", SHEET_ID)
    taken = cli("configure", "--estate", "TEST", "--spreadsheet", SHEET_ID)
    assert taken.exit_code != 0 and "该表格已被小区 OTHER 使用" in taken.output
    bad = tmp_path / "key.json"
    bad.write_text('{"type": "authorized_user"}')
    result = cli("configure", "--estate", "TEST", "--spreadsheet", "x1", "--credentials", str(bad))
    assert result.exit_code != 0 and "不是 Google 服务账号的 JSON 密钥" in result.output
    assert not SheetTarget.select().where(SheetTarget.estate == estate).exists()


def test_configure_keeps_a_credentials_file(app, cli, estate, tmp_path, monkeypatch):
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "m@x.iam",
                               "private_key": "-----BEGIN PRIVATE KEY-----"}))
    result = cli("configure", "--estate", "TEST", "--spreadsheet", SHEET_ID,
                 "--credentials", str(key))
    assert result.exit_code == 0, result.output
    assert f"连接：{key}" in result.output
    assert SheetTarget.get().credentials_file == str(key)


def test_a_new_spreadsheet_forgets_the_old_tabs(cli, configured, fake):
    assert cli("sync").exit_code == 0
    assert SheetTab.select().count() == len(MIRRORS)
    fake.create_spreadsheet("another-sheet", "新表格")
    cli("configure", "--estate", "TEST", "--spreadsheet", "another-sheet")
    assert SheetTab.select().count() == 0 and SheetTarget.get().marker_sheet_id is None
    assert cli("sync").exit_code == 0
    assert "住户" in fake.tab_titles("another-sheet")


# --- sync and check ------------------------------------------------------------------------------


def test_sync_prints_the_plan_and_the_request_count(cli, configured, fake, estate):
    first = cli("sync", "--estate", "TEST")
    assert first.exit_code == 0, first.output
    assert "住户：新建，共 3 行（新增 3 行" in first.output and "请求数：3" in first.output
    assert fake.values(SHEET_ID, "住户") == expected_values(estate.id)
    second = cli("sync")
    # Two reads since #15: the metadata (tabs by sheet id) and a few rows.
    assert "住户：无变化，共 3 行" in second.output and "请求数：2" in second.output

    Resident.create(estate=estate, unit=Unit.get(Unit.code == "1-1-101"), name="新住户")
    fake.requests.clear()
    dry = cli("sync", "--dry-run", "--register", "住户")
    assert dry.exit_code == 0, dry.output
    assert "（演练，不写入）" in dry.output and "住户：更新，共 4 行（新增 1 行" in dry.output
    assert "合计 4 个请求" in dry.output and "房屋" not in dry.output  # #15: + metadata
    assert {r.method for r in fake.requests} == {"GET"}
    assert fake.values(SHEET_ID, "住户") != expected_values(estate.id)


def test_sync_reports_mistakes_in_chinese(cli, configured):
    result = cli("sync", "--register", "demandz")
    assert result.exit_code == 1
    assert "没有名为“demandz”的登记簿镜像；可选：units（房屋）、residents（住户）" in result.output
    result = cli("sync", "--estate", "OTHER")
    assert result.exit_code == 1 and "找不到代码为 OTHER 的小区" in result.output


def test_sync_failure_exits_non_zero(cli, configured, fake):
    fake.fail_next(403, times=10)
    result = cli("sync")
    assert result.exit_code == 1
    assert "没有访问该表格的权限" in result.output


def test_check_verifies_credentials_access_and_layout(app, cli, configured, fake):
    before = cli("check")
    assert before.exit_code == 0, before.output
    assert "访问：正常（《测试花园 客服台账》）" in before.output
    assert "需要同步：住户：新建" in before.output
    cli("sync")
    after = cli("check")
    assert "正常：住户：无变化" in after.output and "正常：房屋：无变化" in after.output

    fake.delete_spreadsheet(SHEET_ID)
    gone = cli("check")
    assert gone.exit_code == 1 and "访问：失败——找不到该表格：请核对表格 ID" in gone.output
    app.config["SHEETS_EMULATOR_HOST"] = None
    none = cli("check")
    assert none.exit_code == 1 and "凭据：未设置" in none.output


# --- import --------------------------------------------------------------------------------------

HEADER = ["房号", "业主姓名", "身份", "手机", "身份证", "入住时间", "备注", "楼盘"]
GOOD = [
    ["1-1-101", "王芳", "租户", "139 0013 9000", "11010519491231002X", "2024-05-01", "=SUM(A1)",
     "测试花园"],
    ["1-1-201", "赵强", "业主", "", "", "2024/6/1", "", "测试花园"],
]
BAD = [
    ["9-9-999", "钱七", "业主", "", "", "", "", ""],
    ["1-1-102", "孙八", "房东", "1380013", "110105********002X", "昨天", "", ""],
    ["1-1-101", "", "", "", "", "", "", ""],
    ["1-1-101", "王芳", "租户", "", "", "", "", ""],
]
MAPPING = {"房号": "房屋", "业主姓名": "name", "手机": "联系电话", "身份证": "id_number",
           "入住时间": "moved_in"}


@pytest.fixture
def source(fake, tmp_path):
    fake.create_spreadsheet(SOURCE, "旧台账", tabs=["老台账"])

    def fill(rows):
        fake.set_values(SOURCE, "老台账", [HEADER, *rows])

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    fill.mapping = str(mapping)
    return fill


def _import(cli, mapping, *extra):
    return cli("import", "--register", "residents", "--spreadsheet", SOURCE, "--tab", "老台账",
               "--mapping", mapping, *extra)


def test_import_reports_every_bad_row_in_chinese_and_writes_nothing(cli, source, estate):
    source(GOOD + BAD)
    residents, audits = Resident.select().count(), AuditLog.select().count()
    result = _import(cli, source.mapping)
    assert result.exit_code == 1
    out = result.output
    assert "发现" in out and "未导入任何记录" in out
    assert "第 4 行：房屋：找不到“9-9-999”" in out
    assert "第 5 行：身份：“房东”应为以下之一：业主、租户、家庭成员" in out
    assert "第 5 行：联系电话：电话号码格式不正确" in out
    assert "第 5 行：证件号码：“110105********002X”是打码后的号码" in out
    assert "第 5 行：入住日期：“昨天”日期格式不正确" in out
    assert "第 6 行：姓名：此项必填" in out
    assert "第 7 行：与第 2 行重复" in out
    assert "未使用的列：楼盘" in out
    assert (Resident.select().count(), AuditLog.select().count()) == (residents, audits)


def test_import_is_idempotent_and_a_dry_run_writes_nothing(cli, source, estate):
    source(GOOD)
    count = Resident.select().count()
    dry = _import(cli, source.mapping, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "将新增 2 条，已存在（跳过）0 条（演练，未写入）" in dry.output
    assert Resident.select().count() == count

    first = _import(cli, source.mapping)
    assert first.exit_code == 0, first.output
    assert "已新增 2 条，已存在（跳过）0 条" in first.output
    wang = Resident.get(Resident.name == "王芳")
    assert (wang.kind, wang.phone, wang.id_number, wang.notes) == (
        "tenant", "13900139000", "11010519491231002X", "=SUM(A1)")
    assert wang.moved_in.isoformat() == "2024-05-01"
    assert AuditLog.select().where(AuditLog.action == "create",
                                   AuditLog.table == "resident").count() == 2

    again = _import(cli, source.mapping)
    assert "已新增 0 条，已存在（跳过）2 条" in again.output
    assert Resident.select().count() == count + 2


def test_import_needs_the_required_columns(cli, source, estate, tmp_path):
    source(GOOD)
    result = cli("import", "--register", "住户", "--spreadsheet", SOURCE, "--tab", "老台账")
    assert result.exit_code != 0
    assert "表格缺少必需的列：房屋、姓名（可用映射文件指定列名）" in result.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"业主姓名": "owner"}', encoding="utf-8")
    assert "映射文件中的“owner”不是住户的字段" in _import(cli, str(wrong)).output
    wrong.write_text("not json", encoding="utf-8")
    assert "映射文件不是有效的 JSON" in _import(cli, str(wrong)).output
    missing = cli("import", "--register", "住户", "--spreadsheet", SOURCE, "--tab", "没有这页")
    assert "读取来源表格失败：找不到镜像的工作表" in missing.output


def test_import_units_by_their_building(cli, fake, estate):
    fake.create_spreadsheet(SOURCE, "旧台账", tabs=["房屋"])
    fake.set_values(SOURCE, "房屋", [["房屋编号", "楼栋", "单元", "房号", "建筑面积(㎡)", "状态"],
                                     ["1-2-301", "1栋", "2", "301", "89.5", "出租"],
                                     ["1-1-101", "1栋", "1", "101", "", ""]])
    result = cli("import", "--register", "units", "--spreadsheet", SOURCE, "--tab", "房屋")
    assert result.exit_code == 0, result.output
    assert "已新增 1 条，已存在（跳过）1 条" in result.output
    unit = Unit.get(Unit.code == "1-2-301")
    assert (str(unit.area), unit.state, unit.building.name) == ("89.50", "let", "1栋")
