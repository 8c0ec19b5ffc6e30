"""问题汇总 (R-FRONT-2): the rectification items summarised per building and unit, and one
building's list for the printed paper the office keeps (models/rectification.py has the rules).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import JOIN, Case, fn

from models.org import Building, Unit
from models.rectification import Rectification


def summary(estate_id: int, now: dt.datetime) -> list[dict]:
    """问题汇总: per building, then per unit, the live items by state and how many are overdue.

    One grouped query; buildings and units by name. Items with no building (common parts
    named only by a place) come last under 公共部位.
    """
    R = Rectification
    late = fn.SUM(Case(None, [((R.state == "assigned") & (R.due < now), 1)], 0))
    rows = (R.select(R.building, R.unit, R.state, fn.COUNT(R.id), late)
            .where(R.voided == False, R.estate == estate_id)  # noqa: E712
            .group_by(R.building, R.unit, R.state).tuples())
    buildings: dict = {}
    for building_id, unit_id, state, count, overdue in rows:
        building = buildings.setdefault(building_id, _tally({"id": building_id, "units": {}}))
        unit = building["units"].setdefault(unit_id, _tally({"id": unit_id}))
        for tally in (building, unit):
            tally["states"][state] = tally["states"].get(state, 0) + count
            tally["total"] += count
            tally["overdue"] += int(overdue or 0)
            tally["open"] += 0 if state == "closed" else count
    names = dict(Building.select(Building.id, Building.name)
                 .where(Building.id.in_([b for b in buildings if b])).tuples())
    unit_ids = [u for b in buildings.values() for u in b["units"] if u]
    codes = dict(Unit.select(Unit.id, Unit.code).where(Unit.id.in_(unit_ids)).tuples())
    result = []
    for building in buildings.values():
        building["name"] = names.get(building["id"], gettext("公共部位"))
        units = list(building.pop("units").values())
        for unit in units:
            unit["name"] = codes.get(unit["id"], gettext("楼栋公共部位"))
        building["units"] = sorted(units, key=lambda u: (u["id"] is None, u["name"]))
        result.append(building)
    return sorted(result, key=lambda b: (b["id"] is None, b["name"]))


def _tally(row: dict) -> dict:
    return {**row, "states": {}, "total": 0, "open": 0, "overdue": 0}


def building_items(estate_id: int, building_id: int | None, *, open_only: bool = True):
    """The items of one building (None: the common parts with no building), by unit, for the
    printed list the office keeps per building."""
    R = Rectification
    query = (R.select(R, Unit).join(Unit, JOIN.LEFT_OUTER, on=(R.unit == Unit.id))
             .where(R.voided == False, R.estate == estate_id)  # noqa: E712
             .order_by(Unit.code, R.number))
    query = query.where(R.building.is_null() if building_id is None else
                        R.building == building_id)
    if open_only:
        query = query.where(R.state != "closed")
    return query
