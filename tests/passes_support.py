"""The passes' shared fixtures and steps (#10 split test_passes.py): the staff, a decoration
of 1-1-101 with its permit in force, and a worker's card applied for, paid and issued
(R-PASS-1, R-REC-3)."""

from __future__ import annotations

import datetime as dt

import pytest
from decoration_support import apply, make_staff, to_permit

from models.base import office_day
from models.org import Unit
from models.passes import WorkerPass
from models.register import save_record
from models.users import User

ID = "11010519491231002X"


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)


@pytest.fixture
def permit(estate, staff, tmp_path):
    """A decoration of 1-1-101 with its permit in force for 400 days."""
    today = office_day()
    return to_permit(apply(estate, staff["clerk"], tmp_path,
                           works_end=today + dt.timedelta(days=400)), staff)


def apply_for_card(estate, user, unit_code="1-1-101", **fields) -> WorkerPass:
    """The desk registers a worker's application (待缴费): no number, money asked of finance."""
    values = {"holder_name": "王师傅", "id_number": ID, "phone": "13700001111", "trade": "水电",
              "checked_construction_permit": True, "checked_id": True,
              "checked_residence_permit": True, **fields}
    return save_record(WorkerPass(estate=estate.id, unit=Unit.get(Unit.code == unit_code).id,
                                  **values), user)


def worker(estate, user, unit_code="1-1-101", **fields) -> WorkerPass:
    """An issued card: applied, paid at finance (deposit and card fee), then issued (R-REC-3)."""
    card = apply_for_card(estate, user, unit_code, **fields)
    finance = User.get(User.username == "finance")
    card.deposit.collect(finance)
    card.card_fee.collect(finance)
    card = WorkerPass.get_by_id(card.id)
    card.issue(user)
    return WorkerPass.get_by_id(card.id)

