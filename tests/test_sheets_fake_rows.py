"""The fake Sheets server's row-major cells and its undo record (#15, the 1,000,000-row bench).

The fake used to keep every cell in one dict keyed by (row, col) and deep-copied the whole
spreadsheet before each batchUpdate; it now keeps rows and records only the tabs a batch
changes. These tests hold the new storage to the old semantics: random sequences of writes,
clears, inserted and deleted rows and columns, shrunk grids and failing batches, sent through
the server's request handler, must leave exactly what a plain (row, col) -> value model says.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sheets_fake import FakeSheets, TabSpec, col_to_letters

ROWS, COLS = 8, 5


class Model:
    """What a tab holds, the simple way: (row, col) -> value and the grid's size."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], Any] = {}
        self.rows, self.cols = ROWS, COLS

    def write(self, r0: int, c0: int, grid: list[list[Any]]) -> None:
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if value == "":
                    self.cells.pop((r0 + i, c0 + j), None)
                else:
                    self.cells[(r0 + i, c0 + j)] = value

    def clear(self, r0: int, r1: int, c0: int, c1: int) -> None:
        self.cells = {(r, c): v for (r, c), v in self.cells.items()
                      if not (r0 <= r < r1 and c0 <= c < c1)}

    def insert(self, rows: bool, start: int, n: int) -> None:
        self.cells = {((r + n if rows and r >= start else r),
                       (c + n if not rows and c >= start else c)): v
                      for (r, c), v in self.cells.items()}
        if rows:
            self.rows += n
        else:
            self.cols += n

    def delete(self, rows: bool, start: int, end: int) -> None:
        n, moved = end - start, {}
        for (r, c), v in self.cells.items():
            pos = r if rows else c
            if start <= pos < end:
                continue
            pos = pos - n if pos >= end else pos
            moved[(pos, c) if rows else (r, pos)] = v
        self.cells = moved
        if rows:
            self.rows -= n
        else:
            self.cols -= n

    def resize(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self.cells = {(r, c): v for (r, c), v in self.cells.items() if r < rows and c < cols}


def call(fake: FakeSheets, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else b""
    status, _, answer = fake.handle(method, f"/v4/spreadsheets/ss{path}", data)
    return status, json.loads(answer or b"null")


def dimension(sheet_id: int, rows: bool, start: int, end: int) -> dict[str, Any]:
    return {"sheetId": sheet_id, "dimension": "ROWS" if rows else "COLUMNS",
            "startIndex": start, "endIndex": end}


values = st.one_of(st.text(alphabet="ab漏水", min_size=0, max_size=2), st.integers(-5, 5),
                   st.booleans(), st.none())


@st.composite
def operations(draw) -> list[tuple]:
    ops = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["write", "clear", "insert", "delete", "resize", "batch"]))
        rows = draw(st.booleans())
        a, b = draw(st.integers(0, 9)), draw(st.integers(1, 4))
        grid = draw(st.lists(st.lists(values, max_size=3), min_size=1, max_size=3))
        fail = draw(st.booleans())
        ops.append((kind, rows, a, b, grid, fail))
    return ops


def apply(fake: FakeSheets, model: Model, sheet_id: int, op: tuple) -> None:
    """Send one operation; mirror it on the model only when the fake accepted it."""
    kind, rows, a, b, grid, fail = op
    if kind == "write":
        r0, c0 = a % model.rows, b % model.cols
        cell = f"'Data'!{col_to_letters(c0)}{r0 + 1}"
        status, _ = call(fake, "POST", "/values:batchUpdate", {
            "valueInputOption": "RAW", "data": [{"range": cell, "values": grid}]})
        if status == 200:
            model.write(r0, c0, grid)
        return
    if kind == "clear":
        r0, c0 = a % model.rows, 0
        r1, c1 = min(model.rows, r0 + b), min(model.cols, b)
        text = f"'Data'!A{r0 + 1}:{col_to_letters(c1 - 1)}{r1}"
        status, _ = call(fake, "POST", f"/values/{quote(text)}:clear", {})
        assert status == 200
        model.clear(r0, r1, c0, c1)
        return
    if kind == "resize":
        rows_after, cols_after = max(1, model.rows - a % 4 + b % 2), max(1, model.cols - b % 3)
        status, _ = call(fake, "POST", ":batchUpdate", {"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {
                "rowCount": rows_after, "columnCount": cols_after}},
            "fields": "gridProperties(rowCount,columnCount)"}}]})
        assert status == 200
        model.resize(rows_after, cols_after)
        return
    size = model.rows if rows else model.cols
    start = a % (size + (1 if kind == "insert" else 0))
    end = start + b
    if kind == "delete":
        end = min(end, size)
        if (start, end) == (0, size):
            end -= 1
        if end <= start:
            return
    key = "insertDimension" if kind in ("insert", "batch") else "deleteDimension"
    rows_after = max(1, model.rows - 1)
    requests: list[dict[str, Any]] = [{key: {"range": dimension(sheet_id, rows, start, end)}}]
    if kind == "batch":
        # Several changes, then (maybe) one the server refuses: all or nothing.
        requests += [
            {"deleteDimension": {"range": dimension(sheet_id, not rows, 0, 1)}},
            {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": {
                "rowCount": rows_after}}, "fields": "gridProperties.rowCount"}},
            {"addSheet": {"properties": {"title": f"extra {a}{b}"}}},
        ]
        if fail:
            requests.append({"deleteSheet": {"sheetId": 999_999}})
    status, _ = call(fake, "POST", ":batchUpdate", {"requests": requests})
    if kind == "batch" and fail:
        assert status == 400
        return
    if status != 200:  # e.g. a second "extra" tab of the same title: refused whole
        return
    if key == "insertDimension":
        model.insert(rows, start, end - start)
    else:
        model.delete(rows, start, end)
    if kind == "batch":
        model.delete(not rows, 0, 1)
        model.resize(rows_after, model.cols)


@pytest.fixture(scope="module")
def server():
    # handle() is called directly: the HTTP layer is not what these tests are about.
    return FakeSheets()


@settings(max_examples=150, deadline=None)
@given(ops=operations())
def test_row_major_cells_match_the_plain_model(server: FakeSheets, ops: list[tuple]) -> None:
    server.reset()
    server.create_spreadsheet("ss", "t", tabs=[TabSpec("Data", rows=ROWS, cols=COLS),
                                               TabSpec("Other", rows=3, cols=3)])
    server.set_values("ss", "Other", [["keep", 1], [None, True]])
    sheet_id = server.sheet_id("ss", "Data")
    model = Model()
    for op in ops:
        apply(server, model, sheet_id, op)
        assert server.grid_size("ss", "Data") == (model.rows, model.cols)
        assert server.raw_cells("ss", "Data") == model.cells
    assert server.raw_cells("ss", "Other") == {(0, 0): "keep", (0, 1): 1, (1, 1): True}


def test_a_failed_batch_puts_every_tab_back(server: FakeSheets) -> None:
    server.reset()
    server.create_spreadsheet("ss", "t", tabs=["A", TabSpec("B", rows=4, cols=3)])
    server.set_values("ss", "A", [["a1", "b1"], ["a2", "b2"], ["a3"]])
    server.set_values("ss", "B", [["x", "y", "z"]])
    a, b = server.sheet_id("ss", "A"), server.sheet_id("ss", "B")
    before = (server.metadata("ss"), server.raw_cells("ss", "A"), server.raw_cells("ss", "B"))
    status, body = call(server, "POST", ":batchUpdate", {"requests": [
        {"deleteDimension": {"range": dimension(a, True, 0, 1)}},
        {"insertDimension": {"range": dimension(b, False, 0, 2)}},
        {"updateSheetProperties": {"properties": {"sheetId": b, "title": "改名", "index": 0,
                                                  "gridProperties": {"rowCount": 1}},
                                   "fields": "title,index,gridProperties.rowCount"}},
        {"updateSpreadsheetProperties": {"properties": {"title": "新标题"}, "fields": "title"}},
        {"deleteSheet": {"sheetId": a}},
        {"addSheet": {"properties": {"title": "新表"}}},
        {"appendDimension": {"sheetId": 12345, "dimension": "ROWS", "length": 1}},
    ]})
    assert status == 400 and "No grid with id: 12345" in body["error"]["message"]
    assert (server.metadata("ss"), server.raw_cells("ss", "A"),
            server.raw_cells("ss", "B")) == before
    # The record of the failed batch is gone: the next batch changes the sheet for good.
    status, _ = call(server, "POST", ":batchUpdate", {"requests": [
        {"deleteDimension": {"range": dimension(a, True, 0, 1)}}]})
    assert status == 200
    assert server.values("ss", "A") == [["a2", "b2"], ["a3"]]
    assert server.values("ss", "B") == [["x", "y", "z"]]
