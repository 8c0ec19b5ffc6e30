"""The mirror end to end: real registers, gspread's real client, the fake Sheets server.

What else a sync does: a dry run, a tab deleted by hand, tabs split by year, a disabled
register, the state kept per tab, run_sync's own errors and configuration, units following
their building, a credentials failure. Nothing waits for real: the client's sleep only records.
"""

from __future__ import annotations

import datetime as dt
import json

import sheets_mirror_support as support
from sheets_mirror_support import add_resident, assert_mirrored, change_something, tab

from models.base import db
from models.org import Building, Resident
from models.register import save_record, snapshot
from sync import run_sync
from sync.http import EMULATOR_ENV
from sync.registers import MIRRORS
from sync.state import SheetRegister, SheetTab
from tests.sheets_helpers import SHEET_ID, expected_values, keys_in_column_a

# The mirror's fixtures, which pytest finds here by name (imported, a test taking them as
# parameters would read as redefining the imports).
server, fake, sleeps, client, target, mirror = (
    support.server, support.fake, support.sleeps, support.client, support.target, support.mirror)

# Registers with no rows in the test estate still get their (header-only) tab.
EMPTY_TABS = {m.title for m in MIRRORS.values() if m.name not in ("residents", "units")}


# --- what else a sync does -----------------------------------------------------------------------


def test_dry_run_writes_nothing(app, mirror, fake, estate):
    mirror()
    change_something(estate)
    fake.set_values(SHEET_ID, "住户", [["手改"]], start="C2")
    before_values = fake.values(SHEET_ID, "住户")
    with app.app_context():
        states = [s.__data__ for s in SheetTab.select().order_by(SheetTab.id)]
    fake.requests.clear()
    report = mirror(dry_run=True)
    assert {r.method for r in fake.requests} == {"GET"}
    assert fake.values(SHEET_ID, "住户") == before_values
    residents = tab(report, "住户")
    assert residents.action == "update" and residents.hand_edits == 1
    # The hand edit is kept in 手工修改 first (a structural and a values write), then the rest.
    assert report.plan.write_requests == 4 and len(report.plan.hand_changes) == 1
    assert "演练" in "\n".join(report.lines())
    with app.app_context():
        assert [s.__data__ for s in SheetTab.select().order_by(SheetTab.id)] == states


def test_a_tab_deleted_by_hand_comes_back(mirror, fake, estate):
    mirror()
    fake.delete_tab(SHEET_ID, "住户")
    report = mirror()
    assert report.requests <= 4  # metadata (it shows the tab is gone), read, write, write
    assert_mirrored(fake, estate)
    assert mirror().requests == 2


def test_tabs_split_by_year_before_the_cell_limit(app, mirror, fake, estate):
    mirror()
    old = Resident.get(Resident.name == "业主101")
    Resident.update(created_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC)).where(
        Resident.id == old.id).execute()
    app.config["SHEETS_TAB_CELL_LIMIT"] = 38  # 4 × 10 residents' cells pass it, 4 × 9 units' not
    report = mirror()
    titles = fake.tab_titles(SHEET_ID)
    year = dt.datetime.now(dt.UTC).year
    assert "住户" not in titles and "住户 2025" in titles and f"住户 {year}" in titles
    assert tab(report, "住户").action == "delete"
    assert keys_in_column_a(fake.values(SHEET_ID, "住户 2025")) == [str(old.id)]
    assert len(keys_in_column_a(fake.values(SHEET_ID, f"住户 {year}"))) == 2
    with app.app_context():
        titles = {s.title for s in SheetTab.select()}
        assert titles - EMPTY_TABS == {"房屋", "住户 2025", f"住户 {year}"}
    assert mirror().requests == 2


def test_a_disabled_register_is_not_mirrored(mirror, fake, target):
    SheetRegister.create(target=target, register="units", enabled=False)
    report = mirror()
    assert [t.title for t in report.tabs if t.title not in EMPTY_TABS] == ["住户"]
    assert "房屋" not in fake.tab_titles(SHEET_ID)


def test_state_is_kept_per_tab(app, mirror, fake, estate):
    mirror()
    with app.app_context():
        state = SheetTab.get(SheetTab.title == "住户")
    assert (state.rows, state.last_request_count, state.lag_seconds) == (3, 3, None)
    assert state.last_success_at is not None and state.sheet_id == fake.sheet_id(SHEET_ID, "住户")
    add_resident(estate, "新住户")
    mirror()
    with app.app_context():
        state = SheetTab.get(SheetTab.title == "住户")
    assert state.rows == 4 and state.last_cells_written >= 3
    assert state.lag_seconds is not None and 0 <= state.lag_seconds < 60


def test_run_sync_explains_what_it_cannot_do(app, estate, target, monkeypatch):
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    with app.app_context():
        assert "找不到代码为 NOPE" in run_sync("NOPE").error
        assert "没有名为“demandz”" in run_sync(register="demandz").error
        (sheet,) = run_sync("TEST").spreadsheets
        assert "未配置 Google 凭据" in sheet.skipped and sheet.requests == 0


def test_run_sync_finds_the_emulator_from_the_configuration(app, fake, estate, target):
    app.config["SHEETS_EMULATOR_HOST"] = fake.host
    with app.app_context():
        report = run_sync(register="住户")
    assert report.ok and [t.title for t in report.spreadsheets[0].tabs] == ["住户"]
    assert fake.values(SHEET_ID, "住户") == expected_values(estate.id)


def test_units_follow_their_building_and_cluster(mirror, fake, estate):
    mirror()
    building = Building.get(Building.estate == estate)
    before = snapshot(building)
    building.name = "一号楼"
    save_record(building, None, before=before)
    report = mirror()
    assert tab(report, "房屋").cells_written == 3 and tab(report, "房屋").hand_edits == 0
    assert fake.values(SHEET_ID, "房屋")[1][:4] == ["1", "1-1-101", "第一组团", "一号楼"]
    assert db.is_closed() is False


def test_a_credentials_failure_is_reported_not_raised(app, estate, target, tmp_path,
                                                      monkeypatch):
    import socket

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    with socket.socket() as sock:  # a local port nothing listens on: no request leaves the host
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "0" * 40,
        "private_key": pem, "client_email": "mirror@p.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": f"http://127.0.0.1:{port}/token"}))
    target.credentials_file = str(key)
    target.save()
    app.config["SHEETS_MAX_RETRIES"] = 0
    with app.app_context():
        (sheet,) = run_sync("TEST").spreadsheets
    assert "无法用服务账号换取 Google 访问令牌" in sheet.error
    assert SheetTab.get(SheetTab.title == "住户").last_error == sheet.error
