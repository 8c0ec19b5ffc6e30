"""One sync run: read the registers, read the sheet once, plan, write the minimum, keep state.

`run_sync` is what the CLI, the "立即同步" button and the scheduler job call (inside an app
context). A failure leaves the registers untouched; only the mirror's own tables
(sync/state.py) are written, and the next run converges from whatever the sheet then holds.

A run holds the spreadsheet's lock (sync/lock.py) and has a time budget, SHEETS_SYNC_SECONDS,
below the lock and below the scheduler's lease: the HTTP client sends nothing after it, cuts
every timeout to the time left and never waits past it for a retry (#15). A run that finds the
lock held is skipped, and says so (report.skipped, the target's skipped_since, exit code).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext

from flask import current_app
from google.auth.exceptions import GoogleAuthError
from gspread.exceptions import APIError

from models.base import db, to_office, utcnow, write_transaction
from models.estate import Estate
from models.i18n import office_language
from sync import edge, lock, registers
from sync.http import DEFAULT_REQUESTS_PER_MINUTE, emulator_host_from_env, make_client
from sync.layout import layout_of, pack, unpack
from sync.mapping import Mirror
from sync.plan import MAX_PAYLOAD_BYTES, Plan, PlanError, TabPlan, TabTarget, plan_sync
from sync.projection import DEFAULT_TAB_CELL_LIMIT, project, tab_targets
from sync.reading import VERIFY_ROWS, Remembered, read_spreadsheet
from sync.report import SpreadsheetReport, SyncReport
from sync.state import SheetTab, SheetTarget

log = logging.getLogger(__name__)

# Read, plan and write again at most this often in one run after a failed write.
MAX_ROUNDS = 3
# A run's whole time budget (requests, retries, waits): well below the sheets_sync job's
# 600 s lease and the 5-minute schedule, so a slot never overlaps the next one's sync.
DEFAULT_SYNC_SECONDS = 240


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
            requests_per_minute=config.get("SHEETS_REQUESTS_PER_MINUTE",
                                           DEFAULT_REQUESTS_PER_MINUTE))
    return cache[key]


def mirrors_for(target: SheetTarget, register: str | None = None) -> list[Mirror]:
    disabled = target.disabled_registers()
    return [m for m in registers.MIRRORS.values()
            if m.name not in disabled and (register is None or m.name == register)]


# What the office keeps is in its language, whoever asked (#12 item 2).
@office_language()
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


@contextmanager
def bounded(http, budget: float, heartbeat=None) -> Iterator[None]:
    """Give the HTTP client the run's deadline and heartbeat for the duration of one run."""
    if not hasattr(http, "deadline"):
        yield
        return
    saved = (http.deadline, http.budget, http.on_progress)
    http.deadline, http.budget, http.on_progress = http.clock() + budget, budget, heartbeat
    try:
        yield
    finally:
        http.deadline, http.budget, http.on_progress = saved


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
    budget = float(current_app.config.get("SHEETS_SYNC_SECONDS", DEFAULT_SYNC_SECONDS))
    holder = None
    if not dry_run:
        got = lock.acquire(target, started, budget)
        if isinstance(got, lock.Busy):
            report.skipped = got.reason()
            report.busy = True
            report.skipped_since = lock.record_skip(target, started, report.skipped)
            log.warning("Sheets mirror %s: skipped: %s", target.estate.code, report.skipped)
            return report
        holder = got
    counters = (getattr(http, "request_count", 0), getattr(http, "bytes_sent", 0),
                getattr(http, "retry_count", 0), getattr(http, "bytes_received", 0))
    clock = time.monotonic()
    states = {s.title: s for s in SheetTab.select().where(SheetTab.target == target)}
    targets = _targets(target, mirrors, states)
    try:
        with bounded(http, budget, lock.Heartbeat(target, holder) if holder else None):
            _run_rounds(target, targets, mirrors, states, http, report, dry_run=dry_run,
                        noted_at=f"{to_office(started):%Y-%m-%d %H:%M}")
    except (APIError, PlanError, GoogleAuthError) as exc:
        # GoogleAuthError: the service account could not get a token (key, network, clock).
        report.error = edge.describe_error(exc)
    except lock.LockLost:
        report.error = "同步锁已被其他进程接管（本进程长时间没有心跳），本次已停止写入"
    finally:
        report.requests = getattr(http, "request_count", 0) - counters[0]
        report.bytes_sent = getattr(http, "bytes_sent", 0) - counters[1]
        report.retries = getattr(http, "retry_count", 0) - counters[2]
        report.bytes_received = getattr(http, "bytes_received", 0) - counters[3]
        report.seconds = time.monotonic() - clock
        if holder is not None:
            try:
                _record(target, targets, report, started)
                lock.clear_skip(target)
            finally:
                lock.release(target, holder)
    if report.error:
        # The cause only: no cell values, no names (they may be residents' data).
        log.error("Sheets mirror %s (%s): %s", target.estate.code, target.spreadsheet_id,
                  report.error)
    for tab in report.tabs:
        if tab.hand_notes:  # the run log says what people changed, never what they typed
            log.warning("Sheets mirror %s, %s: %s", target.estate.code, tab.title,
                        "；".join(tab.hand_notes))
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


def remembered_of(state: SheetTab) -> Remembered:
    layout = unpack(state.layout)
    return Remembered(state.sheet_id, state.sheet_title, (state.grid_rows, state.grid_cols),
                      layout[0] if layout else None, layout[1] if layout else None,
                      state.verify_cursor)


def _run_rounds(target: SheetTarget, targets: list[TabTarget], mirrors: list[Mirror],
                states: dict[str, SheetTab], http, report: SpreadsheetReport,
                *, dry_run: bool, noted_at: str) -> None:
    titles = {t.title for t in targets}
    selected = {m.name for m in mirrors}
    retired = [(s.title, s.register, s.sheet_id) for s in states.values()
               if s.register in selected and s.title not in titles and s.sheet_id is not None]
    config = current_app.config
    marker = mirror_spreadsheet(
        http, target.spreadsheet_id, targets, report,
        remembered={t: remembered_of(s) for t, s in states.items()}, retired=retired,
        dry_run=dry_run, noted_at=noted_at,
        verify_rows=config.get("SHEETS_VERIFY_ROWS", VERIFY_ROWS),
        max_payload=config.get("SHEETS_MAX_PAYLOAD_BYTES") or MAX_PAYLOAD_BYTES)
    if not dry_run:
        target.marker_sheet_id = marker
        SheetTarget.update(marker_sheet_id=marker).where(SheetTarget.id == target.id).execute()


def mirror_spreadsheet(http, spreadsheet_id: str, targets: list[TabTarget],
                       report: SpreadsheetReport, *,
                       remembered: Mapping[str, Remembered] | None = None,
                       retired: Sequence[tuple[str, str, int]] = (), dry_run: bool = False,
                       max_payload: int = MAX_PAYLOAD_BYTES, verify_rows: int = VERIFY_ROWS,
                       noted_at: str = "") -> int | None:
    """Read, plan and write one spreadsheet until its tabs equal `targets` (no database here).

    `remembered` is what the last good sync left in each tab (titles -> Remembered): with it
    an unchanged tab is read in part (sync/reading.py). `retired` lists (title, register,
    sheetId) of the mirror's tabs no longer wanted; they are deleted once all else landed.
    Fills `report` (plan, snapshot, rounds, reads) and returns the marker tab's id.
    Raises gspread's APIError (or PlanError) when MAX_ROUNDS attempts did not get through.
    """
    remembered = dict(remembered or {})
    retired_ids = frozenset(sheet_id for _, _, sheet_id in retired)
    failure: APIError | None = None
    for round_number in range(1, MAX_ROUNDS + 1):
        report.rounds = round_number
        before = getattr(http, "request_count", 0)
        try:
            snapshot = read_spreadsheet(http, spreadsheet_id, targets, remembered,
                                        retired_ids=retired_ids, verify_rows=verify_rows)
        except edge.TabMissing:
            # A tab was renamed or deleted by hand between the metadata and the values.
            remembered = _ids_only(remembered)
            snapshot = read_spreadsheet(http, spreadsheet_id, targets, remembered,
                                        retired_ids=retired_ids, verify_rows=verify_rows)
        report.read_requests = getattr(http, "request_count", 0) - before
        report.snapshot = snapshot
        obsolete = [tab for tab in retired if tab[2] in snapshot.taken_ids]
        plan = plan_sync(targets, snapshot, obsolete=obsolete, max_payload=max_payload,
                         noted_at=noted_at)
        report.plan = plan
        if dry_run or not plan.changed:
            return snapshot.marker_id
        try:
            _write(http, spreadsheet_id, plan)
        except APIError as exc:
            # Never replay: the write may have landed in part or in full. Read again (whole
            # tabs: the remembered rows may no longer be what the sheet holds), plan again.
            failure = exc
            log.warning("Sheets mirror %s: write failed (%s), reading again", spreadsheet_id,
                        edge.describe_error(exc))
            remembered = _ids_only(remembered)
            continue
        return plan.new_marker_id
    assert failure is not None
    raise failure


def _ids_only(remembered: Mapping[str, Remembered]) -> dict[str, Remembered]:
    """Keep which tab is which (by id), forget the rows: the next read is of whole tabs."""
    return {t: Remembered(r.sheet_id, r.sheet_title) for t, r in remembered.items()}


def _write(http, spreadsheet_id: str, plan: Plan) -> None:
    """Every step in order: the hand-change log, the tabs' rows and cells, then retirements."""
    for kind, body in plan.steps:
        if kind == "values":
            edge.write_values(http, spreadsheet_id, body)
            continue
        answer = edge.write_structural(http, spreadsheet_id, body)
        # Our chosen ids are what Google used; the replies confirm them for the state table.
        for reply in answer.get("replies", []):
            props = reply.get("addSheet", {}).get("properties")
            if props:
                for tab in plan.tabs:
                    if tab.title == props.get("title"):
                        tab.sheet_id = int(props["sheetId"])


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

        snapshot = report.snapshot
        if snapshot is not None:
            # Reconcile with the sheet's real tabs: a tab of ours that is gone and no longer
            # wanted leaves no record behind (a ghost would cost requests for ever).
            for title, state in existing.items():
                if title not in by_title and state.sheet_id not in snapshot.taken_ids:
                    state.delete_instance()
        if report.error or report.plan is None:
            for tab in targets:
                state = state_of(tab.title, tab.register)
                state.last_error = report.error[:300]
                state.last_error_at = now
                state.layout = None  # part of the writes may have landed: read whole next time
                state.save()
            return
        for tab in report.plan.tabs:
            if tab.action == "delete":
                SheetTab.delete().where(SheetTab.target == target,
                                        SheetTab.title == tab.title).execute()
                continue
            state = state_of(tab.title, tab.register)
            wanted = by_title.get(tab.title)
            state.sheet_id = tab.sheet_id
            state.sheet_title = tab.sheet_title
            state.rows = tab.rows
            state.grid_rows, state.grid_cols = tab.grid_after or (0, 0)
            if wanted is not None:
                layout = pack(*layout_of(wanted.rows, state.grid_rows))
                if bytes(state.layout or b"") != layout:
                    state.layout = layout
            snap = snapshot.tabs.get(tab.title) if snapshot else None
            if snap is not None and snap.partial:
                state.verify_cursor = sum(snap.window)
            state.lag_seconds = _lag_seconds(tab, wanted, now)
            state.last_success_at = started
            state.last_error = ""
            state.last_cells_written = tab.cells_written
            state.last_hand_edits = tab.hand_edits
            if tab.hand_notes:
                state.hand_note = "；".join(tab.hand_notes)[:300]
                state.hand_note_at = now
            state.save()
