"""The registers the mirror knows, one small declaration each (see sync/mapping.py).

To mirror another register, declare it here and it appears in every configured spreadsheet
(enabled unless an estate switched it off), in `sheets sync --register`, the preview and the
import — see DEMANDS below: a big register is split into one tab per year by `year_field`.
"""

from __future__ import annotations

from models.demands import Demand, WorkOrder
from models.org import Resident, Unit
from sync.mapping import Mirror

# Name -> mirror, in the order the tabs are created.
MIRRORS: dict[str, Mirror] = {}


def declare(mirror: Mirror) -> Mirror:
    if mirror.name in MIRRORS or any(m.title == mirror.title for m in MIRRORS.values()):
        raise ValueError(f"mirror {mirror.name!r} / {mirror.title!r} declared twice")
    MIRRORS[mirror.name] = mirror
    return mirror


def find(name: str) -> Mirror | None:
    """A mirror by its command-line name or its tab title (住户)."""
    if name in MIRRORS:
        return MIRRORS[name]
    return next((m for m in MIRRORS.values() if m.title == name), None)


UNITS = declare(Mirror(
    name="units", title="房屋", model=Unit,
    columns=("code", "building.cluster.name", "building.name", "entrance", "room", "floor",
             "area", "state"),
    natural_key=("code",), lookups={"building": "name"},
))

RESIDENTS = declare(Mirror(
    name="residents", title="住户", model=Resident,
    columns=("unit.code", "name", "kind", "phone", "doc_type", "id_number", "moved_in",
             "moved_out", "notes"),
    natural_key=("unit", "name"), lookups={"unit": "code"},
))

# R-DEM: what managers read most — every demand with its deadline, status and misses.
DEMANDS = declare(Mirror(
    name="demands", title="投诉登记", model=Demand, year_field="received_at",
    columns=("number", "received_at", "channel", "kind", "category", "unit.code",
             "contact_name", "contact_phone", "description", "serious", "urgent", "reply_due",
             "status", "department.name", "replied_at", "missed_replies", "late_minutes",
             "reopen_count", "closed_at"),
    natural_key=("number",),
))

WORK_ORDERS = declare(Mirror(
    name="work_orders", title="维修单", model=WorkOrder, year_field="dispatched_at",
    columns=("number", "dispatched_at", "department.name", "what", "location", "state",
             "arrived_at", "completed_at", "result", "materials", "cost", "callback_done"),
    natural_key=("number",),
))
