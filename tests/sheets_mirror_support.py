"""The mirror's end-to-end fixtures and checks (#10 split test_sheets_mirror.py): a fake Sheets
server per module, gspread's real client whose sleeps are only recorded, the estate's target,
one sync of estate TEST, and the check that the tabs equal the registers."""

from __future__ import annotations

from collections import Counter

import pytest

from models.org import Resident, Unit
from models.register import save_record, void_record
from sync import run_sync
from sync.http import make_client
from sync.state import SheetTarget
from tests.sheets_fake import FakeSheets
from tests.sheets_helpers import SHEET_ID, expected_values, keys_in_column_a, mirrored_columns


@pytest.fixture(scope="module")
def server():
    with FakeSheets() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    server.create_spreadsheet(SHEET_ID, "测试花园 客服台账")
    return server


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(fake, sleeps):
    # The limiter is lifted so that recorded (not real) sleeps never spin it.
    made = make_client(emulator_host=fake.host, sleep=sleeps.append, timeout=5,
                       requests_per_minute=100_000)
    yield made
    made.http_client.session.close()


@pytest.fixture
def target(estate):
    return SheetTarget.create(estate=estate, spreadsheet_id=SHEET_ID)


@pytest.fixture
def mirror(app, client, target):
    """Run one sync of estate TEST; returns its SpreadsheetReport."""

    def sync(**kwargs):
        with app.app_context():
            report = run_sync("TEST", client=kwargs.pop("client", client), **kwargs)
        assert report.error == ""
        (sheet,) = report.spreadsheets
        return sheet

    return sync


def tab(report, title):
    return next(t for t in report.tabs if t.title == title)


def assert_mirrored(fake, estate):
    """The tabs equal the registers; every key exactly once (nothing lost, nothing doubled)."""
    for register, title in (("residents", "住户"), ("units", "房屋")):
        want = expected_values(estate.id, register)
        got = mirrored_columns(fake.values(SHEET_ID, title), len(want[0]))
        assert got == want, title
        rows, cols = fake.grid_size(SHEET_ID, title)
        assert rows == max(2, len(want)) and cols >= len(want[0])
        assert not [k for k, n in Counter(keys_in_column_a(got)).items() if n > 1]


def add_resident(estate, name, unit_code="1-1-101", **fields):
    unit = Unit.get(Unit.code == unit_code, Unit.estate == estate)
    return save_record(Resident(estate=estate, unit=unit, name=name, **fields), None)


def change_something(estate):
    void_record(Resident.get(Resident.name == "业主102"), None, "测试")
    add_resident(estate, "插队的新住户")
