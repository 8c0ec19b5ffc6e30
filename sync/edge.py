"""The mirror's I/O with Google Sheets, through gspread's HTTP client (sync/http.py).

Four calls, nothing else: spreadsheet metadata, `values:batchGet` (sync/reading.py decides
which ranges), `spreadsheets:batchUpdate` and `values:batchUpdate` (RAW). Never `values:append`
(FINDINGS: it misplaces rows whose leading cells are empty).
"""

from __future__ import annotations

import logging

from google.auth.exceptions import GoogleAuthError
from gspread.exceptions import APIError

from sync.http import SheetsTransportError, SyncDeadlineExceeded
from sync.plan import PlanError, quote_title

log = logging.getLogger(__name__)

class TabMissing(Exception):
    """A tab the read named does not exist (any more): read the metadata, then plan again."""


def cell_text(value: object) -> str:
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
                if hasattr(http, "time_for") and not http.time_for(delay):
                    raise  # the wait would pass the sync's deadline (#15)
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
    if isinstance(exc, SyncDeadlineExceeded):
        return (f"本次同步用完了 {exc.budget:.0f} 秒的时限，已停止（未再发出请求）；"
                "下一次同步会重新读取表格并继续")
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
