"""models/deadlines.py loaded on its own for its tests (#10 split test_deadlines.py), the end
of a day as the module represents it, and the fixture that gives every test no overrides and
the Shanghai zone."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# Load the file on its own rather than through `models/__init__.py`, which pulls in Flask and
# peewee: the module is pure by contract, and these tests must run without the app.
SOURCE = Path(__file__).resolve().parents[1] / "models" / "deadlines.py"
_spec = importlib.util.spec_from_file_location("deadlines_under_test", SOURCE)
assert _spec is not None and _spec.loader is not None
dl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dl)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def eod(y: int, m: int, d: int, tz: ZoneInfo | None = None) -> datetime:
    """End of day (24:00) as the module represents it."""
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=tz)


@pytest.fixture(autouse=True)
def clean_module_state():
    """Every test starts with no overrides and the Shanghai zone, and leaves them as found."""
    saved_overrides = dl.get_overrides()
    saved_tz = dl.office_timezone()
    dl.set_overrides({})
    dl.set_office_timezone("Asia/Shanghai")
    yield
    dl.set_overrides(saved_overrides)
    dl.set_office_timezone(saved_tz.key)

