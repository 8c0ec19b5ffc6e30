"""Contract test: the local fake Sheets server against recorded Google Sheets v4 traffic.

``../shared/sheets-contract/cassettes`` holds gspread's own recordings of the real API (vcrpy
JSON).  Each cassette is replayed request by request against ``FakeSheets`` and the *shape* of
every answer is compared with the recorded one: status code, JSON keys (recursively), value
types, and exact equality where the fake models the value (range notation such as
``'Sheet1'!A1:D1``, counts, titles, error status and message).

What the fake leaves out on purpose is listed with the reason: whole cassettes in
``KNOWN_DIFFERENCES`` below (skipped by name, visible in ``-ra`` output); single keys in
``OMITTED_KEYS`` and the Drive requests, which only seed and drop spreadsheets, in
tests/sheets_contract_support.py, which does the replaying and the comparing.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import sheets_contract_support as support
from sheets_contract_support import FORMATTING, MISSING, cassette_names, replay

from tests.sheets_fake import FakeSheets

# The fake and an HTTP session, fixtures pytest finds here by name (imported, a test taking
# them as parameters would read as redefining the imports).
fake, session = support.fake, support.session

# Cassettes the fake does not reproduce, on purpose.  Each is skipped by name with its reason.
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
    "WorksheetTest.test_format": FORMATTING,
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


def _params() -> list[Any]:
    names = cassette_names()
    if not names:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-cassettes")]
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


@pytest.mark.parametrize("name", _params())
def test_cassette_shape(fake: FakeSheets, session: requests.Session, name: str) -> None:
    fake.reset()
    replayed, diffs = replay(fake, session, name)
    assert replayed, f"{name}: no Sheets request to replay"
    assert not diffs, f"{name}: {len(diffs)} differences:\n" + "\n".join(diffs[:25])


def test_known_differences_name_real_cassettes() -> None:
    names = set(cassette_names())
    if not names:
        pytest.skip(MISSING)
    stale = sorted(set(KNOWN_DIFFERENCES) - names)
    assert not stale, f"KNOWN_DIFFERENCES lists cassettes that do not exist: {stale}"


def test_known_differences_still_differ(fake: FakeSheets, session: requests.Session) -> None:
    # Keeps the list honest: once the fake learns a feature, its cassettes must leave the list
    # and be checked again.
    if not cassette_names():
        pytest.skip(MISSING)
    now_passing = []
    for name in sorted(KNOWN_DIFFERENCES):
        fake.reset()
        _, diffs = replay(fake, session, name)
        if not diffs:
            now_passing.append(name)
    assert not now_passing, f"these cassettes now pass; remove them from the list: {now_passing}"

