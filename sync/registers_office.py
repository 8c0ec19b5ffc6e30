"""More registers managers ask about (#15): keys and loans, callbacks, permits, slips, the
roster and duty directors, surveys, committee contacts, tenancies, rectification items.

Plain declarations like those in sync/registers.py, which adds them after its own (so the tabs
keep their order). Identity and phone numbers are masked by the field types, as everywhere.
"""

from __future__ import annotations

from models.callbacks import Callback
from models.committee import CommitteeContact
from models.keys import KeyMovement, KeySet
from models.permits import GoodsRelease, HotWorkPermit
from models.rectification import Rectification
from models.roster import DutyDirector, RosterEntry
from models.surveys import SurveyVisit
from models.tenancy import Tenancy
from sync.mapping import Column, Mirror

# R-KEY-4: where every key is, who holds it and since when.
KEY_SETS = Mirror(
    name="key_sets", title="钥匙", model=KeySet,
    columns=("unit.code", "label", "count", "hook", "location", "holder", "since", "notes"),
)

# R-KEY-3: every loan, its approval and its return (only the loan rows of the movements).
KEY_LOANS = Mirror(
    name="key_loans", title="钥匙借出", model=KeyMovement, year_field="at",
    columns=("number", Column("key_set.unit.code", "房屋"), Column("key_set.label", "钥匙"),
             "at", "person", "person_phone", "borrower_type", "purpose", "expected_return",
             Column("approved_by.display_name", "批准人"), "approved_at", "returned_at"),
    where=lambda model: model.kind == "lend",
)

# R-DEM-9: callbacks with their scores.
CALLBACKS = Mirror(
    name="callbacks", title="回访", model=Callback, year_field="called_at",
    columns=(Column("demand.number", "需求编号"), Column("work_order.number", "维修单编号"),
             "called_at", "channel", "on_time", "attitude", "skill", "etiquette", "satisfied",
             "comments"),
)

# R-PASS-3.
HOT_WORK_PERMITS = Mirror(
    name="hot_work_permits", title="动火证", model=HotWorkPermit, year_field="work_from",
    columns=("number", "operator_name", "id_number", "certificate_number", "unit.code",
             "location", "work_from", "work_to", "fire_watch", "stamped_at", "state",
             "closed_at"),
    natural_key=("number",),
)

# R-PASS-5.
GOODS_RELEASES = Mirror(
    name="goods_releases", title="物品放行条", model=GoodsRelease,
    columns=("number", "bearer_name", "id_number", "unit.code", "state", "confirmed_with",
             "confirm_method", "confirmed_at", "released_at"),
    natural_key=("number",),
)

# R-SVC-1 / R-SVC-2.
ROSTER = Mirror(
    name="roster", title="排班", model=RosterEntry, year_field="day",
    columns=("day", Column("shift.name", "班次"), Column("staff.display_name", "值班客服"),
             "notes"),
)

DUTY_DIRECTORS = Mirror(
    name="duty_directors", title="值班主任", model=DutyDirector, year_field="day",
    columns=("day", Column("director.display_name", "值班主任"), "phone", "notes"),
)

# R-SVC-3.
SURVEYS = Mirror(
    name="surveys", title="满意度访问", model=SurveyVisit, year_field="visited_at",
    columns=(Column("round.month", "月份"), "unit.code", "visited_at", "channel",
             "service_score", "environment_score", "security_score", "engineering_score",
             "satisfied", "needs"),
)

# R-SVC-4.
COMMITTEE_CONTACTS = Mirror(
    name="committee_contacts", title="业委会沟通", model=CommitteeContact, year_field="held_at",
    columns=("held_at", "kind", "place", "topics", "committee_opinions", "follow_up",
             "follow_up_due", "follow_up_done_at", "follow_up_result"),
)

# R-STAFF-2.
TENANCIES = Mirror(
    name="tenancies", title="租户登记", model=Tenancy,
    columns=("unit.code", "tenant_name", "tenant_phone", "id_number", "starts", "ends",
             "contract_number", "ended_on", "notes"),
)

def responsible_text(department_name, developer) -> str:
    """责任方: the department, or the developer for 地产遗留 items."""
    return "地产遗留（开发商）" if developer else (department_name or "")


# R-FRONT-2 (#11 item 10): every rectification item, who has it, its deadlines and callback.
RECTIFICATIONS = Mirror(
    name="rectifications", title="整改", model=Rectification,
    columns=("number", "created_at", "source", Column("building.name", "楼栋"),
             Column("unit.code", "房屋"), "location", "description",
             Column("department.name", "责任方", extra=("developer",),
                    render=responsible_text),
             "assigned_at", "original_due", "due", "state", "completed_at", "result",
             "rework_count", "late_count", "callback_at", "satisfied", "callback_comments",
             "closed_at"),
    natural_key=("number",),
)

OFFICE_MIRRORS = (KEY_LOANS, CALLBACKS, HOT_WORK_PERMITS, GOODS_RELEASES, ROSTER,
                  DUTY_DIRECTORS, SURVEYS, COMMITTEE_CONTACTS, TENANCIES, RECTIFICATIONS)
