"""The pure planner (sync/plan.py) against the fake's own Sheets semantics, without sockets.

`InProcess` answers the four calls the mirror makes with `FakeSheets.handle`, so hypothesis can
try hundreds of sheet states cheaply: whatever the sheet holds, one plan makes it equal to the
projection, and a second read finds nothing left to do.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from gspread.exceptions import APIError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import edge
from sync.batching import longest_increasing
from sync.plan import (
    HAND_LOG_TITLE,
    MARKER_TITLE,
    PlanError,
    SheetSnapshot,
    TabTarget,
    a1,
    column_letters,
    parse_key,
    plan_sync,
)
from sync.reading import read_spreadsheet
from tests.sheets_fake import FakeSheets, TabSpec
from tests.sheets_helpers import mirrored_columns

SID = "plan-test"
TITLE = "住户"
HEADER = ("记录号", "房屋", "姓名", "备注")


class FakeAPIError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status


class InProcess:
    """The gspread HTTPClient calls the mirror uses, answered by FakeSheets.handle."""

    def __init__(self, fake: FakeSheets) -> None:
        self.fake = fake

    def _call(self, method, target, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        status, _, answer = self.fake.handle(method, target, data)
        if status != 200:
            raise FakeAPIError(status, answer.decode())
        return json.loads(answer)

    def fetch_sheet_metadata(self, sid):
        return self._call("GET", f"/v4/spreadsheets/{sid}")

    def values_batch_get(self, sid, ranges, params):
        query = urlencode([("ranges", r) for r in ranges] + list(params.items()))
        return self._call("GET", f"/v4/spreadsheets/{sid}/values:batchGet?{query}")

    def batch_update(self, sid, body):
        return self._call("POST", f"/v4/spreadsheets/{sid}:batchUpdate", body)

    def values_batch_update(self, sid, body):
        return self._call("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", body)


def target(rows, fresh=None) -> TabTarget:
    return TabTarget(title=TITLE, register="residents", header=HEADER, rows=rows, fresh=fresh)


def read(api: InProcess) -> SheetSnapshot:
    return read_spreadsheet(api, SID, [target([])], {})


def apply(api: InProcess, plan) -> None:
    for kind, body in plan.steps:  # in order: the hand-change log before what overwrites
        if kind == "structural":
            api.batch_update(SID, {"requests": body})
        else:
            api.values_batch_update(SID, {"valueInputOption": "RAW", "data": body})


def mirrored_part(values: list[list[str]]) -> list[list[str]]:
    """The tab's first len(HEADER) columns (columns people add to the right stay, #15)."""
    return mirrored_columns(values, len(HEADER))


def expected(rows) -> list[list[str]]:
    out = [list(HEADER)]
    for key, cells in rows:
        row = [str(key), *cells]
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


@pytest.fixture
def api():
    fake = FakeSheets()  # never started: handle() is called directly
    fake.create_spreadsheet(SID, "台账")
    return InProcess(fake)


# --- properties ----------------------------------------------------------------------------------

TEXT = st.sampled_from(["", "甲", "乙", "=SUM(A1)", "+86 138", "-1", "@x", "007", "漏水 停电"])
KEYS = st.integers(min_value=1, max_value=40)
PROJECTION = st.lists(st.tuples(KEYS, st.tuples(TEXT, TEXT, TEXT)), max_size=25,
                      unique_by=lambda r: r[0]).map(lambda rows: sorted(rows))
SHEET_ROW = st.lists(TEXT, max_size=7).flatmap(
    lambda rest: st.one_of(KEYS.map(str), st.sampled_from(["", "abc", "007", "3.5"])).map(
        lambda key: [key, *rest]))
SHEET = st.one_of(
    st.none(),  # the tab does not exist yet
    st.tuples(st.integers(1, 60), st.integers(1, 9), st.lists(SHEET_ROW, max_size=30),
              st.lists(TEXT, max_size=6)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projection=PROJECTION, sheet=SHEET)
def test_one_plan_makes_any_sheet_equal_to_the_projection(projection, sheet):
    fake = FakeSheets()
    tabs = [TabSpec("Sheet1")]
    if sheet is not None:
        rows, cols, data, header = sheet
        tabs.append(TabSpec(TITLE, rows=rows, cols=cols))
    fake.create_spreadsheet(SID, "台账", tabs=tabs)
    if sheet is not None:
        fake.set_values(SID, TITLE, [header, *data])
    api = InProcess(fake)

    plan = plan_sync([target(projection)], read(api))
    # One of each, plus one of each for the 手工修改 log when people's text must be kept.
    logged = 1 if plan.hand_changes else 0
    assert len(plan.structural) <= 1 + logged and len(plan.values) <= 1 + logged
    before = fake.values(SID, TITLE) if sheet is not None else []
    cols_before = fake.grid_size(SID, TITLE)[1] if sheet is not None else 0
    apply(api, plan)

    assert mirrored_part(fake.values(SID, TITLE)) == expected(projection)
    # #15 changed this: columns a person added to the right are no longer trimmed away.
    wide = max(len(HEADER), cols_before)
    assert fake.grid_size(SID, TITLE) == (max(2, 1 + len(projection)), wide)
    # Every text a person had in a row the mirror does not own, or right of the mirrored
    # columns, is either still in its cell or kept in the 手工修改 tab.
    after = fake.values(SID, TITLE)
    log = fake.values(SID, HAND_LOG_TITLE) if HAND_LOG_TITLE in fake.tab_titles(SID) else []
    kept = {(row[2], row[3]) for row in log[1:]}
    for r, row in enumerate(before[1:], start=1):
        owned = parse_key(row[0]) is not None if row else False
        for c, text in enumerate(row):
            if text == "" or (owned and c < len(HEADER)):
                continue
            # Rows move (deletions above, a sort undone): a kept cell moves with its row.
            still = any(c < len(row) and row[c] == text for row in after[1:])
            assert still or (f"{column_letters(c)}{r + 1}", text) in kept, (r, c, text)
    again = plan_sync([target(projection)], read(api))
    assert not again.changed
    # Everything but the key stays text ("=SUM(A1)", "-1", "007"): written RAW, as strings.
    cells = fake.raw_cells(SID, TITLE)
    assert all(isinstance(v, str) for (r, c), v in cells.items() if c or not r)


@settings(max_examples=50, deadline=None)
@given(before=PROJECTION, after=PROJECTION)
def test_a_structural_batch_never_applies_twice(before, after):
    fake = FakeSheets()
    fake.create_spreadsheet(SID, "台账")
    api = InProcess(fake)
    apply(api, plan_sync([target(before)], read(api)))
    plan = plan_sync([target(after)], read(api))
    apply(api, plan)
    state = fake.values(SID, TITLE)
    for batch in plan.structural:
        # A replay (a late duplicate after a timeout) is refused as a whole by the marker swap.
        with pytest.raises(FakeAPIError) as caught:
            api.batch_update(SID, {"requests": batch})
        assert caught.value.status == 400
    assert mirrored_part(fake.values(SID, TITLE)) == mirrored_part(state) == expected(after)


# --- examples ------------------------------------------------------------------------------------


def test_first_plan_adds_the_tab_and_writes_everything(api):
    rows = [(1, ("1-1-101", "张三", "")), (2, ("1-1-102", "李四", "=SUM(A1)"))]
    plan = plan_sync([target(rows)], read(api))
    (tab,) = plan.tabs
    assert (tab.action, tab.inserted, tab.header_fixes, tab.hand_edits) == ("create", 2, 0, 0)
    # The marker is added first (nothing to delete yet), then the tab.
    assert plan.structural[0][0]["addSheet"]["properties"]["title"] == MARKER_TITLE
    assert plan.structural[0][1]["addSheet"]["properties"]["title"] == TITLE
    apply(api, plan)
    assert api.fake.values(SID, TITLE) == expected(rows)
    assert MARKER_TITLE in api.fake.tab_titles(SID)
    props = {s["properties"]["title"]: s["properties"]
             for s in api.fake.metadata(SID)["sheets"]}
    assert props[MARKER_TITLE]["hidden"] is True
    assert props[TITLE]["gridProperties"]["frozenRowCount"] == 1


def test_void_in_the_middle_deletes_one_row_and_writes_nothing(api):
    rows = [(k, (f"1-1-{k}", f"住户{k}", "")) for k in range(1, 8)]
    apply(api, plan_sync([target(rows)], read(api)))
    del rows[3]
    plan = plan_sync([target(rows)], read(api))
    (tab,) = plan.tabs
    assert (tab.deleted, tab.inserted, tab.cells_written) == (1, 0, 0)
    assert plan.values == []
    kinds = [next(iter(r)) for r in plan.structural[0]]
    assert kinds.count("deleteDimension") == 1 and "insertDimension" not in kinds
    apply(api, plan)
    assert api.fake.values(SID, TITLE) == expected(rows)


def test_hand_edits_and_header_drift_are_counted(api):
    rows = [(1, ("1-1-101", "张三", "")), (2, ("1-1-102", "李四", ""))]
    apply(api, plan_sync([target(rows)], read(api)))
    api.fake.set_values(SID, TITLE, [["编号"]], start="A1")
    api.fake.set_values(SID, TITLE, [["王五", "已处理"]], start="C2")
    rows[1] = (2, ("1-1-102", "李四改", ""))
    plan = plan_sync([target(rows, fresh=frozenset({2}))], read(api))
    (tab,) = plan.tabs
    assert (tab.header_fixes, tab.hand_edits, tab.cells_written) == (1, 2, 4)
    apply(api, plan)
    assert api.fake.values(SID, TITLE) == expected(rows)


def test_writes_are_split_above_the_payload_limit(api):
    rows = [(k, (f"1-1-{k}", "住户" * 20, "备注" * 20)) for k in range(1, 400)]
    plan = plan_sync([target(rows)], read(api), max_payload=20_000)
    assert len(plan.values) > 1
    assert all(len(json.dumps({"data": b})) <= 20_000 for b in plan.values)
    apply(api, plan)
    assert api.fake.values(SID, TITLE) == expected(rows)


def test_the_cell_limit_is_checked_before_writing(api):
    snapshot = read(api)
    snapshot.other_cells = 9_999_995  # + a 2×4 tab
    with pytest.raises(PlanError, match="1000 万单元格"):
        plan_sync([target([(1, ("a", "b", "c"))])], snapshot)


def test_obsolete_tabs_are_deleted_last(api):
    # #15: never in the batch that creates the new tabs, but in a batch of its own after the
    # new tabs' rows are written (an interrupted split must not leave the sheet without rows).
    api.fake.create_spreadsheet("other", "x", tabs=["住户"])
    wanted = TabTarget("住户 2026", "residents", HEADER, [(1, ("a", "b", "c"))])
    plan = plan_sync([wanted], read_spreadsheet(InProcess(api.fake), "other", [wanted], {}),
                     obsolete=[("住户", "residents", 0)])
    assert [kind for kind, _ in plan.steps] == ["structural", "values", "structural"]
    creating = [next(iter(r)) for r in plan.steps[0][1]]
    retiring = [r for r in plan.steps[2][1] if "deleteSheet" in r]
    assert "addSheet" in creating and {"deleteSheet": {"sheetId": 0}} not in plan.steps[0][1]
    assert {"deleteSheet": {"sheetId": 0}} in retiring
    other = InProcess(api.fake)
    for batch in plan.structural:
        other.batch_update("other", {"requests": batch})
    assert "住户" not in api.fake.tab_titles("other")


def test_helpers():
    assert [column_letters(i) for i in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
    assert a1("It's", 0, 0, 3, 2) == "'It''s'!A1:B3"
    assert [parse_key(v) for v in ("12", "0", "007", "", "1.5", "１２", 5)] == [
        12, 0, None, None, None, None, 5]
    assert longest_increasing([(0, 3), (1, 1), (2, 2), (3, 0), (4, 5)]) == [
        (1, 1), (2, 2), (4, 5)]


def test_describe_error_never_repeats_cell_values():
    import requests

    response = requests.Response()
    response.status_code = 400
    response._content = json.dumps({"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": "Invalid value at 'data[0].values' (ListValue), \"张三 13800138000\""}}).encode()
    text = edge.describe_error(APIError(response))
    assert "张三" not in text and "13800138000" not in text
    assert "HTTP 400 INVALID_ARGUMENT" in text
