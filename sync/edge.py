"""The mirror's I/O with Google Sheets, through gspread's HTTP client (sync/http.py).

Four calls, nothing else: spreadsheet metadata (only when the remembered tab ids may be stale),
one `values:batchGet`, one `spreadsheets:batchUpdate`, one `values:batchUpdate` (RAW). Never
`values:append` (FINDINGS: it misplaces rows whose leading cells are empty).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence

from google.auth.exceptions import GoogleAuthError
from gspread.exceptions import APIError

from sync.http import SheetsTransportError
from sync.plan import MARKER_TITLE, PlanError, SheetSnapshot, TabSnapshot, quote_title

log = logging.getLogger(__name__)

_RANGE_END = re.compile(r"!?([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$")


class TabMissing(Exception):
    """A tab the read named does not exist (any more): read the metadata, then plan again."""


def _letters_to_count(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def grid_from_range(text: str) -> tuple[int, int]:
    """(rows, columns) of a tab from the range a whole-tab read answers ("'住户'!A1:K1000").

    Google answers a whole-tab read with the tab's full grid as the range, even though the
    values leave out trailing empty rows and columns.
    """
    cells = text.rsplit("!", 1)[-1]
    match = _RANGE_END.search(cells)
    if not match:
        raise ValueError(f"unexpected range {text!r}")
    letters, row = (match.group(3), match.group(4)) if match.group(3) else match.group(1, 2)
    return int(row), _letters_to_count(letters)


def read_spreadsheet(http, spreadsheet_id: str, titles: Sequence[str], *,
                     known: Mapping[str, int] | None, marker_id: int | None,
                     ignore: Iterable[str] = ()) -> SheetSnapshot:
    """Read every mirrored tab with one batchGet (plus the metadata when `known` is None).

    `known` maps each title to the sheetId remembered from the last sync; with it the read is a
    single request. `ignore` names tabs that are neither mirrored nor someone else's (obsolete
    tabs of the mirror, about to be deleted) for the cell count.
    """
    grids: dict[str, tuple[int, int]] = {}
    other_cells = 0
    not_others = {*titles, *ignore}
    if known is None:
        meta = http.fetch_sheet_metadata(spreadsheet_id)
        props = [sheet["properties"] for sheet in meta.get("sheets", [])]
        by_title = {p["title"]: p for p in props}
        ids = {p["title"]: int(p["sheetId"]) for p in props}
        taken = frozenset(ids.values())
        marker = by_title.get(MARKER_TITLE)
        marker_id = int(marker["sheetId"]) if marker else None
        existing = [t for t in titles if t in by_title]
        for p in props:
            grid = p.get("gridProperties", {})
            size = (grid.get("rowCount", 0), grid.get("columnCount", 0))
            grids[p["title"]] = size
            if p["title"] not in not_others:
                other_cells += size[0] * size[1]
    else:
        ids = dict(known)
        taken = frozenset([*known.values(), *([marker_id] if marker_id is not None else [])])
        existing = list(titles)
    tabs: dict[str, TabSnapshot] = {}
    if existing:
        try:
            # Unformatted: a number format a manager put on column A ("1,234") must not make
            # the key unreadable, or the row would be rewritten on every sync.
            answer = http.values_batch_get(
                spreadsheet_id, [quote_title(t) for t in existing],
                params={"valueRenderOption": "UNFORMATTED_VALUE", "majorDimension": "ROWS"})
        except APIError as exc:
            if exc.code == 400 and "Unable to parse range" in str(exc.error.get("message", "")):
                raise TabMissing() from exc
            raise
        for title, value_range in zip(existing, answer.get("valueRanges", []), strict=True):
            rows, cols = grids.get(title) or grid_from_range(value_range.get("range", ""))
            values = [[_text(c) for c in row] for row in value_range.get("values", [])]
            tabs[title] = TabSnapshot(title, ids.get(title), rows, cols, values)
    return SheetSnapshot(tabs=tabs, marker_id=marker_id, taken_ids=taken,
                         other_cells=other_cells, from_metadata=known is None)


def _text(value: object) -> str:
    """A cell as the planner compares it: what we write is text, or the key as a number."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_structural(http, spreadsheet_id: str, requests: list[dict]) -> dict:
    """One spreadsheets:batchUpdate, never replayed blindly.

    A timeout or 5xx may come after Google applied the batch (a timed-out addSheet may already
    have happened), so the HTTP client's retries are off for this call and the caller re-reads
    and re-plans instead. A 429 is retried: Google refused it before doing anything.
    """
    max_retries = getattr(http, "max_retries", 0)
    if hasattr(http, "max_retries"):
        http.max_retries = 0
    try:
        attempt = 0
        while True:
            try:
                return http.batch_update(spreadsheet_id, {"requests": requests})
            except APIError as exc:
                if exc.code != 429 or attempt >= max_retries:
                    raise
                delay = http.backoff_delay(attempt, exc.response.headers.get("Retry-After"))
                attempt += 1
                http.retry_count += 1
                log.warning("Sheets batchUpdate: 429; retry %d/%d in %.1f s",
                            attempt, max_retries, delay)
                http.sleep(delay)
    finally:
        if hasattr(http, "max_retries"):
            http.max_retries = max_retries


def write_values(http, spreadsheet_id: str, data: list[dict]) -> dict:
    """One values:batchUpdate, RAW: text stays text (FINDINGS: USER_ENTERED makes formulas).

    Every cell is written with its absolute value, so the HTTP client may safely retry it.
    """
    return http.values_batch_update(spreadsheet_id, {"valueInputOption": "RAW", "data": data})


def read_tab(http, spreadsheet_id: str, title: str) -> list[list[str]]:
    """All values of one tab as formatted text (for `sheets import`)."""
    answer = http.values_get(spreadsheet_id, quote_title(title),
                             params={"valueRenderOption": "FORMATTED_VALUE"})
    return [[c if isinstance(c, str) else str(c) for c in row]
            for row in answer.get("values", [])]


# Messages Google sends that carry no personal data, in the office's words.
_KNOWN_MESSAGES = (
    ("Unable to parse range", "找不到镜像的工作表（可能被手工删除或改名）"),
    ("above the limit of", "超过 Google 表格每个文件 1000 万单元格的上限"),
    ("exceeds grid limits", "写入位置超出了工作表的范围"),
    ("already exists", "工作表名称冲突（表格里已有同名工作表）"),
    ("No grid with id", "工作表已被删除或替换"),
)
_BY_CODE = {
    401: "Google 拒绝了凭据：请检查服务账号密钥",
    403: "没有访问该表格的权限：请把表格共享给服务账号（编辑者）",
    404: "找不到该表格：请核对表格 ID",
    # Said after the client's retries are spent: this run has given up (#15).
    429: "超出 Google 表格的调用配额，重试后仍被拒绝，本次同步已放弃",
}


def describe_error(exc: BaseException) -> str:
    """A Chinese one-line cause for the state table and the logs, without any cell content.

    Google's own messages can quote the values sent (e.g. "Invalid value at 'data[0].values'
    … 张三"), so only recognised messages are translated; anything else keeps its status only.
    """
    if isinstance(exc, SheetsTransportError):
        return f"连接 Google 表格超时或失败（HTTP {exc.code}）：下次同步会重新读取并继续"
    if isinstance(exc, APIError):
        status = exc.error.get("status", "") if isinstance(exc.error, dict) else ""
        message = str(exc.error.get("message", "")) if isinstance(exc.error, dict) else ""
        text = next((zh for en, zh in _KNOWN_MESSAGES if en in message), None)
        if text is None:
            text = _BY_CODE.get(exc.code) or (
                "Google 表格服务暂时不可用" if exc.code >= 500 else "Google 表格拒绝了请求")
        return f"{text}（HTTP {exc.code} {status}）".replace(" ）", "）")
    if isinstance(exc, PlanError):
        return str(exc)
    if isinstance(exc, GoogleAuthError) and not isinstance(exc, ValueError):
        return ("无法用服务账号换取 Google 访问令牌：请检查密钥是否有效、网络和服务器时间"
                f"（{type(exc).__name__}）")
    if isinstance(exc, OSError):
        return f"无法读取凭据文件（{type(exc).__name__}）"
    if isinstance(exc, ValueError) and "credentials" in str(exc).lower():
        return "凭据文件无效：需要 Google 服务账号的 JSON 密钥"
    return f"同步失败（{type(exc).__name__}）"
