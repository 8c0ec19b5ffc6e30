"""#15: the unchanged sync's window of rows checked for hand edits is one budget per spreadsheet.

Each tab used to read a window of SHEETS_VERIFY_ROWS rows, so a register split into one tab per
year (as at 1,000,000 demands) read one window per year: the unchanged sync's download grew
with the number of tabs. The tabs now share the budget in proportion to their rows, and every
row of every tab is still checked in turn. Through gspread's real client against the fake.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote

import pytest
import sheets_mirror_support as support

from models.org import Resident, Unit
from sync import run_sync
from sync.reading import window_shares
from sync.state import SheetTarget
from tests.sheets_helpers import SHEET_ID, expected_values

YEARS = (2024, 2025)
PER_YEAR = 120
BUDGET = 30
_RANGE = re.compile(r"^'(?P<tab>[^']+)'!A(?P<first>\d+):[A-Z]+(?P<last>\d+)$")


# The fake Sheets server and the client of the mirror's tests, which pytest finds here by name
# (imported, a test taking them as parameters would read as redefining the imports).
server, fake, sleeps, client = support.server, support.fake, support.sleeps, support.client


@pytest.fixture
def split(app, estate, fake, client):
    """Residents of 2024, 2025 and this year, split into one tab per year; a sync function."""
    unit = Unit.get(Unit.code == "1-1-101")
    for year in YEARS:
        Resident.insert_many([{
            "estate": estate.id, "unit": unit.id, "name": f"{year}住户{i:03d}",
            "created_at": dt.datetime(year, 3, 1, tzinfo=dt.UTC),
            "updated_at": dt.datetime(year, 3, 1, tzinfo=dt.UTC)} for i in range(PER_YEAR)
        ]).execute()
    SheetTarget.create(estate=estate, spreadsheet_id=SHEET_ID)
    app.config["SHEETS_TAB_CELL_LIMIT"] = 100  # 243 residents × 10 cells: one tab per year
    app.config["SHEETS_VERIFY_ROWS"] = BUDGET

    def sync():
        with app.app_context():
            report = run_sync("TEST", register="residents", client=client)
        (sheet,) = report.spreadsheets
        assert sheet.ok, sheet.error
        return sheet

    return sync


def rows_read(fake) -> dict[str, int]:
    """Data rows (header ranges left out) the last sync read, per tab."""
    out: dict[str, int] = {}
    for request in fake.requests:
        if not request.path.endswith("values:batchGet"):
            continue
        for text in request.query["ranges"]:
            match = _RANGE.match(unquote(text))
            assert match, f"a whole tab was read: {text}"
            first, last = int(match["first"]), int(match["last"])
            if (first, last) != (1, 1):
                out[match["tab"]] = out.get(match["tab"], 0) + last - first + 1
    return out


def test_year_tabs_share_one_window(split, fake):
    split()
    this_year = dt.datetime.now(dt.UTC).year
    titles = [f"住户 {y}" for y in (*YEARS, this_year)]
    assert [t for t in fake.tab_titles(SHEET_ID) if t.startswith("住户")] == titles
    fake.requests.clear()
    quiet = split()
    assert quiet.requests == 2 and all(t.action == "unchanged" for t in quiet.tabs)
    read = rows_read(fake)
    # 15 + 15 + 1 rows (the budget by size, at least one per tab), not 30 + 30 + 3.
    assert set(read) == set(titles)
    assert read == {titles[0]: 15, titles[1]: 15, titles[2]: 1}


def test_every_row_of_every_tab_is_still_checked_in_turn(split, fake, estate):
    split()
    # A hand edit in each tab, far from where the windows start.
    for title, row in (("住户 2024", 100), ("住户 2025", 60)):
        fake.set_values(SHEET_ID, title, [["手改"]], start=f"C{row}")
    year_tab = f"住户 {dt.datetime.now(dt.UTC).year}"
    fake.set_values(SHEET_ID, year_tab, [["手改"]], start="C3")
    found = 0
    syncs = 0
    # 243 rows / 30 a sync: a full round in 9 syncs, whatever tab a row is in.
    while found < 3 and syncs < 9:
        found += sum(t.hand_edits for t in split().tabs)
        syncs += 1
    assert found == 3
    header, *rows = expected_values(estate.id)
    tabs = [fake.values(SHEET_ID, t) for t in fake.tab_titles(SHEET_ID) if t.startswith("住户")]
    assert all(tab[0] == header for tab in tabs)
    assert sorted(row for tab in tabs for row in tab[1:]) == sorted(rows)


def test_window_shares():
    assert window_shares({"a": 120, "b": 120, "c": 3}, 30) == {"a": 15, "b": 15, "c": 1}
    assert window_shares({"a": 10, "b": 500}, 800) == {"a": 10, "b": 500}  # all of each
    assert window_shares({"a": 1_000_000}, 800) == {"a": 800}
    shares = window_shares({f"t{i}": 333_333 + i for i in range(3)}, 800)
    assert all(267 <= n <= 268 for n in shares.values())
    assert window_shares({}, 800) == {}
