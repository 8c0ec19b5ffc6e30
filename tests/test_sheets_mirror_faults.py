"""The mirror end to end: real registers, gspread's real client, the fake Sheets server.

Faults: 429, 500 and 503 answers, a write that times out and lands late, a persistent failure,
read failures. Nothing waits for real: the client's sleep only records (Retry-After, backoff),
except the timeout test, which needs a server that really does not answer for a few tenths of
a second.
"""

from __future__ import annotations

import logging
import time

import sheets_mirror_support as support
from sheets_mirror_support import assert_mirrored, change_something

from models.org import Resident
from models.register import AuditLog
from sync import run_sync
from sync.http import make_client
from sync.state import SheetTab
from tests.sheets_helpers import SHEET_ID

# The mirror's fixtures, which pytest finds here by name (imported, a test taking them as
# parameters would read as redefining the imports).
server, fake, sleeps, client, target, mirror = (
    support.server, support.fake, support.sleeps, support.client, support.target, support.mirror)


# --- faults --------------------------------------------------------------------------------------


def test_429_on_the_structural_write_waits_and_succeeds(mirror, fake, estate, sleeps):
    mirror()
    change_something(estate)
    fake.fail_next(429, retry_after=7, path_contains=f"{SHEET_ID}:batchUpdate")
    report = mirror()
    assert sleeps == [7.0]
    assert report.requests == 5 and report.retries == 1 and report.rounds == 1
    assert_mirrored(fake, estate)


def test_500_on_the_structural_write_is_re_read_not_replayed(mirror, fake, estate):
    mirror()
    change_something(estate)
    fake.fail_next(500, path_contains=f"{SHEET_ID}:batchUpdate")
    report = mirror()
    assert report.rounds == 2  # read, failed write; metadata + read, write, write
    paths = [r.path.rsplit("/", 1)[-1] for r in fake.requests[-6:]]
    assert paths[:3] == ["values:batchGet", f"{SHEET_ID}:batchUpdate", SHEET_ID]
    assert_mirrored(fake, estate)


def test_values_write_failures_are_retried_then_re_planned(mirror, fake, estate):
    mirror()
    change_something(estate)
    fake.fail_next(503, times=6, path_contains="values:batchUpdate")  # 1 try + 5 retries
    report = mirror()
    assert report.rounds == 2
    assert_mirrored(fake, estate)


def test_a_write_that_times_out_and_lands_late_is_refused(app, fake, estate, target, sleeps):
    slow = make_client(emulator_host=fake.host, sleep=sleeps.append, timeout=0.3,
                       requests_per_minute=100_000)
    try:
        with app.app_context():
            run_sync("TEST", client=slow)
            change_something(estate)
            # The server does the write after the client gave up: it may "already have happened".
            fake.hang_next(0.8, path_contains=f"{SHEET_ID}:batchUpdate")
            report = run_sync("TEST", client=slow).spreadsheets[0]
            assert report.ok and report.rounds == 2
            time.sleep(1.0)  # let the late write land (it must be refused, not applied twice)
            late = [r for r in fake.requests if r.path.endswith(":batchUpdate")
                    and r.status not in (200, -1)]
            assert_mirrored(fake, estate)
            again = run_sync("TEST", client=slow).spreadsheets[0]
            assert again.requests == 2 and all(t.action == "unchanged" for t in again.tabs)
    finally:
        slow.http_client.session.close()
    assert [r.status for r in late] == [400]  # the late duplicate, refused as a whole


def test_persistent_failure_records_the_cause_and_the_next_sync_converges(
        app, mirror, fake, estate, caplog):
    mirror()
    change_something(estate)
    audit_rows = AuditLog.select().count()
    residents = [(r.id, r.name, r.version) for r in Resident.select().order_by(Resident.id)]
    fake.fail_next(500, times=3, path_contains=f"{SHEET_ID}:batchUpdate")
    with caplog.at_level(logging.INFO):
        failed = mirror()
    assert not failed.ok and failed.rounds == 3
    assert "Google 表格服务暂时不可用" in failed.error
    with app.app_context():
        state = SheetTab.get(SheetTab.title == "住户")
        assert state.last_error == failed.error and state.last_error_at is not None
    # The registers are untouched by a failed (or any) sync.
    assert AuditLog.select().count() == audit_rows
    assert [(r.id, r.name, r.version) for r in Resident.select().order_by(Resident.id)] == \
        residents
    # Errors are logged without personal data.
    assert "Google 表格服务暂时不可用" in caplog.text
    assert "插队的新住户" not in caplog.text and "138" not in caplog.text
    mirror()
    assert_mirrored(fake, estate)
    with app.app_context():
        assert SheetTab.get(SheetTab.title == "住户").last_error == ""


def test_read_failures_are_retried_by_the_client(mirror, fake, estate, sleeps):
    mirror()
    fake.fail_next(503, path_contains="values:batchGet")
    report = mirror()
    assert report.requests == 3 and len(sleeps) == 1


