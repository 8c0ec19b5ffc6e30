"""One sync run: read the registers, read the sheet once, plan, write the minimum, keep state.

`run_sync` is what the CLI, the "立即同步" button and the scheduler job call (inside an app
context). A failure leaves the registers untouched; only the mirror's own tables
(sync/state.py) are written, and the next run converges from whatever the sheet then holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext

from flask import current_app
from google.auth.exceptions import GoogleAuthError
from gspread.exceptions import APIError

from models.base import db, utcnow, write_transaction
from models.estate import Estate
from sync import edge, registers
from sync.http import emulator_host_from_env, make_client
from sync.mapping import Mirror
from sync.plan import MAX_PAYLOAD_BYTES, Plan, PlanError, TabPlan, TabTarget, plan_sync
from sync.projection import DEFAULT_TAB_CELL_LIMIT, project, tab_targets
from sync.report import SpreadsheetReport, SyncReport
from sync.state import SheetTab, SheetTarget

log = logging.getLogger(__name__)

# Read, plan and write again at most this often in one run after a failed write.
MAX_ROUNDS = 3
# A crashed run must not block the mirror for ever; a normal run takes seconds.
LEASE = dt.timedelta(minutes=10)


def credentials_for(target: SheetTarget) -> tuple[str | None, str | None]:
    """(emulator host, credentials file) for a target; both None: preview only."""
    config = current_app.config
    emulator = config.get("SHEETS_EMULATOR_HOST") or emulator_host_from_env()
    if emulator:
        return emulator, None
    return None, (target.credentials_file or config.get("SHEETS_CREDENTIALS_FILE") or None)


def is_live(target: SheetTarget) -> bool:
    """Whether syncs can reach a Sheets endpoint (credentials or an emulator are set)."""
    return any(credentials_for(target))


def client_for(target: SheetTarget):
    """The gspread client for a target, shared per process so the 60/min limiter is shared."""
    emulator, credentials = credentials_for(target)
    if not emulator and not credentials:
        return None
    cache = current_app.extensions.setdefault("sheets_clients", {})
    key = (emulator, credentials)
    if key not in cache:
        config = current_app.config
        cache[key] = make_client(
            credentials_file=credentials, emulator_host=emulator,
            timeout=config.get("SHEETS_TIMEOUT", 30),
            max_retries=config.get("SHEETS_MAX_RETRIES", 5),
            requests_per_minute=config.get("SHEETS_REQUESTS_PER_MINUTE", 60))
    return cache[key]


def mirrors_for(target: SheetTarget, register: str | None = None) -> list[Mirror]:
    disabled = target.disabled_registers()
    return [m for m in registers.MIRRORS.values()
            if m.name not in disabled and (register is None or m.name == register)]


def run_sync(estate_code: str | None = None, register: str | None = None,
             dry_run: bool = False, *, client=None) -> SyncReport:
    """Mirror the registers of one estate (or of every configured one) to their spreadsheets.

    `register` limits the run to one register (name or tab title); `dry_run` only reads and
    plans. `client` overrides the gspread client (tests, benchmarks). Call inside an app context.
    """
    report = SyncReport()
    with db.connection_context() if db.is_closed() else nullcontext():
        mirror = None
        if register is not None:
            mirror = registers.find(register)
            if mirror is None:
                names = "、".join(f"{m.name}（{m.title}）" for m in registers.MIRRORS.values())
                report.error = f"没有名为“{register}”的登记簿镜像；可选：{names}"
                return report
        query = SheetTarget.select(SheetTarget, Estate).join(Estate).order_by(Estate.code)
        if estate_code is not None:
            if not Estate.select().where(Estate.code == estate_code.upper()).exists():
                report.error = f"找不到代码为 {estate_code} 的小区"
                return report
            query = query.where(Estate.code == estate_code.upper())
            if not query.exists():
                report.error = (f"小区 {estate_code.upper()} 还没有配置镜像表格：请先运行 "
                                f"flask --app app sheets configure --estate {estate_code.upper()}"
                                " --spreadsheet 表格ID")
                return report
        for target in query:
            mirrors = mirrors_for(target, mirror.name if mirror else None)
            report.spreadsheets.append(
                sync_target(target, mirrors, dry_run=dry_run, client=client))
    return report


def _acquire(target: SheetTarget, now: dt.datetime) -> bool:
    free = (SheetTarget.locked_until.is_null()) | (SheetTarget.locked_until < now)
    return SheetTarget.update(locked_until=now + LEASE).where(
        SheetTarget.id == target.id, free).execute() == 1


def _release(target: SheetTarget) -> None:
    SheetTarget.update(locked_until=None).where(SheetTarget.id == target.id).execute()


def sync_target(target: SheetTarget, mirrors: list[Mirror], *, dry_run: bool = False,
                client=None) -> SpreadsheetReport:
    """Sync one spreadsheet (see the module docstring); never raises for a Sheets failure."""
    report = SpreadsheetReport(target.estate.code, target.spreadsheet_id, dry_run=dry_run)
    if not mirrors:
        report.skipped = "该小区的所有登记簿镜像都已停用"
        return report
    try:
        client = client or client_for(target)
    except (OSError, ValueError) as exc:
        report.error = edge.describe_error(exc)
        log.error("Sheets mirror %s: %s", target.estate.code, report.error)
        return report
    if client is None:
        report.skipped = "未配置 Google 凭据：可在“镜像状态”页面预览并下载 XLSX"
        return report
    http = client.http_client
    started = utcnow()
    if not dry_run and not _acquire(target, started):
        report.skipped = "上一次同步仍在进行，本次跳过"
        return report
    counters = (getattr(http, "request_count", 0), getattr(http, "bytes_sent", 0),
                getattr(http, "retry_count", 0))
    clock = time.monotonic()
    states = {s.title: s for s in SheetTab.select().where(SheetTab.target == target)}
    targets = _targets(target, mirrors, states)
    try:
        _run_rounds(target, targets, mirrors, states, http, report, dry_run=dry_run)
    except (APIError, PlanError, GoogleAuthError) as exc:
        # GoogleAuthError: the service account could not get a token (key, network, clock).
        report.error = edge.describe_error(exc)
    finally:
        report.requests = getattr(http, "request_count", 0) - counters[0]
        report.bytes_sent = getattr(http, "bytes_sent", 0) - counters[1]
        report.retries = getattr(http, "retry_count", 0) - counters[2]
        report.seconds = time.monotonic() - clock
        if not dry_run:
            try:
                _record(target, targets, report, started)
            finally:
                _release(target)
    if report.error:
        # The cause only: no cell values, no names (they may be residents' data).
        log.error("Sheets mirror %s (%s): %s", target.estate.code, target.spreadsheet_id,
                  report.error)
    return report


def _targets(target: SheetTarget, mirrors: list[Mirror], states: dict[str, SheetTab]):
    """What every tab of the selected registers should hold, read from the registers now."""
    limit = current_app.config.get("SHEETS_TAB_CELL_LIMIT", DEFAULT_TAB_CELL_LIMIT)
    targets = []
    for mirror in mirrors:
        since = {t: s.last_success_at for t, s in states.items() if s.register == mirror.name}
        targets += tab_targets(mirror, project(mirror, target.estate_id), cell_limit=limit,
                               synced_since=since)
    return targets


def _run_rounds(target: SheetTarget, targets: list[TabTarget], mirrors: list[Mirror],
                states: dict[str, SheetTab], http, report: SpreadsheetReport,
                *, dry_run: bool) -> None:
    titles = [t.title for t in targets]
    selected = {m.name for m in mirrors}
    retired = [(s.title, s.register, s.sheet_id) for s in states.values()
               if s.register in selected and s.title not in titles and s.sheet_id is not None]
    known = None
    if target.marker_sheet_id is not None and all(
            t in states and states[t].sheet_id is not None for t in titles):
        known = {t: states[t].sheet_id for t in titles}
    marker = mirror_spreadsheet(
        http, target.spreadsheet_id, targets, report, known=known,
        marker_id=target.marker_sheet_id, retired=retired, dry_run=dry_run,
        max_payload=current_app.config.get("SHEETS_MAX_PAYLOAD_BYTES") or MAX_PAYLOAD_BYTES)
    if not dry_run:
        target.marker_sheet_id = marker
        SheetTarget.update(marker_sheet_id=marker).where(SheetTarget.id == target.id).execute()


def mirror_spreadsheet(http, spreadsheet_id: str, targets: list[TabTarget],
                       report: SpreadsheetReport, *, known: Mapping[str, int] | None = None,
                       marker_id: int | None = None,
                       retired: Sequence[tuple[str, str, int]] = (), dry_run: bool = False,
                       max_payload: int = MAX_PAYLOAD_BYTES) -> int | None:
    """Read, plan and write one spreadsheet until its tabs equal `targets` (no database here).

    `known` maps titles to the sheetIds remembered from the last sync (then the read is one
    request); `retired` lists (title, register, sheetId) of the mirror's tabs no longer wanted.
    Fills `report` (plan, rounds, reads) and returns the marker tab's id the sheet now has.
    Raises gspread's APIError (or PlanError) when MAX_ROUNDS attempts did not get through.
    """
    titles = [t.title for t in targets]
    ignore = [title for title, _, _ in retired]
    failure: APIError | None = None
    for round_number in range(1, MAX_ROUNDS + 1):
        report.rounds = round_number
        before = getattr(http, "request_count", 0)
        try:
            snapshot = edge.read_spreadsheet(http, spreadsheet_id, titles, known=known,
                                             marker_id=marker_id, ignore=ignore)
        except edge.TabMissing:
            # A tab was deleted or renamed by hand: the metadata says what is there now.
            known = None
            snapshot = edge.read_spreadsheet(http, spreadsheet_id, titles, known=None,
                                             marker_id=marker_id, ignore=ignore)
        report.read_requests = getattr(http, "request_count", 0) - before
        obsolete = [tab for tab in retired
                    if not snapshot.from_metadata or tab[2] in snapshot.taken_ids]
        plan = plan_sync(targets, snapshot, obsolete=obsolete, max_payload=max_payload)
        report.plan = plan
        if dry_run or not plan.changed:
            return snapshot.marker_id
        try:
            _write(http, spreadsheet_id, plan)
        except APIError as exc:
            # Never replay: the write may have landed in part or in full. Read again, plan again.
            failure = exc
            log.warning("Sheets mirror %s: write failed (%s), reading again", spreadsheet_id,
                        edge.describe_error(exc))
            known = None
            continue
        return plan.new_marker_id
    assert failure is not None
    raise failure


def _write(http, spreadsheet_id: str, plan: Plan) -> None:
    for batch in plan.structural:
        answer = edge.write_structural(http, spreadsheet_id, batch)
        # Our chosen ids are what Google used; the replies confirm them for the state table.
        for reply in answer.get("replies", []):
            props = reply.get("addSheet", {}).get("properties")
            if props:
                for tab in plan.tabs:
                    if tab.title == props.get("title"):
                        tab.sheet_id = int(props["sheetId"])
    for batch in plan.values:
        edge.write_values(http, spreadsheet_id, batch)


def _lag_seconds(tab: TabPlan, target: TabTarget | None, finished: dt.datetime) -> int | None:
    if target is None or target.fresh is None:
        return None  # the tab's first sync: nothing to measure against
    stamps = [target.changed_at[k] for k in tab.written_keys
              if k in target.fresh and k in target.changed_at]
    return max(0, int((finished - min(stamps)).total_seconds())) if stamps else 0


def _record(target: SheetTarget, targets: list[TabTarget], report: SpreadsheetReport,
            started: dt.datetime) -> None:
    """Keep each tab's state; after a failure only the attempt and its cause change."""
    now = utcnow()
    by_title = {t.title: t for t in targets}
    with write_transaction():
        existing = {s.title: s for s in SheetTab.select().where(SheetTab.target == target)}

        def state_of(title: str, register: str) -> SheetTab:
            state = existing.get(title) or SheetTab(target=target, title=title)
            state.register = register
            state.last_attempt_at = state.updated_at = now
            state.last_request_count = report.requests
            return state

        if report.error or report.plan is None:
            for tab in targets:
                state = state_of(tab.title, tab.register)
                state.last_error = report.error[:300]
                state.last_error_at = now
                state.save()
            return
        for tab in report.plan.tabs:
            if tab.action == "delete":
                SheetTab.delete().where(SheetTab.target == target,
                                        SheetTab.title == tab.title).execute()
                continue
            state = state_of(tab.title, tab.register)
            state.sheet_id = tab.sheet_id
            state.rows = tab.rows
            state.lag_seconds = _lag_seconds(tab, by_title.get(tab.title), now)
            state.last_success_at = started
            state.last_error = ""
            state.last_cells_written = tab.cells_written
            state.last_hand_edits = tab.hand_edits
            state.save()
