"""The local fake Sheets server's own behaviour where the recorded traffic is silent: column
letters, A1 ranges, quoted titles, Unicode tabs and trimming, writes outside the grid, the
workbook's cell limit, inserted and deleted rows and columns, unknown spreadsheets and tabs,
and request kinds it does not implement (the contract with the recordings is
test_sheets_fake_contract.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests
import sheets_contract_support as support
from hypothesis import given
from hypothesis import strategies as st

from tests.sheets_fake import (
    MAX_CELLS,
    FakeSheets,
    TabSpec,
    col_to_letters,
    letters_to_col,
    parse_a1,
    quote_title,
)

# The fake and an HTTP session, fixtures pytest finds here by name (imported, a test taking
# them as parameters would read as redefining the imports).
fake, session = support.fake, support.session


@given(st.integers(min_value=0, max_value=18_277))
def test_column_letters_round_trip(col: int) -> None:
    assert letters_to_col(col_to_letters(col)) == col


def test_column_letters_beyond_z() -> None:
    assert [col_to_letters(c) for c in (0, 25, 26, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"
    ]  # fmt: skip


def _bounds(text: str) -> tuple[str | None, int | None, int | None, int | None, int | None]:
    r = parse_a1(text)
    return r.sheet, r.start_row, r.start_col, r.end_row, r.end_col


def test_parse_a1_forms() -> None:
    assert _bounds("'投诉登记 2026'!A2:C") == ("投诉登记 2026", 1, 0, None, 3)
    # Reversed corners are normalised; '' inside quotes is one quote.
    assert _bounds("'It''s'!B2:A1") == ("It's", 0, 0, 2, 2)
    assert _bounds("Sheet1!AA:AB") == ("Sheet1", None, 26, None, 28)
    assert _bounds("3:5") == (None, 2, None, 5, None)
    assert _bounds("Sheet1!A2:2") == ("Sheet1", 1, 0, 2, None)
    assert parse_a1("B3").single and not parse_a1("B3:B3").single
    assert parse_a1("'Tab'").start_row is None
    for bad in ("A", "Sheet1!", "'open", "A1:B2:C3", "A0"):
        with pytest.raises(ValueError):
            parse_a1(bad)


def test_quote_title_like_google() -> None:
    assert quote_title("Sheet1") == "Sheet1"
    assert quote_title("D3") == "'D3'"
    assert quote_title("投诉登记 2026") == "'投诉登记 2026'"
    assert quote_title("I'm") == "'I''m'"


def _api(session: requests.Session, fake: FakeSheets, method: str, path: str, **kw: Any) -> Any:
    r = session.request(method, f"{fake.url}/v4/spreadsheets/{path}", timeout=10, **kw)
    return r.status_code, r.json()


def test_unicode_tab_round_trip_and_trimming(fake: FakeSheets, session: requests.Session) -> None:
    fake.reset()
    fake.create_spreadsheet("ss", "物业台账", tabs=["投诉登记 2026"])
    rng = quote("'投诉登记 2026'!A1", safe="")
    status, body = _api(
        session, fake, "PUT", f"ss/values/{rng}?valueInputOption=RAW",
        json={"values": [["=SUM(1)", "", ""], [], ["+86 138", "-", "@x", ""]]},
    )  # fmt: skip
    assert status == 200
    assert body["updatedRange"] == "'投诉登记 2026'!A1:D3"
    whole_tab = quote("'投诉登记 2026'", safe="")
    status, body = _api(session, fake, "GET", f"ss/values/{whole_tab}")
    assert body == {
        "range": "'投诉登记 2026'!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [["=SUM(1)"], [], ["+86 138", "-", "@x"]],
    }
    assert fake.values("ss", "投诉登记 2026") == [["=SUM(1)"], [], ["+86 138", "-", "@x"]]
    assert fake.requests[0].value_input_option == "RAW"


def test_write_outside_grid_is_rejected(fake: FakeSheets, session: requests.Session) -> None:
    fake.reset()
    fake.create_spreadsheet("ss", "t")
    status, body = _api(
        session, fake, "POST", "ss/values:batchUpdate",
        json={"valueInputOption": "RAW", "data": [
            {"range": "Sheet1!A1", "values": [["ok"]]},
            {"range": "Sheet1!A1000", "values": [["x"], ["y"]]},
        ]},
    )  # fmt: skip
    assert status == 400
    assert body["error"] == {
        "code": 400,
        "message": "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26",
        "status": "INVALID_ARGUMENT",
    }
    assert fake.values("ss", "Sheet1") == []  # batch writes are all-or-nothing


def test_cell_limit(fake: FakeSheets, session: requests.Session) -> None:
    fake.reset()
    fake.create_spreadsheet("ss", "t", tabs=[TabSpec("big", rows=MAX_CELLS // 26, cols=26)])
    sheet_id = fake.sheet_id("ss", "big")
    status, body = _api(
        session, fake, "POST", "ss:batchUpdate",
        json={"requests": [
            {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": 1000}},
        ]},
    )  # fmt: skip
    assert status == 400
    assert body["error"]["message"] == (
        "Invalid requests[0].appendDimension: This action would increase the number of cells "
        "in the workbook above the limit of 10000000 cells."
    )
    assert fake.grid_size("ss", "big") == (MAX_CELLS // 26, 26)  # rolled back


def test_insert_and_delete_dimension_move_cells(
    fake: FakeSheets, session: requests.Session
) -> None:
    fake.reset()
    fake.create_spreadsheet("ss", "t")
    fake.set_values("ss", "Sheet1", [["a", "b"], ["c", "d"]])
    rows = {"sheetId": 0, "dimension": "ROWS"}
    status, _ = _api(
        session, fake, "POST", "ss:batchUpdate",
        json={"requests": [
            {"insertDimension": {"range": {**rows, "startIndex": 0, "endIndex": 1}}},
            {"deleteDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS",
                                           "startIndex": 0, "endIndex": 1}}},
        ]},
    )  # fmt: skip
    assert status == 200
    assert fake.values("ss", "Sheet1") == [[], ["b"], ["d"]]
    assert fake.grid_size("ss", "Sheet1") == (1001, 25)


def test_unknown_spreadsheet_and_tab(fake: FakeSheets, session: requests.Session) -> None:
    fake.reset()
    fake.create_spreadsheet("ss", "t")
    assert _api(session, fake, "GET", "nope")[0] == 404
    status, body = _api(session, fake, "GET", "ss/values/" + quote("'Nope'!A1"))
    assert (status, body["error"]["message"]) == (400, "Unable to parse range: 'Nope'!A1")


def test_unimplemented_request_kind_fails_loudly(
    fake: FakeSheets, session: requests.Session
) -> None:
    fake.reset()
    fake.create_spreadsheet("ss", "t")
    status, body = _api(
        session, fake, "POST", "ss:batchUpdate", json={"requests": [{"mergeCells": {}}]}
    )
    assert (status, body["error"]["status"]) == (501, "UNIMPLEMENTED")
