"""The Google Sheets mirror's periodic push, run by the scheduler once the mirror exists."""

from __future__ import annotations

import datetime as dt
import importlib

from jobs.runner import Outcome
from models.base import to_office


def _since(sheet) -> str:
    since = getattr(sheet, "skipped_since", None)
    return f"，自 {to_office(since):%m-%d %H:%M} 起" if since else ""


def _outcome(report) -> Outcome:
    """Read sync.run_sync's report (a SyncReport: .error, .spreadsheets[].error/.skipped)."""
    sheets = list(getattr(report, "spreadsheets", None) or [])
    failed = [s for s in sheets if getattr(s, "error", "")]
    skipped = [s for s in sheets if getattr(s, "skipped", "")]
    errors = [getattr(report, "error", "")] if getattr(report, "error", "") else []
    # The mirror's messages are written for staff (Chinese, no row contents).
    errors += [f"{getattr(s, 'estate_code', '')}：{s.error}" for s in failed]
    if not sheets and not errors:
        return Outcome(note="还没有小区配置镜像表格，本次无事可做")
    done = len(sheets) - len(failed) - len(skipped)
    note = f"表格同步：{len(sheets)} 个表格，{done} 个已同步，{len(skipped)} 个跳过"
    if skipped:
        note += "（" + "；".join(f"{getattr(s, 'estate_code', '')}：{s.skipped}{_since(s)}"
                                for s in skipped) + "）"
    if errors and (getattr(report, "error", "") or len(failed) == len(sheets)):
        status = "failed"
    elif skipped and not done and not errors:
        status = "skipped"  # nothing was mirrored: never shown as 成功 (#15)
    else:
        status = "partial" if errors or skipped else "succeeded"
    return Outcome(note=note, status=status, error="；".join(errors))


def sheets_sync(now: dt.datetime | None = None) -> Outcome:
    """Push committed register rows to the mirrored Google Sheets (sync.run_sync)."""
    try:
        sync = importlib.import_module("sync")
    except ImportError as exc:
        return Outcome(status="skipped",
                       note=f"表格同步模块 sync 无法导入（{type(exc).__name__}），本次跳过")
    run_sync = getattr(sync, "run_sync", None)
    if not callable(run_sync):
        return Outcome(status="skipped",
                       note="表格同步尚未启用（sync 模块没有 run_sync），本次跳过")
    return _outcome(run_sync())
