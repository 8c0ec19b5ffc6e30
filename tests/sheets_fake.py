"""A local, stateful fake of the Google Sheets v4 API for the mirror's tests.

The machine that runs the tests cannot reach Google, so the mirror is exercised through gspread's
real client code against this server.  It implements the part of Sheets v4 the mirror uses, with
the real API's shapes (checked against recorded traffic in ``tests/test_sheets_fake_contract.py``):

* ``GET  /v4/spreadsheets/{id}``                          spreadsheet metadata
* ``POST /v4/spreadsheets/{id}:batchUpdate``              addSheet, deleteSheet,
  updateSheetProperties, updateSpreadsheetProperties, insertDimension, deleteDimension,
  appendDimension (atomic, 10,000,000-cell limit enforced)
* ``GET  /v4/spreadsheets/{id}/values/{range}``           values.get
* ``GET  /v4/spreadsheets/{id}/values:batchGet``          values.batchGet
* ``PUT  /v4/spreadsheets/{id}/values/{range}``           values.update
* ``POST /v4/spreadsheets/{id}/values:batchUpdate``       values.batchUpdate
* ``POST /v4/spreadsheets/{id}/values/{range}:clear``     values.clear
* ``POST /v4/spreadsheets/{id}/values:batchClear``        values.batchClear

Anything else answers 501 (``UNIMPLEMENTED``) so that a test relying on a missing feature fails
loudly instead of passing against a made-up answer.  ``values:append`` is deliberately absent: the
real API can place a row with empty leading cells in the wrong columns (FINDINGS, gspread #537),
so the mirror never appends.

Cell values are stored as the JSON the client sent (string, number or boolean); the fake never
parses ``USER_ENTERED`` input or evaluates formulas.  The request log records which
``valueInputOption`` every write used, so a test can assert that the mirror writes ``RAW``.

Usage::

    with FakeSheets() as fake:
        fake.create_spreadsheet("sheet-id", "物业台账", tabs=["投诉登记 2026"])
        client = make_client(emulator_host=fake.host)
        ...
        assert fake.values("sheet-id", "投诉登记 2026") == [["编号", "日期"]]
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "MAX_CELLS",
    "A1Range",
    "FakeSheets",
    "RecordedRequest",
    "TabSpec",
    "col_to_letters",
    "letters_to_col",
    "parse_a1",
    "quote_title",
]

# Google's per-spreadsheet limit; the message below is the real API's wording.
MAX_CELLS = 10_000_000
_CELL_LIMIT_MESSAGE = (
    "This action would increase the number of cells in the workbook above the limit of "
    f"{MAX_CELLS} cells."
)
DEFAULT_ROWS = 1000
DEFAULT_COLS = 26

# Google's canonical status names for the HTTP codes the fake produces.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_FAULT_MESSAGES = {
    429: (
        "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute "
        "per user' of service 'sheets.googleapis.com'."
    ),
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "Deadline exceeded.",
}
_RENDER_OPTIONS = {"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"}
_INPUT_OPTIONS = {"RAW", "USER_ENTERED"}


# --------------------------------------------------------------------------------------------
# A1 notation
# --------------------------------------------------------------------------------------------


def col_to_letters(col: int) -> str:
    """0-based column index -> letters (0 -> A, 25 -> Z, 26 -> AA)."""
    if col < 0:
        raise ValueError(f"negative column index {col}")
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def letters_to_col(letters: str) -> int:
    """Column letters (case-insensitive) -> 0-based index."""
    if not letters or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"not a column: {letters!r}")
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n - 1


# Titles Google writes without quotes in the ranges it returns: ASCII identifiers that cannot be
# mistaken for a cell reference ("Sheet1" stays bare; "D3", "R1C1", "投诉登记 2026" are quoted).
_BARE_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*")


def quote_title(title: str) -> str:
    """A tab title as Google prints it in range notation."""
    if _BARE_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


_ENDPOINT = re.compile(r"([A-Za-z]*)([0-9]*)")


@dataclass(frozen=True)
class A1Range:
    """A parsed range.  Indexes are 0-based, ends exclusive, ``None`` = unbounded that side."""

    sheet: str | None
    start_row: int | None = None
    start_col: int | None = None
    end_row: int | None = None
    end_col: int | None = None
    # A lone cell ("A1"): for writes it only anchors the data instead of bounding it.
    single: bool = False


def _parse_endpoint(text: str) -> tuple[int | None, int | None]:
    m = _ENDPOINT.fullmatch(text)
    if not m or not text:
        raise ValueError(text)
    letters, digits = m.groups()
    col = letters_to_col(letters) if letters else None
    if digits:
        row = int(digits) - 1
        if row < 0:
            raise ValueError(text)
    else:
        row = None
    return row, col


def parse_a1(text: str) -> A1Range:
    """Parse ``'Tab name'!A1:B2``, ``Tab!A2:C``, ``A:A``, ``1:3``, ``'Tab'`` or ``A1``.

    Raises ValueError for anything else (Google answers 400 "Unable to parse range").
    """
    sheet: str | None = None
    rest = text
    if text.startswith("'"):
        i, chars = 1, []
        while True:
            if i >= len(text):
                raise ValueError(text)
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    chars.append("'")
                    i += 2
                    continue
                break
            chars.append(text[i])
            i += 1
        sheet = "".join(chars)
        rest = text[i + 1 :]
        if rest == "":
            return A1Range(sheet)
        if not rest.startswith("!"):
            raise ValueError(text)
        rest = rest[1:]
    elif "!" in text:
        sheet, rest = text.split("!", 1)
        if not sheet:
            raise ValueError(text)
    else:
        # No "!": either a bare tab title or a cell range on the first tab.  The caller resolves
        # that against the spreadsheet's titles (see _Spreadsheet.resolve).
        pass
    parts = rest.split(":")
    if len(parts) == 1:
        row, col = _parse_endpoint(parts[0])
        if row is None or col is None:
            # "A" or "5" alone is not a range.
            raise ValueError(text)
        return A1Range(sheet, row, col, row + 1, col + 1, single=True)
    if len(parts) != 2:
        raise ValueError(text)
    (r0, c0), (r1, c1) = _parse_endpoint(parts[0]), _parse_endpoint(parts[1])
    # "A:B" and "1:2" need both ends of the same kind; "A2:C" / "A2:2" leave one side open.
    if (r0 is None and c0 is None) or (r1 is None and c1 is None):
        raise ValueError(text)
    if r0 is None and c0 is not None and c1 is None:
        raise ValueError(text)
    if c0 is None and r0 is not None and r1 is None:
        raise ValueError(text)
    # Google accepts reversed corners ("B2:A1") and normalises them.
    if r0 is not None and r1 is not None and r1 < r0:
        r0, r1 = r1, r0
    if c0 is not None and c1 is not None and c1 < c0:
        c0, c1 = c1, c0
    return A1Range(
        sheet,
        r0 if r0 is not None else None,
        c0 if c0 is not None else None,
        r1 + 1 if r1 is not None else None,
        c1 + 1 if c1 is not None else None,
    )


def _looks_like_cells(text: str) -> bool:
    try:
        parse_a1(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class TabSpec:
    """A tab to create with ``FakeSheets.create_spreadsheet``."""

    title: str
    rows: int = DEFAULT_ROWS
    cols: int = DEFAULT_COLS
    sheet_id: int | None = None


@dataclass
class _Tab:
    # Sheet properties exactly as the API returns them, minus the derived "index".
    props: dict[str, Any]
    # Sparse cells: (row, col) 0-based -> JSON value.  Empty cells are absent.
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)

    @property
    def sheet_id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def rows(self) -> int:
        return int(self.props["gridProperties"].get("rowCount", 0))

    @property
    def cols(self) -> int:
        return int(self.props["gridProperties"].get("columnCount", 0))

    def trim_to_grid(self) -> None:
        rows, cols = self.rows, self.cols
        self.cells = {k: v for k, v in self.cells.items() if k[0] < rows and k[1] < cols}


@dataclass
class _Window:
    tab: _Tab
    r0: int
    c0: int
    r1: int
    c1: int

    def a1(self) -> str:
        start = f"{col_to_letters(self.c0)}{self.r0 + 1}"
        end = f"{col_to_letters(self.c1 - 1)}{self.r1}"
        cells = start if (self.r1 - self.r0, self.c1 - self.c0) == (1, 1) else f"{start}:{end}"
        return f"{quote_title(self.tab.title)}!{cells}"


class _ApiError(Exception):
    """An error answered with Google's body ``{"error": {"code", "message", "status"}}``."""

    def __init__(
        self, code: int, message: str, *, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": _STATUS_NAMES.get(self.code, "UNKNOWN"),
        }
        if self.details:
            err["details"] = self.details
        return {"error": err}


def _not_found() -> _ApiError:
    return _ApiError(404, "Requested entity was not found.")


def _bad_value(field_path: str, type_name: str, value: Any) -> _ApiError:
    # Google's wording for a JSON value of the wrong type, e.g. {"values": "X"}.
    shown = json.dumps(value, ensure_ascii=False)
    message = f"Invalid value at '{field_path}' ({type_name}), {shown}"
    return _ApiError(
        400,
        message,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field_path, "description": message}],
            }
        ],
    )


class _Spreadsheet:
    def __init__(self, spreadsheet_id: str, title: str, rng: random.Random) -> None:
        self.id = spreadsheet_id
        self.props: dict[str, Any] = {
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
        }
        self.tabs: list[_Tab] = []
        self._rng = rng

    # -- lookups ------------------------------------------------------------------------------

    def tab_by_title(self, title: str) -> _Tab | None:
        # Google matches tab titles case-insensitively in ranges.
        for tab in self.tabs:
            if tab.title == title:
                return tab
        folded = title.casefold()
        for tab in self.tabs:
            if tab.title.casefold() == folded:
                return tab
        return None

    def tab_by_id(self, sheet_id: Any) -> _Tab | None:
        for tab in self.tabs:
            if tab.sheet_id == sheet_id:
                return tab
        return None

    def total_cells(self) -> int:
        return sum(t.rows * t.cols for t in self.tabs)

    def new_sheet_id(self) -> int:
        taken = {t.sheet_id for t in self.tabs}
        while True:
            candidate = self._rng.randrange(1, 2**31 - 1)
            if candidate not in taken:
                return candidate

    def metadata(self) -> dict[str, Any]:
        sheets = []
        for index, tab in enumerate(self.tabs):
            props = {"sheetId": tab.sheet_id, "title": tab.title, "index": index}
            props.update({k: v for k, v in tab.props.items() if k not in props})
            sheets.append({"properties": copy.deepcopy(props)})
        return {
            "spreadsheetId": self.id,
            "properties": copy.deepcopy(self.props),
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.id}/edit",
        }

    def sheet_properties(self, tab: _Tab) -> dict[str, Any]:
        return self.metadata()["sheets"][self.tabs.index(tab)]["properties"]  # type: ignore[no-any-return]

    # -- ranges -------------------------------------------------------------------------------

    def resolve(self, text: str) -> tuple[_Tab, A1Range]:
        """Tab and parsed range for ``text``; 400 "Unable to parse range" like Google."""
        parse_error = _ApiError(400, f"Unable to parse range: {text}")
        if "!" not in text and not text.startswith("'"):
            # A bare title names a whole tab; otherwise it's cells on the first tab.
            tab = self.tab_by_title(text)
            if tab is not None and not _looks_like_cells(text):
                return tab, A1Range(tab.title)
            try:
                rng = parse_a1(text)
            except ValueError:
                if tab is not None:
                    return tab, A1Range(tab.title)
                raise parse_error from None
            if not self.tabs:
                raise parse_error
            return self.tabs[0], rng
        try:
            rng = parse_a1(text)
        except ValueError:
            raise parse_error from None
        tab = self.tab_by_title(rng.sheet or "")
        if tab is None:
            raise parse_error
        return tab, rng

    def read_window(self, text: str) -> _Window:
        """The requested range clipped to the grid (Google returns "A1:C" as "A1:C1000")."""
        tab, rng = self.resolve(text)
        r0 = rng.start_row or 0
        c0 = rng.start_col or 0
        r1 = min(rng.end_row if rng.end_row is not None else tab.rows, tab.rows)
        c1 = min(rng.end_col if rng.end_col is not None else tab.cols, tab.cols)
        if r0 >= tab.rows or c0 >= tab.cols or r1 <= r0 or c1 <= c0:
            cell = f"{quote_title(tab.title)}!{col_to_letters(c0)}{r0 + 1}"
            raise _grid_error(cell, tab)
        return _Window(tab, r0, c0, r1, c1)


def _grid_error(cell: str, tab: _Tab) -> _ApiError:
    return _ApiError(
        400,
        f"Range ({cell}) exceeds grid limits. Max rows: {tab.rows}, max columns: {tab.cols}",
    )


def _format_number(value: int | float) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _render(value: Any, option: str) -> Any:
    """A stored value as Google renders it for ``valueRenderOption``."""
    if option == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | float):
            return _format_number(value)
        return value
    # UNFORMATTED_VALUE and FORMULA: numbers stay numbers (integral ones without ".0").
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)
    return value


def _trim(matrix: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing empty cells of each row and trailing empty rows, as the API does."""
    out = []
    for row in matrix:
        end = len(row)
        while end and row[end - 1] == "":
            end -= 1
        out.append(row[:end])
    while out and not out[-1]:
        out.pop()
    return out


def _read(window: _Window, major: str, render: str) -> dict[str, Any]:
    height, width = window.r1 - window.r0, window.c1 - window.c0
    present = {
        (r - window.r0, c - window.c0): v
        for (r, c), v in window.tab.cells.items()
        if window.r0 <= r < window.r1 and window.c0 <= c < window.c1
    }
    result: dict[str, Any] = {"range": window.a1(), "majorDimension": major}
    if not present:
        return result
    if major == "COLUMNS":
        n_outer = max(c for _, c in present) + 1
        n_inner = max(r for r, _ in present) + 1
        matrix = [[""] * n_inner for _ in range(min(n_outer, width))]
        for (r, c), v in present.items():
            matrix[c][r] = _render(v, render)
    else:
        n_outer = max(r for r, _ in present) + 1
        n_inner = max(c for _, c in present) + 1
        matrix = [[""] * n_inner for _ in range(min(n_outer, height))]
        for (r, c), v in present.items():
            matrix[r][c] = _render(v, render)
    values = _trim(matrix)
    if values:
        result["values"] = values
    return result


@dataclass
class _Write:
    window: _Window
    # (row, col) absolute -> value; "" clears the cell.
    cells: dict[tuple[int, int], Any]
    rows: int
    cols: int
    count: int


def _plan_write(
    book: _Spreadsheet, range_text: Any, values: Any, major: Any, field_prefix: str
) -> _Write:
    """Validate one ValueRange write without applying it (batch writes are all-or-nothing)."""
    if not isinstance(range_text, str):
        raise _ApiError(400, f"Invalid {field_prefix}range: a range is required")
    if not isinstance(values, list) or not all(isinstance(row, list) for row in values):
        bad = (
            values
            if not isinstance(values, list)
            else next(row for row in values if not isinstance(row, list))
        )
        raise _bad_value(
            f"{field_prefix}values", "type.googleapis.com/google.protobuf.ListValue", bad
        )
    for row in values:
        for cell in row:
            if cell is not None and not isinstance(cell, str | int | float | bool):
                raise _bad_value(
                    f"{field_prefix}values", "type.googleapis.com/google.protobuf.Value", cell
                )
    if major in (None, "ROWS", "DIMENSION_UNSPECIFIED"):
        grid = values
    elif major == "COLUMNS":
        height = max((len(col) for col in values), default=0)
        grid = [[col[i] if i < len(col) else None for col in values] for i in range(height)]
    else:
        raise _bad_value(
            f"{field_prefix}major_dimension",
            "type.googleapis.com/google.apps.sheets.v4.Dimension",
            major,
        )
    tab, rng = book.resolve(range_text)
    r0, c0 = rng.start_row or 0, rng.start_col or 0
    height = len(grid)
    width = max((len(row) for row in grid), default=0)
    # A closed or half-open range bounds the data; a lone cell or a whole tab only anchors it
    # (the grid still bounds it below).
    if not rng.single and (rng.end_row is not None or rng.end_col is not None):
        limit_r, limit_c = rng.end_row, rng.end_col
        shown = _Window(
            tab,
            r0,
            c0,
            min(limit_r if limit_r is not None else tab.rows, tab.rows),
            min(limit_c if limit_c is not None else tab.cols, tab.cols),
        ).a1()
        if limit_r is not None and r0 + height > limit_r:
            raise _ApiError(
                400,
                f"Requested writing within range [{shown}], but tried writing to row "
                f"[{limit_r + 1}]",
            )
        if limit_c is not None and c0 + width > limit_c:
            raise _ApiError(
                400,
                f"Requested writing within range [{shown}], but tried writing to column "
                f"[{col_to_letters(limit_c)}]",
            )
    if height == 0 or width == 0:
        window = _Window(tab, r0, c0, r0 + 1, c0 + 1)
        return _Write(window, {}, 0, 0, 0)
    r1, c1 = r0 + height, c0 + width
    if r1 > tab.rows or c1 > tab.cols:
        # Google names the first cell that falls outside the grid.
        if r1 > tab.rows:
            cell_r, cell_c = max(r0, tab.rows), c0
        else:
            cell_r, cell_c = r0, max(c0, tab.cols)
        raise _grid_error(f"{quote_title(tab.title)}!{col_to_letters(cell_c)}{cell_r + 1}", tab)
    cells: dict[tuple[int, int], Any] = {}
    for i, row in enumerate(grid):
        for j, cell in enumerate(row):
            if cell is not None:  # null means "leave this cell alone"
                cells[(r0 + i, c0 + j)] = cell
    rows_touched = {r for r, _ in cells}
    cols_touched = {c for _, c in cells}
    window = _Window(tab, r0, c0, r1, c1)
    return _Write(window, cells, len(rows_touched), len(cols_touched), len(cells))


def _apply_write(write: _Write) -> None:
    for key, value in write.cells.items():
        if value == "":
            write.window.tab.cells.pop(key, None)
        else:
            write.window.tab.cells[key] = value


def _update_response(book: _Spreadsheet, write: _Write) -> dict[str, Any]:
    out: dict[str, Any] = {"spreadsheetId": book.id, "updatedRange": write.window.a1()}
    if write.count:
        out.update(updatedRows=write.rows, updatedColumns=write.cols, updatedCells=write.count)
    return out


# --------------------------------------------------------------------------------------------
# Field masks for update*Properties
# --------------------------------------------------------------------------------------------


def _mask_paths(mask: str) -> list[list[str]]:
    """``"gridProperties/rowCount,title"`` or ``"gridProperties(rowCount,columnCount)"``."""
    paths: list[list[str]] = []
    for part in re.findall(r"[^,(]+(?:\([^)]*\))?", mask):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^()]+)\(([^)]*)\)", part)
        if m:
            prefix = re.split(r"[./]", m.group(1).strip())
            paths.extend(prefix + re.split(r"[./]", s.strip()) for s in m.group(2).split(","))
        else:
            paths.append(re.split(r"[./]", part))
    return paths


def _apply_mask(target: dict[str, Any], source: dict[str, Any], mask: str) -> None:
    if mask.strip() == "*":
        for key in list(target):
            if key not in source and key not in ("sheetId", "title", "gridProperties"):
                del target[key]
        for key, value in source.items():
            target[key] = copy.deepcopy(value)
        return
    for path in _mask_paths(mask):
        src: Any = source
        dst = target
        for key in path[:-1]:
            src = src.get(key, {}) if isinstance(src, dict) else {}
            dst = dst.setdefault(key, {})
        leaf = path[-1]
        if isinstance(src, dict) and leaf in src:
            dst[leaf] = copy.deepcopy(src[leaf])
        else:
            # A field in the mask but absent from the request is reset to its default.
            dst.pop(leaf, None)


def _drop_defaults(props: dict[str, Any]) -> None:
    # The API omits fields at their default value (hidden: false, frozenRowCount: 0, ...).
    for key in list(props):
        value = props[key]
        if key in ("rowCount", "columnCount", "sheetId", "title", "index"):
            continue
        if isinstance(value, dict):
            _drop_defaults(value)
            if not value and key != "gridProperties":
                del props[key]
        elif value is False or value == 0 or value == "":
            del props[key]


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the fake received it (bodies are kept parsed; the log never leaves tests)."""

    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    body_length: int
    json: Any
    status: int = 0
    raw_path: str = ""

    @property
    def value_input_option(self) -> str | None:
        """The valueInputOption of a write, from the query or the JSON body."""
        if "valueInputOption" in self.query:
            return self.query["valueInputOption"][0]
        if isinstance(self.json, dict):
            option = self.json.get("valueInputOption")
            return option if isinstance(option, str) else None
        return None


@dataclass
class _Fault:
    kind: str  # "fail" or "hang"
    remaining: int
    status: int = 0
    retry_after: float | None = None
    message: str | None = None
    seconds: float = 0.0
    path_contains: str | None = None


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)"), "_get_spreadsheet"),
    ("POST", re.compile(r"/v4/spreadsheets/([^/:]+):batchUpdate"), "_batch_update"),
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)/values:batchGet"), "_values_batch_get"),
    ("POST", re.compile(r"/v4/spreadsheets/([^/:]+)/values:batchUpdate"), "_values_batch_update"),
    ("POST", re.compile(r"/v4/spreadsheets/([^/:]+)/values:batchClear"), "_values_batch_clear"),
    ("POST", re.compile(r"/v4/spreadsheets/([^/:]+)/values/(.+):clear"), "_values_clear"),
    ("GET", re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/]+)"), "_values_get"),
    ("PUT", re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/]+)"), "_values_update"),
]


class FakeSheets:
    """A threaded fake Sheets v4 server on 127.0.0.1 (context manager or start()/stop()).

    :param seed: seeds the random sheetIds of added tabs, so runs are reproducible.
    """

    def __init__(self, *, seed: int = 0) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._books: dict[str, _Spreadsheet] = {}
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        # Bumped by reset(): a request still hanging from an earlier test must not touch the
        # next test's spreadsheets when it wakes up.
        self._generation = 0
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeSheets:
        if self._server is not None:
            return self
        handler = _make_handler(self)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # Handler threads must not keep the test process alive (a hung request sleeps on).
        server.daemon_threads = True
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        # Wake hung handlers first so they give up instead of answering into a dead socket.
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSheets:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """``"127.0.0.1:PORT"`` — the value for SHEETS_EMULATOR_HOST."""
        if self._server is None:
            raise RuntimeError("FakeSheets is not running")
        return f"127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reset(self) -> None:
        """Forget all spreadsheets, queued faults and the request log."""
        with self._lock:
            self._generation += 1
            self._books.clear()
            self._faults.clear()
            self.requests.clear()

    # -- state helpers for tests --------------------------------------------------------------

    def create_spreadsheet(
        self,
        spreadsheet_id: str,
        title: str,
        tabs: Sequence[str | TabSpec] | None = None,
        *,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
    ) -> None:
        """A spreadsheet as Drive creates it: one tab "Sheet1" (sheetId 0, 1000×26) by default.

        The first tab gets sheetId 0 unless given; later ones get random ids like Google's.
        """
        specs = [TabSpec(t) if isinstance(t, str) else t for t in (tabs or ["Sheet1"])]
        with self._lock:
            if spreadsheet_id in self._books:
                raise ValueError(f"spreadsheet {spreadsheet_id!r} already exists")
            book = _Spreadsheet(spreadsheet_id, title, self._rng)
            book.props.update(locale=locale, timeZone=time_zone)
            for n, spec in enumerate(specs):
                if book.tab_by_title(spec.title) is not None:
                    raise ValueError(f"duplicate tab title {spec.title!r}")
                sheet_id = spec.sheet_id
                if sheet_id is None:
                    sheet_id = 0 if n == 0 else book.new_sheet_id()
                book.tabs.append(
                    _Tab(
                        {
                            "sheetId": sheet_id,
                            "title": spec.title,
                            "sheetType": "GRID",
                            "gridProperties": {"rowCount": spec.rows, "columnCount": spec.cols},
                        }
                    )
                )
            if book.total_cells() > MAX_CELLS:
                raise ValueError(_CELL_LIMIT_MESSAGE)
            self._books[spreadsheet_id] = book

    def delete_spreadsheet(self, spreadsheet_id: str) -> None:
        with self._lock:
            self._books.pop(spreadsheet_id, None)

    def has_spreadsheet(self, spreadsheet_id: str) -> bool:
        with self._lock:
            return spreadsheet_id in self._books

    def metadata(self, spreadsheet_id: str) -> dict[str, Any]:
        """What GET /v4/spreadsheets/{id} would answer (without logging a request)."""
        with self._lock:
            return self._book(spreadsheet_id).metadata()

    def tab_titles(self, spreadsheet_id: str) -> list[str]:
        with self._lock:
            return [t.title for t in self._book(spreadsheet_id).tabs]

    def sheet_id(self, spreadsheet_id: str, tab: str) -> int:
        with self._lock:
            return self._tab(spreadsheet_id, tab).sheet_id

    def grid_size(self, spreadsheet_id: str, tab: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab."""
        with self._lock:
            t = self._tab(spreadsheet_id, tab)
            return t.rows, t.cols

    def values(self, spreadsheet_id: str, tab: str) -> list[list[str]]:
        """The whole tab as formatted text, trimmed like the API (for assertions)."""
        with self._lock:
            t = self._tab(spreadsheet_id, tab)
            if not t.cells:
                return []
            window = _Window(t, 0, 0, t.rows, t.cols)
            return _read(window, "ROWS", "FORMATTED_VALUE").get("values", [])  # type: ignore[no-any-return]

    def raw_cells(self, spreadsheet_id: str, tab: str) -> dict[tuple[int, int], Any]:
        """Stored cell values with their JSON types, keyed by 0-based (row, col)."""
        with self._lock:
            return dict(self._tab(spreadsheet_id, tab).cells)

    def set_values(
        self,
        spreadsheet_id: str,
        tab: str,
        values: Sequence[Sequence[Any]],
        start: str = "A1",
    ) -> None:
        """Simulate a manager's hand edit: write ``values`` at ``start``, not logged.

        The grid grows if needed, as it would when a person inserts rows in the UI.
        """
        with self._lock:
            t = self._tab(spreadsheet_id, tab)
            rng = parse_a1(start)
            r0, c0 = rng.start_row or 0, rng.start_col or 0
            grid = t.props["gridProperties"]
            height = len(values)
            width = max((len(row) for row in values), default=0)
            grid["rowCount"] = max(t.rows, r0 + height)
            grid["columnCount"] = max(t.cols, c0 + width)
            for i, row in enumerate(values):
                for j, cell in enumerate(row):
                    if cell is None:
                        continue
                    if cell == "":
                        t.cells.pop((r0 + i, c0 + j), None)
                    else:
                        t.cells[(r0 + i, c0 + j)] = cell

    def rename_tab(self, spreadsheet_id: str, old: str, new: str) -> None:
        """Simulate a manager renaming a tab by hand."""
        with self._lock:
            self._tab(spreadsheet_id, old).props["title"] = new

    def delete_tab(self, spreadsheet_id: str, tab: str) -> None:
        """Simulate a manager deleting a tab by hand."""
        with self._lock:
            book = self._book(spreadsheet_id)
            book.tabs.remove(self._tab(spreadsheet_id, tab))

    def insert_rows(self, spreadsheet_id: str, tab: str, before: int, count: int = 1) -> None:
        """Simulate a manager inserting empty rows before 0-based row ``before``."""
        self._dimension_by_hand(spreadsheet_id, tab, "ROWS", before, count)

    def insert_columns(self, spreadsheet_id: str, tab: str, before: int, count: int = 1) -> None:
        """Simulate a manager inserting (or, at the end, adding) empty columns."""
        self._dimension_by_hand(spreadsheet_id, tab, "COLUMNS", before, count)

    def _dimension_by_hand(self, spreadsheet_id: str, tab: str, dimension: str, start: int,
                           count: int) -> None:
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet_id = self._tab(spreadsheet_id, tab).sheet_id
            size = self._tab(spreadsheet_id, tab).rows if dimension == "ROWS" else \
                self._tab(spreadsheet_id, tab).cols
            if start >= size:  # "add N more at the end", as the UI does
                self._req_appendDimension(book, {"sheetId": sheet_id, "dimension": dimension,
                                                 "length": count})
                return
            self._req_insertDimension(book, {"range": {
                "sheetId": sheet_id, "dimension": dimension, "startIndex": start,
                "endIndex": start + count}, "inheritFromBefore": False})

    # -- fault injection ----------------------------------------------------------------------

    def clear_faults(self) -> None:
        """Forget faults still queued (the outage is over)."""
        with self._lock:
            self._faults.clear()

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        *,
        message: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and Google's error body.

        ``retry_after`` adds a Retry-After header (seconds).  ``path_contains`` limits the fault
        to requests whose decoded path contains that text.  Faulted requests change nothing.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    "fail",
                    times,
                    status=status,
                    retry_after=retry_after,
                    message=message,
                    path_contains=path_contains,
                )
            )

    def hang_next(
        self, seconds: float, times: int = 1, *, path_contains: str | None = None
    ) -> None:
        """Delay the next ``times`` requests by ``seconds`` before handling them.

        A hung request is still carried out afterwards (if the server is still running), like a
        slow server that finishes the work after the client gave up: a write that timed out on
        the client may have happened anyway.
        """
        with self._lock:
            self._faults.append(_Fault("hang", times, seconds=seconds, path_contains=path_contains))

    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    # -- request handling ---------------------------------------------------------------------

    def _book(self, spreadsheet_id: str) -> _Spreadsheet:
        book = self._books.get(spreadsheet_id)
        if book is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r}")
        return book

    def _tab(self, spreadsheet_id: str, title: str) -> _Tab:
        tab = self._book(spreadsheet_id).tab_by_title(title)
        if tab is None:
            raise KeyError(f"no tab {title!r} in {spreadsheet_id!r}")
        return tab

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def handle(
        self, method: str, raw_target: str, body: bytes
    ) -> tuple[int, dict[str, str], bytes | None]:
        """Serve one request; returns (status, headers, body) or body None to drop it."""
        split = urlsplit(raw_target)
        raw_path = split.path
        path = unquote(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        record = RecordedRequest(method, path, query, len(body), parsed, raw_path=raw_path)
        with self._lock:
            self.requests.append(record)

        fault = self._take_fault(path)
        headers: dict[str, str] = {}
        if fault is not None and fault.kind == "hang":
            generation = self._generation
            if self._stopping.wait(fault.seconds) or generation != self._generation:
                # Server stopping, or the test that queued the hang is over: drop the request.
                record.status = -1
                return -1, {}, None
            fault = None
        if fault is not None:
            message = fault.message or _FAULT_MESSAGES.get(fault.status, "Injected fault.")
            if fault.retry_after is not None:
                headers["Retry-After"] = _format_number(fault.retry_after)
            status, payload = fault.status, _ApiError(fault.status, message).body()
        else:
            status, payload = self._dispatch(method, raw_path, query, body, parsed)
        record.status = status
        data = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
        return status, headers, data

    def _dispatch(
        self,
        method: str,
        raw_path: str,
        query: dict[str, list[str]],
        body: bytes,
        parsed: Any,
    ) -> tuple[int, Any]:
        for route_method, pattern, name in _ROUTES:
            m = pattern.fullmatch(raw_path)
            if m is None or route_method != method:
                continue
            args = [unquote(g) for g in m.groups()]
            if body and parsed is None:
                return 400, _ApiError(400, "Invalid JSON payload received.").body()
            try:
                with self._lock:
                    book = self._books.get(args[0])
                    if book is None:
                        raise _not_found()
                    result = getattr(self, name)(book, *args[1:], query=query, body=parsed)
            except _ApiError as err:
                return err.code, err.body()
            return 200, result
        return 501, _ApiError(501, f"The fake does not implement {method} {raw_path}").body()

    # -- endpoints ----------------------------------------------------------------------------

    @staticmethod
    def _query_one(query: dict[str, list[str]], name: str, default: str) -> str:
        values = query.get(name)
        return values[-1] if values else default

    def _read_options(self, query: dict[str, list[str]]) -> tuple[str, str]:
        major = self._query_one(query, "majorDimension", "ROWS")
        if major == "DIMENSION_UNSPECIFIED":
            major = "ROWS"
        if major not in ("ROWS", "COLUMNS"):
            raise _bad_value(
                "major_dimension", "type.googleapis.com/google.apps.sheets.v4.Dimension", major
            )
        render = self._query_one(query, "valueRenderOption", "FORMATTED_VALUE")
        if render not in _RENDER_OPTIONS:
            raise _bad_value(
                "value_render_option",
                "type.googleapis.com/google.apps.sheets.v4.ValueRenderOption",
                render,
            )
        return major, render

    def _get_spreadsheet(
        self, book: _Spreadsheet, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        if self._query_one(query, "includeGridData", "false").lower() == "true" or "fields" in (
            query
        ):
            raise _ApiError(501, "The fake does not implement grid data or field masks")
        return book.metadata()

    def _values_get(
        self, book: _Spreadsheet, range_text: str, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        major, render = self._read_options(query)
        return _read(book.read_window(range_text), major, render)

    def _values_batch_get(
        self, book: _Spreadsheet, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        major, render = self._read_options(query)
        ranges = query.get("ranges", [])
        windows = [book.read_window(r) for r in ranges]
        return {
            "spreadsheetId": book.id,
            "valueRanges": [_read(w, major, render) for w in windows],
        }

    @staticmethod
    def _input_option(value: Any) -> str:
        if value is None or value == "":
            raise _ApiError(400, "'valueInputOption' is required but not specified")
        if value not in _INPUT_OPTIONS:
            raise _bad_value(
                "value_input_option",
                "type.googleapis.com/google.apps.sheets.v4.ValueInputOption",
                value,
            )
        return str(value)

    def _values_update(
        self, book: _Spreadsheet, range_text: str, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        self._input_option(self._query_one(query, "valueInputOption", ""))
        if not isinstance(body, dict):
            raise _ApiError(400, "Invalid JSON payload received.")
        body_range = body.get("range")
        if body_range is not None and body_range != range_text:
            # Google rejects a body range that disagrees with the URL's.
            raise _ApiError(
                400,
                f"Requested writing within range [{range_text}], but the request body has "
                f"range [{body_range}]",
            )
        write = _plan_write(
            book, range_text, body.get("values", []), body.get("majorDimension"), "data."
        )
        _apply_write(write)
        return _update_response(book, write)

    def _values_batch_update(
        self, book: _Spreadsheet, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        if not isinstance(body, dict):
            raise _ApiError(400, "Invalid JSON payload received.")
        self._input_option(body.get("valueInputOption"))
        data = body.get("data") or []
        if not isinstance(data, list):
            raise _bad_value("data", "type.googleapis.com/google.apps.sheets.v4.ValueRange", data)
        writes = [
            _plan_write(
                book,
                item.get("range") if isinstance(item, dict) else None,
                item.get("values", []) if isinstance(item, dict) else None,
                item.get("majorDimension") if isinstance(item, dict) else None,
                f"data[{i}].",
            )
            for i, item in enumerate(data)
        ]
        for write in writes:
            _apply_write(write)
        rows = {(w.window.tab.sheet_id, r) for w in writes for r, _ in w.cells}
        cols = {(w.window.tab.sheet_id, c) for w in writes for _, c in w.cells}
        sheets = {w.window.tab.sheet_id for w in writes if w.cells}
        out: dict[str, Any] = {"spreadsheetId": book.id}
        total_cells = sum(w.count for w in writes)
        if total_cells:
            out.update(
                totalUpdatedRows=len(rows),
                totalUpdatedColumns=len(cols),
                totalUpdatedCells=total_cells,
                totalUpdatedSheets=len(sheets),
            )
        if writes:
            out["responses"] = [_update_response(book, w) for w in writes]
        return out

    def _clear_window(self, book: _Spreadsheet, range_text: str) -> str:
        window = book.read_window(range_text)
        tab = window.tab
        tab.cells = {
            (r, c): v
            for (r, c), v in tab.cells.items()
            if not (window.r0 <= r < window.r1 and window.c0 <= c < window.c1)
        }
        return window.a1()

    def _values_clear(
        self, book: _Spreadsheet, range_text: str, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        return {"spreadsheetId": book.id, "clearedRange": self._clear_window(book, range_text)}

    def _values_batch_clear(
        self, book: _Spreadsheet, *, query: dict[str, list[str]], body: Any
    ) -> Any:
        ranges = body.get("ranges", []) if isinstance(body, dict) else []
        if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
            raise _bad_value("ranges", "type.googleapis.com/google.protobuf.ListValue", ranges)
        for r in ranges:  # validate all before clearing any
            book.read_window(r)
        return {
            "spreadsheetId": book.id,
            "clearedRanges": [self._clear_window(book, r) for r in ranges],
        }

    # -- spreadsheets.batchUpdate -------------------------------------------------------------

    def _batch_update(self, book: _Spreadsheet, *, query: dict[str, list[str]], body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise _ApiError(400, "Invalid JSON payload received.")
        # The real batchUpdate is atomic: snapshot, and restore on any error.
        snapshot = (copy.deepcopy(book.props), copy.deepcopy(book.tabs))
        replies: list[dict[str, Any]] = []
        try:
            for i, request in enumerate(body["requests"]):
                if not isinstance(request, dict) or len(request) != 1:
                    raise _ApiError(400, f"Invalid requests[{i}]: exactly one kind is required")
                ((kind, args),) = request.items()
                handler = getattr(self, f"_req_{kind}", None)
                if handler is None:
                    raise _ApiError(501, f"The fake does not implement requests[{i}].{kind}")
                try:
                    reply = handler(book, args if isinstance(args, dict) else {})
                    if book.total_cells() > MAX_CELLS:
                        raise _ApiError(400, _CELL_LIMIT_MESSAGE)
                except _ApiError as err:
                    if err.code == 400:
                        err = _ApiError(400, f"Invalid requests[{i}].{kind}: {err.message}")
                    raise err from None
                replies.append(reply)
        except _ApiError:
            book.props, book.tabs = snapshot
            raise
        out: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = book.metadata()
        return out

    @staticmethod
    def _grid_tab(book: _Spreadsheet, sheet_id: Any) -> _Tab:
        tab = book.tab_by_id(sheet_id)
        if tab is None:
            raise _ApiError(400, f"No grid with id: {sheet_id}")
        return tab

    def _req_addSheet(self, book: _Spreadsheet, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        props = copy.deepcopy(args.get("properties") or {})
        title = props.get("title")
        if title is None:
            n = len(book.tabs) + 1
            while book.tab_by_title(f"Sheet{n}") is not None:
                n += 1
            title = f"Sheet{n}"
        if book.tab_by_title(title) is not None:
            raise _ApiError(
                400,
                f'A sheet with the name "{title}" already exists. Please enter another name.',
            )
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = book.new_sheet_id()
        elif book.tab_by_id(sheet_id) is not None:
            raise _ApiError(400, f"A sheet with id {sheet_id} already exists.")
        grid = props.get("gridProperties") or {}
        grid.setdefault("rowCount", DEFAULT_ROWS)
        grid.setdefault("columnCount", DEFAULT_COLS)
        if grid["rowCount"] < 1 or grid["columnCount"] < 1:
            raise _ApiError(400, "The grid must have at least one row and one column.")
        index = props.pop("index", None)
        props.update(sheetId=sheet_id, title=title, gridProperties=grid)
        props.setdefault("sheetType", "GRID")
        _drop_defaults(props)
        tab = _Tab(props)
        if index is None or index > len(book.tabs):
            book.tabs.append(tab)
        else:
            book.tabs.insert(max(0, int(index)), tab)
        return {"addSheet": {"properties": book.sheet_properties(tab)}}

    def _req_deleteSheet(self, book: _Spreadsheet, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tab = self._grid_tab(book, args.get("sheetId"))
        if all(t is tab or t.props.get("hidden") for t in book.tabs):
            raise _ApiError(400, "You can't remove all the visible sheets in a document.")
        book.tabs.remove(tab)
        return {}

    def _req_updateSheetProperties(  # noqa: N802
        self, book: _Spreadsheet, args: dict[str, Any]
    ) -> dict[str, Any]:
        source = args.get("properties") or {}
        mask = args.get("fields")
        if not mask:
            raise _ApiError(400, "At least one field must be updated, but 'fields' is empty.")
        tab = self._grid_tab(book, source.get("sheetId"))
        old_index = book.tabs.index(tab)
        target = copy.deepcopy(tab.props)
        target["index"] = old_index
        _apply_mask(target, source, mask)
        target["sheetId"] = tab.sheet_id  # sheetId is immutable
        new_title = target.get("title")
        if not new_title:
            raise _ApiError(400, "The sheet title must not be empty.")
        other = book.tab_by_title(new_title)
        if other is not None and other is not tab:
            raise _ApiError(
                400,
                f'A sheet with the name "{new_title}" already exists. Please enter another name.',
            )
        grid = target.setdefault("gridProperties", {})
        for key in ("rowCount", "columnCount"):
            grid.setdefault(key, tab.props["gridProperties"][key])
            if not isinstance(grid[key], int) or grid[key] < 1:
                raise _ApiError(400, f"Invalid gridProperties.{key}: {grid[key]}")
        if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
            raise _ApiError(400, "You can't freeze all visible rows on the sheet.")
        if grid.get("frozenColumnCount", 0) >= grid["columnCount"]:
            raise _ApiError(400, "You can't freeze all visible columns on the sheet.")
        if target.get("hidden") and all(t is tab or t.props.get("hidden") for t in book.tabs):
            raise _ApiError(400, "You can't hide all the sheets in a document.")
        new_index = target.pop("index", old_index)
        _drop_defaults(target)
        tab.props = target
        tab.trim_to_grid()
        if new_index != old_index:
            # Indexes count "before the move", as in the API: moving 0 -> 2 among three tabs
            # places the tab between the other two.
            book.tabs.remove(tab)
            position = int(new_index) - (1 if old_index < new_index else 0)
            book.tabs.insert(max(0, min(position, len(book.tabs))), tab)
        return {}

    def _req_updateSpreadsheetProperties(  # noqa: N802
        self, book: _Spreadsheet, args: dict[str, Any]
    ) -> dict[str, Any]:
        mask = args.get("fields")
        if not mask:
            raise _ApiError(400, "At least one field must be updated, but 'fields' is empty.")
        target = copy.deepcopy(book.props)
        _apply_mask(target, args.get("properties") or {}, mask)
        if not target.get("title"):
            raise _ApiError(400, "The spreadsheet title must not be empty.")
        book.props = target
        return {}

    @staticmethod
    def _dimension(args: dict[str, Any], book: _Spreadsheet) -> tuple[_Tab, bool, int, int]:
        rng = args.get("range") or {}
        tab = FakeSheets._grid_tab(book, rng.get("sheetId"))
        dimension = rng.get("dimension")
        if dimension not in ("ROWS", "COLUMNS"):
            raise _ApiError(400, f"Invalid dimension: {dimension}")
        start, end = rng.get("startIndex", 0), rng.get("endIndex")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            raise _ApiError(400, "Invalid dimension range: startIndex must be < endIndex")
        return tab, dimension == "ROWS", start, end

    def _req_insertDimension(self, book: _Spreadsheet, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tab, rows, start, end = self._dimension(args, book)
        size = tab.rows if rows else tab.cols
        if start > size:
            raise _ApiError(
                400,
                f"Invalid startIndex {start}: the sheet has only {size} "
                f"{'rows' if rows else 'columns'}",
            )
        n = end - start
        shifted: dict[tuple[int, int], Any] = {}
        for (r, c), v in tab.cells.items():
            if rows and r >= start:
                r += n
            elif not rows and c >= start:
                c += n
            shifted[(r, c)] = v
        tab.cells = shifted
        tab.props["gridProperties"]["rowCount" if rows else "columnCount"] = size + n
        return {}

    def _req_deleteDimension(self, book: _Spreadsheet, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tab, rows, start, end = self._dimension(args, book)
        size = tab.rows if rows else tab.cols
        if end > size:
            raise _ApiError(
                400,
                f"Invalid dimension range: endIndex {end} is beyond the {size} "
                f"{'rows' if rows else 'columns'} of the sheet",
            )
        if start == 0 and end == size:
            raise _ApiError(
                400, f"You can't delete all the {'rows' if rows else 'columns'} on the sheet."
            )
        n = end - start
        moved: dict[tuple[int, int], Any] = {}
        for (r, c), v in tab.cells.items():
            pos = r if rows else c
            if start <= pos < end:
                continue
            if pos >= end:
                pos -= n
            moved[(pos, c) if rows else (r, pos)] = v
        tab.cells = moved
        tab.props["gridProperties"]["rowCount" if rows else "columnCount"] = size - n
        return {}

    def _req_appendDimension(self, book: _Spreadsheet, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tab = self._grid_tab(book, args.get("sheetId"))
        dimension = args.get("dimension")
        length = args.get("length")
        if dimension not in ("ROWS", "COLUMNS"):
            raise _ApiError(400, f"Invalid dimension: {dimension}")
        if not isinstance(length, int) or length < 1:
            raise _ApiError(400, "length must be greater than 0")
        key = "rowCount" if dimension == "ROWS" else "columnCount"
        tab.props["gridProperties"][key] += length
        return {}


def _make_handler(fake: FakeSheets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keep-alive like Google's front end; every answer carries Content-Length.
        protocol_version = "HTTP/1.1"
        server_version = "ESF"
        sys_version = ""
        # Idle keep-alive connections must not pin a thread forever.
        timeout = 30
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive request.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, data = fake.handle(self.command, self.path, body)
            if data is None:
                # Dropped after a hang (see FakeSheets.handle): close without answering.
                self.close_connection = True
                return
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (timeout) before the answer came; nothing to do.
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            # Quiet: the request log is in fake.requests, and pytest output stays readable.
            pass

    return Handler
