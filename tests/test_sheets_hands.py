"""#15: people's changes to a mirrored tab are found, kept and reported — and the unchanged
sync reads only a few rows. Through gspread's real client against the fake Sheets server.
"""

from __future__ import annotations

import logging

import pytest
import sheets_mirror_support as support

from models.org import Resident, Unit
from models.register import save_record, snapshot
from sync import run_sync
from sync.plan import HAND_LOG_TITLE
from sync.state import SheetTab, SheetTarget
from tests.sheets_helpers import SHEET_ID, expected_values, keys_in_column_a, mirrored_columns

WIDTH = 10  # the 住户 tab's mirrored columns (A–J)


# The fake Sheets server and the client of the mirror's tests, which pytest finds here by name
# (imported, a test taking them as parameters would read as redefining the imports).
server, fake, sleeps, client = support.server, support.fake, support.sleeps, support.client


@pytest.fixture
def mirror(app, client, estate):
    SheetTarget.create(estate=estate, spreadsheet_id=SHEET_ID)

    def sync():
        with app.app_context():
            report = run_sync("TEST", register="residents", client=client)
        (sheet,) = report.spreadsheets
        assert sheet.ok, sheet.error
        return sheet

    return sync


def mirrored(fake, title="住户"):
    return mirrored_columns(fake.values(SHEET_ID, title), WIDTH)


def log_rows(fake):
    return [tuple(row[1:4]) for row in fake.values(SHEET_ID, HAND_LOG_TITLE)[1:]]


def test_a_renamed_tab_is_the_same_tab_and_keeps_being_updated(app, mirror, fake, estate):
    mirror()
    fake.rename_tab(SHEET_ID, "住户", "住户（经理用）")
    save_record(Resident(estate=estate, unit=Unit.get(Unit.code == "1-1-102"), name="改名后新增"),
                None)
    report = mirror()
    assert "住户" not in fake.tab_titles(SHEET_ID)  # no copy left behind, none made
    assert mirrored(fake, "住户（经理用）") == expected_values(estate.id)
    (tab,) = report.tabs
    assert any("被改名为“住户（经理用）”" in note for note in tab.hand_notes)
    state = SheetTab.get(SheetTab.title == "住户")
    assert state.sheet_title == "住户（经理用）" and "改名" in state.hand_note
    assert mirror().requests == 2


def test_rows_inserted_in_the_middle_and_typed_below_are_kept(app, mirror, fake, estate,
                                                              caplog):
    mirror()
    fake.insert_rows(SHEET_ID, "住户", 2)  # between the first and second resident
    fake.set_values(SHEET_ID, "住户", [["", "经理插的行", "请回电"]], start="A3")
    rows, _ = fake.grid_size(SHEET_ID, "住户")
    fake.set_values(SHEET_ID, "住户", [["", "表格下方的备忘"]], start=f"A{rows + 1}")
    with caplog.at_level(logging.WARNING):
        report = mirror()
    (tab,) = report.tabs
    assert (tab.hand_rows, tab.rows_below, tab.deleted) == (1, 1, 0)  # not "删除 1 行"
    assert mirrored(fake) == expected_values(estate.id)
    assert {("住户", "B3", "经理插的行"), ("住户", "C3", "请回电"),
            ("住户", f"B{rows + 1}", "表格下方的备忘")} <= set(log_rows(fake))
    assert "中间手工插入 1 行" in caplog.text and "数据下方手工添加 1 行" in caplog.text
    assert "经理插的行" not in caplog.text  # the log says what changed, never what was typed
    assert "中间手工插入 1 行" in SheetTab.get(SheetTab.title == "住户").hand_note
    assert mirror().requests == 2  # and the next sync is back to its minimum


def test_a_column_added_at_the_end_is_left_alone(app, mirror, fake, estate):
    mirror()
    fake.insert_columns(SHEET_ID, "住户", WIDTH)
    fake.set_values(SHEET_ID, "住户", [["经理备注"], ["已上门"]], start="K1")
    edited = Resident.get(Resident.name == "业主101")
    before = snapshot(edited)
    edited.name = "业主101改"
    save_record(edited, None, before=before)
    report = mirror()
    values = fake.values(SHEET_ID, "住户")
    assert values[0][WIDTH] == "经理备注" and values[1][WIDTH] == "已上门"
    assert values[1][2] == "业主101改"
    (tab,) = report.tabs
    assert tab.new_columns == 1 and any("保留不动" in n for n in tab.hand_notes)
    assert mirror().requests == 2


def test_a_sorted_tab_with_notes_is_restored_and_the_notes_kept(app, mirror, fake, estate):
    mirror()
    values = fake.values(SHEET_ID, "住户")
    data = [row + [""] * (WIDTH - len(row)) for row in values[1:]]
    noted = [row + [f"备注{row[0]}"] for row in reversed(data)]  # sorted Z→A, notes in K
    fake.set_values(SHEET_ID, "住户", noted, start="A2")
    report = mirror()
    (tab,) = report.tabs
    assert tab.moved >= 1 and any("顺序被改动" in n for n in tab.hand_notes)
    assert mirrored(fake) == expected_values(estate.id)
    kept = {text for _, _, text in log_rows(fake)}
    still = {row[WIDTH] for row in fake.values(SHEET_ID, "住户")[1:] if len(row) > WIDTH}
    assert {f"备注{row[0]}" for row in data} <= kept | still


def test_an_edit_colliding_with_a_clerks_edit_is_kept(app, mirror, fake, estate):
    mirror()
    fake.set_values(SHEET_ID, "住户", [["经理改的备注"]], start="J2")  # 备注 of the first row
    edited = Resident.get(Resident.name == "业主101")
    before = snapshot(edited)
    edited.name = "客服改的名字"
    save_record(edited, None, before=before)
    report = mirror()
    assert mirrored(fake) == expected_values(estate.id)
    assert ("住户", "J2", "经理改的备注") in log_rows(fake)
    assert report.tabs[0].hand_edits >= 1


def test_the_unchanged_sync_reads_only_a_window_and_finds_edits_in_turn(app, mirror, fake,
                                                                          estate, client):
    unit = Unit.get(Unit.code == "1-1-101")
    Resident.insert_many([{"estate": estate.id, "unit": unit.id, "name": f"住户{i:03d}"}
                          for i in range(200)]).execute()
    app.config["SHEETS_VERIFY_ROWS"] = 40
    mirror()
    full = fake.values(SHEET_ID, "住户")
    fake.requests.clear()
    quiet = mirror()
    assert quiet.requests == 2
    (read,) = [r for r in fake.requests if r.path.endswith("values:batchGet")]
    ranges = read.query["ranges"]
    assert "'住户'" not in ranges  # never the whole tab
    http = client.http_client
    before = http.bytes_received
    http.values_batch_get(SHEET_ID, ["'住户'"], params={"valueRenderOption": "UNFORMATTED_VALUE"})
    whole_tab = http.bytes_received - before
    assert quiet.bytes_received < whole_tab / 2  # metadata and 41 of 204 rows

    # A hand edit far from the window is found when the window reaches it (≤ 203/40 syncs).
    fake.set_values(SHEET_ID, "住户", [["手改"]], start="C150")
    found = 0
    for _ in range(7):
        report = mirror()
        found += report.tabs[0].hand_edits
        if found:
            break
    assert found == 1 and mirrored(fake) == expected_values(estate.id)

    # A register change outside the window is read (and compared) before it is written.
    row = Resident.get(Resident.name == "住户150")
    line = keys_in_column_a(full).index(str(row.id)) + 2
    fake.set_values(SHEET_ID, "住户", [["同时手改"]], start=f"J{line}")
    before = snapshot(row)
    row.name = "住户150改"
    save_record(row, None, before=before)
    mirror()
    assert mirrored(fake) == expected_values(estate.id)
    assert any(text == "同时手改" for _, _, text in log_rows(fake))
