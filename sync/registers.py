"""The registers the mirror knows, one small declaration each (see sync/mapping.py).

To mirror another register, declare it here and it appears in every configured spreadsheet
(enabled unless an estate switched it off), in `sheets sync --register`, the preview and the
import — see DEMANDS below: a big register is split into one tab per year by `year_field`.
"""

from __future__ import annotations

from models.decoration import Decoration
from models.demands import Demand
from models.deposits import Deposit
from models.emergencies import Emergency
from models.movein import MoveIn
from models.org import Resident, Unit
from models.passes import TemporaryPass, WorkerPass
from models.printing import PrintJob
from models.work_orders import WorkOrder
from sync.mapping import Column, Mirror, to_text
from sync.registers_office import KEY_SETS as KEY_SETS_MIRROR
from sync.registers_office import OFFICE_MIRRORS

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

def overdue_text(original_due, reply_due, missed: int, late_minutes: int) -> str:
    """超期 (R-REC-1, #15): the deadline as originally promised, a supervisor's revision beside
    it, and every recorded miss, which neither closing nor revising erases.

    Only what the record holds: no "overdue now" guess from the clock (see Column).
    """
    promised = original_due or reply_due
    due = f"原承诺期限 {to_text(promised)}" if promised else "无期限"
    if promised and reply_due and reply_due != promised:
        due += f"（主管修订为 {to_text(reply_due)}）"
    if not missed:
        return f"{due}，无超时记录"
    hours, minutes = divmod(int(late_minutes or 0), 60)
    late = f"{hours} 小时 {minutes} 分钟" if hours else f"{minutes} 分钟"
    return f"{due}，超时答复 {missed} 次，累计超时 {late}"


# R-DEM: what managers read most — every demand with its deadlines, status and misses. The
# original promise and the deadline in force (答复期限, revised by a supervisor) side by side.
DEMANDS = declare(Mirror(
    name="demands", title="投诉登记", model=Demand, year_field="received_at",
    columns=("number", "received_at", "channel", "kind", "category", "unit.code",
             "contact_name", "contact_phone", "description", "serious", "urgent",
             "original_reply_due", "reply_due", "status", "department.name", "replied_at",
             "missed_replies", "late_minutes", "reopen_count", "closed_at",
             Column("original_reply_due", "超期",
                    extra=("reply_due", "missed_replies", "late_minutes"),
                    render=overdue_text)),
    natural_key=("number",),
))

WORK_ORDERS = declare(Mirror(
    name="work_orders", title="维修单", model=WorkOrder, year_field="dispatched_at",
    columns=("number", "dispatched_at", "department.name", "what", "location", "state",
             "arrived_at", "completed_at", "result", "materials", "cost", "callback_done"),
    natural_key=("number",),
))

# R-DEP: the one ledger managers reconcile against finance.
DEPOSITS = declare(Mirror(
    name="deposits", title="押金台账", model=Deposit, year_field="created_at",
    columns=("receipt_number", "kind", "purpose", "payer", "payer_phone", "amount", "state",
             "collected_at", "refundable_on", "refunded_at", "refunded_amount",
             "forfeited_amount", "forfeit_reason"),
))

# R-PASS-4 / R-DECO: where every decoration stands, and its deadlines.
DECORATIONS = declare(Mirror(
    name="decorations", title="装修登记", model=Decoration, year_field="applied_at",
    columns=("number", "unit.code", "owner_name", "contractor", "applied_at", "approval_due",
             "state", "approved_at", "tests_due", "permit_number", "permit_issued_at",
             "accepted_at", "acceptance_result", "rectify_by"),
    natural_key=("number",),
))

WORKER_PASSES = declare(Mirror(
    name="worker_passes", title="装修出入证", model=WorkerPass, year_field="issued_at",
    columns=("number", "holder_name", "id_number", "unit.code", "employer", "trade",
             "valid_from", "valid_to", "state", "returned_at"),
    natural_key=("number",),
))

TEMPORARY_PASSES = declare(Mirror(
    name="temporary_passes", title="临时出入证", model=TemporaryPass, year_field="issued_at",
    columns=("number", "holder_name", "id_number", "purpose", "valid_from", "valid_to",
             "state", "returned_at"),
    natural_key=("number",),
))

KEY_SETS = declare(KEY_SETS_MIRROR)

EMERGENCIES = declare(Mirror(
    name="emergencies", title="紧急事件", model=Emergency, year_field="occurred_at",
    columns=("number", "occurred_at", "place", "kind", "description", "state", "cause",
             "responsible_person", "remedial_measures", "preventive_measures", "closed_at"),
    natural_key=("number",),
))

PRINT_JOBS = declare(Mirror(
    name="print_jobs", title="文件打印", model=PrintJob, year_field="requested_at",
    columns=("number", "department.name", "title", "copies", "pages", "total_pages",
             "requested_at", "state", "approved_at", "printed_at"),
    natural_key=("number",),
))

MOVE_INS = declare(Mirror(
    name="move_ins", title="入伙", model=MoveIn,
    columns=("number", "unit.code", "owner_name", "current_step", "completed_at"),
    natural_key=("number",),
))

for _mirror in OFFICE_MIRRORS:
    declare(_mirror)
