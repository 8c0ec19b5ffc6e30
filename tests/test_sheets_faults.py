"""#15, the mirror half: each defect reproduced through gspread's real client against the fake.

Interrupted split by year, a sync killed during a write (kill -9 of a real process), a lock
held by a live or a silent process, a sync that would outlive its lock, and the time bound.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sheets_mirror_support as support

from jobs.registry import JOBS_BY_ID, get_job
from jobs.runner import run_job
from models.base import utcnow
from models.org import Resident, Unit
from models.register import save_record
from sync import lock, run_sync
from sync.engine import DEFAULT_SYNC_SECONDS
from sync.http import make_client
from sync.state import SheetTab, SheetTarget
from tests.conftest import csrf_token
from tests.sheets_helpers import SHEET_ID, expected_values, keys_in_column_a

ROOT = Path(__file__).resolve().parents[1]


# The fake Sheets server, the client and the estate's target of the mirror's tests, which
# pytest finds here by name (imported, a test taking them as parameters would read as
# redefining the imports).
server, fake, sleeps, client, target = (
    support.server, support.fake, support.sleeps, support.client, support.target)


def sync(app, client, **kwargs):
    with app.app_context():
        report = run_sync("TEST", client=client, **kwargs)
    (sheet,) = report.spreadsheets
    return sheet


def add_residents(estate, n, created_at=None):
    unit = Unit.get(Unit.code == "1-1-101")
    for i in range(n):
        resident = save_record(Resident(estate=estate, unit=unit, name=f"新住户{i}"), None)
        if created_at is not None:
            Resident.update(created_at=created_at).where(Resident.id == resident.id).execute()


# --- 1. ghost tab after an interrupted split by year ---------------------------------------------


def test_an_interrupted_split_never_hides_rows_and_leaves_no_ghost(app, fake, client, target,
                                                                   estate):
    add_residents(estate, 3, created_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    assert sync(app, client).ok
    rows_before = keys_in_column_a(fake.values(SHEET_ID, "住户"))
    app.config["SHEETS_TAB_CELL_LIMIT"] = 38  # the residents split into 住户 2025 / 住户 <year>
    # The outage starts after the structural write that adds the year tabs: every values
    # write fails, in every round of the run.
    fake.fail_next(500, times=1000, path_contains="values:batchUpdate")
    failed = sync(app, client)
    assert not failed.ok and failed.rounds == 3
    titles = fake.tab_titles(SHEET_ID)
    year = dt.datetime.now(dt.UTC).year
    assert {"住户 2025", f"住户 {year}"} <= set(titles)  # created, still empty
    # The old tab is still there with every row: managers never see fewer rows.
    assert keys_in_column_a(fake.values(SHEET_ID, "住户")) == rows_before

    fake.clear_faults()
    done = sync(app, client)
    assert done.ok
    assert "住户" not in fake.tab_titles(SHEET_ID)
    assert len(keys_in_column_a(fake.values(SHEET_ID, "住户 2025"))) == 3
    with app.app_context():
        assert not SheetTab.select().where(SheetTab.title == "住户").exists()
    fake.requests.clear()
    again = sync(app, client)
    assert again.requests == 2 and all(t.action == "unchanged" for t in again.tabs)
    assert [r.status for r in fake.requests] == [200, 200]


def test_a_ghost_record_of_a_deleted_tab_is_reconciled_away(app, fake, client, target, estate):
    assert sync(app, client).ok
    # The state a run killed between deleting the old tab and recording it used to leave.
    with app.app_context():
        SheetTab.create(target=target, register="residents", title="住户 2019",
                        sheet_id=424242, rows=5)
    fake.requests.clear()
    first = sync(app, client)
    assert first.ok and first.requests == 2 and {r.status for r in fake.requests} == {200}
    with app.app_context():
        assert not SheetTab.select().where(SheetTab.title == "住户 2019").exists()
    assert sync(app, client).requests == 2


# --- 2. a killed sync, and a busy lock as a visible state ---------------------------------------

KILLED_SYNC = """
import sys
from app import create_app
from sync import run_sync

app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "x",
                  "SHEETS_EMULATOR_HOST": sys.argv[2]})
with app.app_context():
    run_sync("TEST")
"""


def test_a_sync_killed_during_a_write_is_taken_over_at_once(app, fake, client, target, estate):
    fake.hang_next(60, path_contains="values:batchUpdate")  # the write never answers
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_SYNC), app.config["DATABASE_URL"],
         fake.host], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not any(r.path.endswith("values:batchUpdate") for r in fake.requests):
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
    finally:
        child.kill()  # SIGKILL: no finally block of the sync runs
        child.wait()
    held = SheetTarget.get_by_id(target.id)
    # The dead process still "holds" the lock for minutes: no finally block released it.
    assert held.locked_until > utcnow() and f":{child.pid}:" in held.lock_holder
    fake.clear_faults()
    report = sync(app, client)
    assert report.ok and not report.skipped  # no 10-minute wait: the holder is dead
    assert fake.values(SHEET_ID, "住户")[:4] == expected_values(estate.id)[:4]
    assert SheetTarget.get_by_id(target.id).lock_holder == ""


def _hold(target, heartbeat_age: float) -> str:
    holder = f"{socket.gethostname()[:60]}:{os.getpid()}:feedbeef"  # alive: this process
    now = utcnow()
    SheetTarget.update(lock_holder=holder, heartbeat_at=now - dt.timedelta(seconds=heartbeat_age),
                       locked_until=now + dt.timedelta(minutes=4)).where(
        SheetTarget.id == target.id).execute()
    return holder


def test_a_skipped_sync_is_not_success_anywhere(app, fake, target, estate, login_as):
    app.config["SHEETS_EMULATOR_HOST"] = fake.host
    holder = _hold(target, heartbeat_age=5)
    with app.app_context():
        report = run_sync("TEST")
    (sheet,) = report.spreadsheets
    assert sheet.busy and holder in sheet.skipped and report.busy
    assert "跳过" in "\n".join(report.lines()) and "起一直被跳过" in "\n".join(report.lines())
    since = SheetTarget.get_by_id(target.id).skipped_since
    assert since is not None

    cli = app.test_cli_runner().invoke(args=["sheets", "sync"])
    assert cli.exit_code == 75 and "上一次同步仍在进行" in cli.output
    assert SheetTarget.get_by_id(target.id).skipped_since == since  # since the first skip

    run = run_job(get_job("sheets_sync"), app=app)
    assert run.status == "skipped" and "上一次同步仍在进行" in run.note

    supervisor = login_as("supervisor")
    page = supervisor.get("/admin/sheets/").get_data(as_text=True)
    assert "一直被跳过" in page and "上一次同步仍在进行" in page
    # 立即同步 no longer flashes green for a skip.
    supervisor.post("/admin/sheets/sync", data={
        "estate": estate.id, "csrf_token": csrf_token(supervisor, "/admin/sheets/")})
    page = supervisor.get("/admin/sheets/").get_data(as_text=True)
    assert "alert-warning" in page and "alert-success" not in page

    # A holder silent for longer than STALE is taken over (not only after a fixed timeout).
    _hold(target, heartbeat_age=lock.STALE.total_seconds() + 1)
    with app.app_context():
        again = run_sync("TEST")
    assert again.ok and not again.busy
    assert SheetTarget.get_by_id(target.id).skipped_since is None
    page = login_as("supervisor", "sup2").get("/admin/sheets/").get_data(as_text=True)
    assert "一直被跳过" not in page


def test_a_holder_that_lost_its_lock_stops(app, target):
    with app.app_context():
        holder = lock.acquire(target, utcnow(), 60)
        beat = lock.Heartbeat(target, holder)
        beat.beat()
        SheetTarget.update(lock_holder="someone-else:1:x").execute()
        with pytest.raises(lock.LockLost):
            beat.beat()


# --- 3. a failing sync is bounded below its lock and lease ---------------------------------------


def test_a_failing_sync_ends_at_its_deadline_below_lock_and_lease(app, fake, target, estate):
    assert DEFAULT_SYNC_SECONDS + lock.MARGIN.total_seconds() < JOBS_BY_ID[
        "sheets_sync"].lease_seconds
    slow = make_client(emulator_host=fake.host, sleep=lambda s: None, timeout=0.3,
                       max_retries=50, requests_per_minute=100_000)
    app.config["SHEETS_SYNC_SECONDS"] = 1.5
    fake.hang_next(2, times=1000)  # every request times out, retries and all
    try:
        started = time.monotonic()
        with app.app_context():
            (sheet,) = run_sync("TEST", client=slow).spreadsheets
        took = time.monotonic() - started
    finally:
        fake.clear_faults()
        slow.http_client.session.close()
    assert not sheet.ok and "时限" in sheet.error
    assert took < 1.5 + 0.3 + 0.5  # the last attempt's timeout is cut to the time left
    assert SheetTarget.get_by_id(target.id).lock_holder == ""
