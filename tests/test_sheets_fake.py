"""Contract test: the local fake Sheets server against recorded Google Sheets v4 traffic.

``../shared/sheets-contract/cassettes`` holds gspread's own recordings of the real API (vcrpy
JSON).  Each cassette is replayed request by request against ``FakeSheets`` and the *shape* of
every answer is compared with the recorded one: status code, JSON keys (recursively), value
types, and exact equality where the fake models the value (range notation such as
``'Sheet1'!A1:D1``, counts, titles, error status and message).

What the fake leaves out on purpose is listed below, with the reason: whole cassettes in
``KNOWN_DIFFERENCES`` (skipped by name, visible in ``-ra`` output), single keys in
``OMITTED_KEYS``, and Drive requests, which only seed and drop spreadsheets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
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

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "sheets-contract"
CASSETTE_DIR = CONTRACT_DIR / "cassettes"
SHEETS_HOST = "sheets.googleapis.com"
DRIVE_HOST = "www.googleapis.com"

# Cassettes the fake does not reproduce, on purpose.  Each is skipped by name with its reason.
_FORMATTING = "cell formatting / display state is not modelled (the mirror writes plain values)"
_MERGES = "merged cells (mergeCells/unmergeCells, sheets[].merges) are not modelled"
_NAMED = "named ranges (addNamedRange/updateNamedRange/deleteNamedRange) are not modelled"
_PROTECTED = "protected ranges are not modelled"
_NOTES = "cell notes (updateCells note, fields=…note grid-data reads) are not modelled"
_APPEND = (
    "values:append is not implemented: the mirror never appends (FINDINGS: append misplaces "
    "rows with empty leading cells, gspread #537/#603)"
)
_USER_ENTERED = (
    "USER_ENTERED parsing/formula evaluation is not modelled (the fake stores text as sent; "
    "the mirror writes RAW) — recorded reads return parsed numbers/formula results"
)
_FIELD_MASK = (
    "metadata reads with a field mask (fields=sheets.properties.tabColorStyle) are not "
    "implemented; tab colours are formatting"
)
_DRIVE = (
    "Drive API is not part of the fake: spreadsheets made by Drive copy/import, or listed by "
    "Drive, do not exist in it"
)
KNOWN_DIFFERENCES: dict[str, str] = {
    "CellTest.test_define_named_range": _NAMED,
    "CellTest.test_delete_named_range": _NAMED,
    "CellTest.test_update_named_range": _NAMED,
    "CellTest.test_merge_cells": _MERGES,
    "ClientTest.test_access_private_spreadsheet": (
        "permissions are not modelled: the recorded 403 is for a spreadsheet owned by someone else"
    ),
    "ClientTest.test_copy": _DRIVE,  # files/{id}/copy
    "ClientTest.test_import_csv": _DRIVE,  # upload/drive/v2 replaces Sheet1
    "ClientTest.test_open_all_has_metadata": _DRIVE,
    "ClientTest.test_openall": _DRIVE,
    "WorksheetTest.test_add_protected_range_normal": _PROTECTED,
    "WorksheetTest.test_add_protected_range_warning": _PROTECTED,
    "WorksheetTest.test_delete_protected_range": _PROTECTED,
    "WorksheetTest.test_add_validation": "data validation rules are not modelled",
    "WorksheetTest.test_append_row": _APPEND,
    "WorksheetTest.test_append_row_with_empty_value": _APPEND,
    "WorksheetTest.test_append_row_with_empty_value_and_table_range": _APPEND,
    "WorksheetTest.test_insert_row": _APPEND,
    "WorksheetTest.test_delete_row": _APPEND,
    "WorksheetTest.test_insert_cols": _APPEND,
    "WorksheetTest.test_auto_resize_columns": (
        "column widths (autoResizeDimensions, fields=sheets.data.columnMetadata) are not modelled"
    ),
    "WorksheetTest.test_basic_filters": "basic filters are not modelled",
    "WorksheetTest.test_batch_merged_cells": _MERGES,
    "WorksheetTest.test_copy_cut_range": "copyPaste/cutPaste are not modelled",
    "WorksheetTest.test_format": _FORMATTING,
    "WorksheetTest.test_get_merge_cells_and_unmerge_cells": _MERGES,
    "WorksheetTest.test_get_values_and_combine_merged_cells": _MERGES,
    "WorksheetTest.test_get_values_merge_cells_from_centre_of_sheet": _MERGES,
    "WorksheetTest.test_get_values_merge_cells_outside_of_range": _MERGES,
    "WorksheetTest.test_get_values_merge_cells_with_named_range": _MERGES,
    "WorksheetTest.test_get_notes": _NOTES,
    "WorksheetTest.test_get_notes_2nd_sheet": _NOTES,
    "WorksheetTest.test_worksheet_notes": _NOTES,
    "WorksheetTest.test_group_columns": "row/column groups are not modelled",
    "WorksheetTest.test_group_rows": "row/column groups are not modelled",
    "WorksheetTest.test_hide_columns_rows": "hidden rows/columns (updateDimensionProperties)",
    "WorksheetTest.test_set_tab_color": _FIELD_MASK,
    "WorksheetTest.test_clear_tab_color": _FIELD_MASK,
    "WorksheetTest.test_update_tab_color": _FIELD_MASK,
    "WorksheetTest.test_sort": "sortRange is not modelled",
    "WorksheetTest.test_get_all_records_numericise_unformatted": _USER_ENTERED,
    "WorksheetTest.test_get_all_records_value_render_options": _USER_ENTERED,
    "WorksheetTest.test_get_all_values_date_time_render_options": _USER_ENTERED,
}

# Keys of recorded answers the fake leaves out on purpose ("[]" = any list element).
OMITTED_KEYS: dict[str, str] = {
    "properties.defaultFormat": _FORMATTING,
    "properties.spreadsheetTheme": _FORMATTING,
}

# Keys whose values the fake must reproduce exactly, not just their type.
EXACT_KEYS = frozenset(
    {
        "range",
        "updatedRange",
        "clearedRange",
        "clearedRanges",
        "tableRange",
        "majorDimension",
        "spreadsheetId",
        "title",
        "locale",
        "timeZone",
        "sheetType",
        "index",
        "hidden",
        "rowCount",
        "columnCount",
        "frozenRowCount",
        "frozenColumnCount",
        "updatedRows",
        "updatedColumns",
        "updatedCells",
        "totalUpdatedRows",
        "totalUpdatedColumns",
        "totalUpdatedCells",
        "totalUpdatedSheets",
        "code",
        "status",
        "message",
    }
)


def _kind(value: Any) -> str:
    # JSON types: Google prints 1 and 1.0 alike, so ints and floats are both "number".
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def shape_diff(recorded: Any, actual: Any, path: str = "", key: str = "") -> list[str]:
    """Differences in shape between a recorded answer and the fake's answer."""
    where = path or "<root>"
    if _kind(recorded) != _kind(actual):
        return [f"{where}: recorded {_kind(recorded)} {recorded!r:.60}, fake {actual!r:.60}"]
    if isinstance(recorded, dict):
        diffs = []
        for k in recorded:
            sub = f"{path}.{k}" if path else k
            if k not in actual:
                if _omitted(sub):
                    continue
                diffs.append(f"{sub}: missing in the fake's answer")
            else:
                diffs.extend(shape_diff(recorded[k], actual[k], sub, k))
        for k in actual:
            if k not in recorded:
                diffs.append(f"{path}.{k}: the fake answers a key the API did not")
        return diffs
    if isinstance(recorded, list):
        if len(recorded) != len(actual):
            return [f"{where}: recorded {len(recorded)} items, fake {len(actual)}"]
        diffs = []
        for rec, act in zip(recorded, actual, strict=True):
            diffs.extend(shape_diff(rec, act, f"{path}[]", key))
        return diffs
    if key in EXACT_KEYS and recorded != actual:
        return [f"{where}: recorded {recorded!r}, fake {actual!r}"]
    return []


def _omitted(dotted: str) -> bool:
    return dotted in OMITTED_KEYS


def _cassette_names() -> list[str]:
    if not CASSETTE_DIR.is_dir():
        return []
    return sorted(p.stem for p in CASSETTE_DIR.glob("*.json"))


_MISSING = f"recorded Sheets traffic not found at {CASSETTE_DIR} (shared contract folder absent)"


def _params() -> list[Any]:
    names = _cassette_names()
    if not names:
        return [pytest.param(None, marks=pytest.mark.skip(reason=_MISSING), id="no-cassettes")]
    return [
        pytest.param(
            name,
            marks=pytest.mark.skip(reason=f"known difference: {KNOWN_DIFFERENCES[name]}"),
            id=name,
        )
        if name in KNOWN_DIFFERENCES
        else pytest.param(name, id=name)
        for name in names
    ]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSheets]:
    # One server for the module; each test starts from an empty fake (reset()).
    with FakeSheets() as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _map_sheet_ids(value: Any, mapping: dict[int, int]) -> Any:
    """Recorded sheetIds -> the fake's (Google and the fake both pick random ids for new tabs)."""
    if isinstance(value, dict):
        return {
            k: mapping.get(v, v)
            if k == "sheetId" and isinstance(v, int)
            else _map_sheet_ids(v, mapping)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_sheet_ids(v, mapping) for v in value]
    return value


def _drive_effect(fake: FakeSheets, method: str, path: str, body: Any, answer: Any) -> None:
    """Drive calls are not replayed; creating and deleting a spreadsheet seed the fake instead."""
    if method == "POST" and path == "/drive/v3/files" and isinstance(answer, dict):
        if body and body.get("mimeType") == "application/vnd.google-apps.spreadsheet":
            if not fake.has_spreadsheet(answer["id"]):
                fake.create_spreadsheet(answer["id"], answer["name"])
    elif method == "DELETE" and path.startswith("/drive/v3/files/"):
        fake.delete_spreadsheet(path.rsplit("/", 1)[1])


def _json_or_none(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def replay(fake: FakeSheets, session: requests.Session, name: str) -> tuple[int, list[str]]:
    """Replay one cassette; returns (Sheets requests replayed, differences)."""
    cassette = json.loads((CASSETTE_DIR / f"{name}.json").read_text(encoding="utf-8"))
    sheet_ids: dict[int, int] = {}
    replayed = 0
    diffs: list[str] = []
    for n, interaction in enumerate(cassette["interactions"]):
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        body = _json_or_none(request.get("body"))
        recorded_status = response["status"]["code"]
        recorded = _json_or_none(response["body"].get("string"))
        if url.netloc == DRIVE_HOST:
            _drive_effect(fake, request["method"], url.path, body, recorded)
            continue
        assert url.netloc == SHEETS_HOST, request["uri"]
        data = None
        if body is not None:
            data = json.dumps(_map_sheet_ids(body, sheet_ids)).encode()
        target = f"{fake.url}{url.path}" + (f"?{url.query}" if url.query else "")
        answer = session.request(
            request["method"],
            target,
            data=data,
            headers={"Content-Type": "application/json"} if data is not None else {},
            timeout=10,
        )
        replayed += 1
        label = f"#{n} {request['method']} {unquote(url.path)[-70:]}"
        if answer.status_code != recorded_status:
            diffs.append(
                f"{label}: status {answer.status_code} (recorded {recorded_status}): "
                f"{answer.text[:300]}"
            )
            continue
        actual = answer.json()
        if recorded is not None:
            diffs.extend(f"{label}: {d}" for d in shape_diff(recorded, actual))
        _learn_sheet_ids(recorded, actual, sheet_ids)
    return replayed, diffs


def _learn_sheet_ids(recorded: Any, actual: Any, mapping: dict[int, int]) -> None:
    if not isinstance(recorded, dict) or "replies" not in recorded:
        return
    for rec, act in zip(recorded["replies"], actual.get("replies", []), strict=False):
        if "addSheet" in rec and "addSheet" in act:
            mapping[rec["addSheet"]["properties"]["sheetId"]] = act["addSheet"]["properties"][
                "sheetId"
            ]


@pytest.mark.parametrize("name", _params())
def test_cassette_shape(fake: FakeSheets, session: requests.Session, name: str) -> None:
    fake.reset()
    replayed, diffs = replay(fake, session, name)
    assert replayed, f"{name}: no Sheets request to replay"
    assert not diffs, f"{name}: {len(diffs)} differences:\n" + "\n".join(diffs[:25])


def test_known_differences_name_real_cassettes() -> None:
    names = set(_cassette_names())
    if not names:
        pytest.skip(_MISSING)
    stale = sorted(set(KNOWN_DIFFERENCES) - names)
    assert not stale, f"KNOWN_DIFFERENCES lists cassettes that do not exist: {stale}"


def test_known_differences_still_differ(fake: FakeSheets, session: requests.Session) -> None:
    # Keeps the list honest: once the fake learns a feature, its cassettes must leave the list
    # and be checked again.
    if not _cassette_names():
        pytest.skip(_MISSING)
    now_passing = []
    for name in sorted(KNOWN_DIFFERENCES):
        fake.reset()
        _, diffs = replay(fake, session, name)
        if not diffs:
            now_passing.append(name)
    assert not now_passing, f"these cassettes now pass; remove them from the list: {now_passing}"


# --------------------------------------------------------------------------------------------
# The fake's own behaviour where the recordings are silent
# --------------------------------------------------------------------------------------------


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
