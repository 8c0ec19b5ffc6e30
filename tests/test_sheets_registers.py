"""#15: what the mirror adds (keys, loans, 超期, …) and its honest messages."""

from __future__ import annotations

import datetime as dt

import requests
from gspread.exceptions import APIError
from test_keys import key_set, lend, make_staff

from models.keys import KeySet
from sync import edge
from sync.http import DEFAULT_REQUESTS_PER_MINUTE, GOOGLE_REQUESTS_PER_MINUTE
from sync.importer import import_rows
from sync.mapping import KEY_HEADER
from sync.plan import PlanError, SheetSnapshot, TabTarget, plan_sync
from sync.projection import project
from sync.registers import DEMANDS, KEY_SETS, MIRRORS, RESIDENTS, overdue_text


def cells_of(mirror, estate, key):
    row = next(r for r in project(mirror, estate.id) if r.key == key)
    return dict(zip(mirror.headers[1:], row.cells, strict=True))


def test_where_every_key_is_and_every_loan(conn, estate):
    staff = make_staff(estate)
    keys = key_set(estate, staff["clerk"])
    lend(keys, staff["clerk"], borrower_name="销售小刘")
    keys = KeySet.get_by_id(keys.id)
    shown = cells_of(KEY_SETS, estate, keys.id)
    assert shown["当前位置"] == "借出" and shown["持有人"] == "销售小刘" and shown["持有自"]
    (loan,) = project(MIRRORS["key_loans"], estate.id)
    loan_cells = dict(zip(MIRRORS["key_loans"].headers[1:], loan.cells, strict=True))
    assert loan_cells["房屋"] == "1-1-101" and loan_cells["经手人/借用人"] == "销售小刘"
    assert loan_cells["借用人类别"] == "地产销售" and loan_cells["归还时间"] == ""


def test_every_register_the_managers_asked_for_is_mirrored():
    titles = {m.title for m in MIRRORS.values()}
    assert {"钥匙", "钥匙借出", "回访", "动火证", "物品放行条", "排班", "值班主任", "满意度访问",
            "业委会沟通", "租户登记"} <= titles
    assert "超期" in DEMANDS.headers


def test_the_overdue_column_keeps_the_promise_and_every_miss():
    # #11/#15: the column shows the ORIGINAL promise, a revision only beside it.
    due = dt.datetime(2026, 11, 3, 4, 0, tzinfo=dt.UTC)  # 12:00 office time
    later = dt.datetime(2026, 11, 6, 4, 0, tzinfo=dt.UTC)
    assert overdue_text(due, due, 0, 0) == "原承诺期限 2026-11-03 12:00，无超时记录"
    assert overdue_text(due, due, 2, 135) == (
        "原承诺期限 2026-11-03 12:00，超时答复 2 次，累计超时 2 小时 15 分钟")
    assert overdue_text(due, later, 1, 60) == (
        "原承诺期限 2026-11-03 12:00（主管修订为 2026-11-06 12:00），超时答复 1 次，"
        "累计超时 1 小时 0 分钟")
    assert overdue_text(None, None, 1, 5) == "无期限，超时答复 1 次，累计超时 5 分钟"


def test_the_ten_million_cell_error_does_not_suggest_a_split_by_year():
    snapshot = SheetSnapshot(tabs={}, marker_id=None, other_cells=9_999_999)
    try:
        plan_sync([TabTarget("住户", "residents", ("a", "b"), [(1, ("x",))])], snapshot)
    except PlanError as exc:
        text = str(exc)
    assert "1000 万单元格" in text and "按年" not in text and "停用" in text


def test_the_429_text_does_not_promise_a_retry_after_giving_up():
    response = requests.Response()
    response.status_code = 429
    response._content = b'{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "x"}}'
    text = edge.describe_error(APIError(response))
    assert "配额" in text and "放弃" in text and "自动重试" not in text and "稍后" not in text


def test_the_rate_limiter_keeps_a_margin_below_googles_quota():
    assert DEFAULT_REQUESTS_PER_MINUTE <= GOOGLE_REQUESTS_PER_MINUTE * 0.9


def test_an_import_sheet_with_a_title_row_finds_its_header(conn, estate):
    values = [["测试花园住户登记表（2024 年）"], [], ["导出时间：2024-06-01"],
              ["房号", "业主姓名", "身份"], ["1-1-101", "王芳", "租户"]]
    mapping = {"房号": "房屋", "业主姓名": "name"}
    report = import_rows(RESIDENTS, estate.id, values, mapping=mapping, dry_run=True)
    assert report.ok and report.created == 1
    bad = [*values, ["9-9-999", "钱七", "业主"]]
    report = import_rows(RESIDENTS, estate.id, bad, mapping=mapping, dry_run=True)
    assert len(report.errors) == 1 and report.errors[0].startswith("第 6 行：")  # sheet row
    # The mirror's own headers need no mapping file.
    own = [["住户（导出）"], [KEY_HEADER, "房屋", "姓名"], ["", "1-1-102", "赵强"]]
    assert import_rows(RESIDENTS, estate.id, own, dry_run=True).created == 1
