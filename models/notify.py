"""What is sent, to whom, when a register changes (issue #17): one call per event.

The registers call these from inside their own transactions (one line each: a demand's history
step, a new emergency, a batch notice by SMS, the sweep's new overdue flags), so every message
is in the outbox (models/outbox.py) exactly when the change is committed. Which events an
estate sends, and their words, are its `NotifyTemplate` rows.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from peewee import JOIN

from models.base import to_office, utcnow
from models.i18n import office_text
from models.notify_settings import mobile_or_empty
from models.org import Department, Resident
from models.outbox import enqueue, enqueue_many
from models.users import User, UserEstate

# A deadline missed longer ago than this when the sweep finds it is backlog: summarised per estate.
DEFAULT_MISSED_RECENT_HOURS = 24

# The owner's SMS for each step of a demand (R-DEM-4); other steps tell the owner nothing.
DEMAND_OWNER_EVENTS = {
    "create": "demand_received",
    "dispatch": "demand_dispatched",
    "reply": "demand_replied",
    "complete": "demand_completed",
    "reopen": "demand_reopened",
}


def moment_words(moment: dt.datetime | None) -> str:
    return f"{to_office(moment):%m月%d日%H:%M}" if moment else ""


def estate_staff(estate_id: int, *, roles=None, department: str | None = None,
                 supervisors_only: bool = False):
    """Active staff of the estate: by role, or members (supervisors) of a department kind."""
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate_id)
    query = User.select().where(User.active == True, User.id.in_(linked))  # noqa: E712
    if roles is not None:
        query = query.where(User.role.in_(list(roles)))
    if department is not None:
        query = query.where(User.role == "dept", User.department == department)
    if supervisors_only:
        query = query.where(User.dept_supervisor == True)  # noqa: E712
    return list(query.order_by(User.id))


def tell_staff(event: str, users, *, estate_id: int, key: str, subject, params: dict,
               robot: bool = False, sms: bool = False, urgent: bool = False) -> None:
    """In-app notices to each person (WeChat Work too, and their mobile for urgent news);
    one robot post."""
    from models.estate import Estate
    from models.notify_staff import staff_messages, wecom_on

    messages = staff_messages(event, users, estate_id=estate_id, key=key, subject=subject,
                              params=params, wecom=wecom_on(), sms=sms, urgent=urgent)
    if robot:
        messages.append(dict(event=event, estate_id=estate_id, channel="robot",
                             key=f"{key}:robot", recipient=Estate.get_by_id(estate_id).code,
                             subject=subject, params=params, urgent=urgent))
    enqueue_many(messages)


def owner_phone(demand) -> tuple[str, int | None]:
    """The number an owner's SMS goes to: the demand's contact mobile, else the resident's."""
    resident = Resident.get_or_none(Resident.id == demand.resident_id) \
        if demand.resident_id else None
    for phone in (demand.contact_phone, resident.phone if resident else ""):
        if mobile_or_empty(phone):
            return mobile_or_empty(phone), demand.resident_id
    return "", demand.resident_id


def on_demand_step(demand, step) -> None:
    """A demand moved (R-DEM-4): tell the owner, and the department of a new work order."""
    key = f"demand:{demand.id}:step:{step.id}"
    event = DEMAND_OWNER_EVENTS.get(step.action)
    if step.action == "create" and demand.status == "closed":
        event = None  # answered at the desk there and then (R-DEM-5): nothing to tell
    if event is not None:
        phone, resident_id = owner_phone(demand)
        department = (Department.get_or_none(Department.id == demand.department_id)
                      if demand.department_id else None)
        params = {"number": demand.number, "deadline": moment_words(demand.reply_due),
                  "department": department.name if department else "",
                  "reply": (demand.reply_content or "")[:40]}
        if phone:
            enqueue(event, estate_id=demand.estate_id, channel="sms", key=f"{key}:sms",
                    recipient=phone, resident_id=resident_id, subject=demand, params=params,
                    urgent=bool(demand.urgent))
    if step.action == "order":
        from models.work_orders import WorkOrder

        order = (WorkOrder.select().where(WorkOrder.demand == demand.id)
                 .order_by(WorkOrder.id.desc()).first())
        if order is not None:
            on_work_order(order, subject=demand)


def on_work_order(order, *, subject=None) -> None:
    """A new work order: its department's staff and its assignee are told (R-DEM-8)."""
    department = Department.get_by_id(order.department_id)
    users = estate_staff(order.estate_id, department=department.kind)
    if order.assignee_id:
        users.append(User.get_by_id(order.assignee_id))
    params = {"number": order.number, "unit": order.location, "what": order.what[:40]}
    tell_staff("work_order_new", users, estate_id=order.estate_id,
               key=f"work_order:{order.id}:new", subject=subject or order, params=params)


def on_emergency(incident) -> None:
    """A new emergency goes to the office director and the day's duty director at once
    (R-EMG-1, R-SVC-2): in-app, WeChat Work, SMS, robot."""
    from models.notify_staff import duty_directors

    directors = estate_staff(incident.estate_id, roles=("director",))
    directors += duty_directors(incident.estate_id, utcnow())
    params = {"number": incident.number, "kind": office_text(incident.kind_label),
              "place": incident.place}
    tell_staff("emergency_new", directors, estate_id=incident.estate_id,
               key=f"emergency:{incident.id}:new", subject=incident, params=params,
               robot=True, sms=True, urgent=True)


def on_batch_notice(batch) -> None:
    """A batch service noticed by SMS (R-JOB-1/2): every unit in the batch is told."""
    params = {"service": office_text(batch.kind_label), "day": f"{batch.day:%m月%d日}"}
    for row in batch.live_registrations():
        resident = Resident.get_or_none(Resident.id == row.resident_id) \
            if row.resident_id else None
        phone = mobile_or_empty(row.contact_phone) \
            or mobile_or_empty(resident.phone if resident else "")
        if phone:
            enqueue("batch_notice", estate_id=batch.estate_id, channel="sms",
                    key=f"service_batch:{batch.id}:v{batch.version}:{row.id}",
                    recipient=phone, resident_id=row.resident_id, subject=batch,
                    params=params)


def on_flags_raised(now: dt.datetime, after_id: int = 0) -> int:
    """Demands whose reply deadline the sweep just found missed: the supervisors and the
    day's duty director are told (R-SVC-2), in the 通知 list and by WeChat Work.

    The sweep's new flags are those it inserted: raised at `now` with an id above `after_id`
    (the highest flag id before it ran; it holds the flags' write lock). One query reads them
    with their demands, each estate's (and department's) supervisors are read once, and the
    messages go into the outbox in bulk — a first sweep over 1,000,000 demands raises tens of
    thousands of these (#15's bench), one query per flag took minutes.

    A deadline missed within NOTIFY_MISSED_RECENT_HOURS (24) is news, told demand by demand.
    Older ones are a backlog (the first sweep over existing records, or after the scheduler was
    stopped for days): each estate's are told in one summary — its number and the first
    demand's — not thousands of notices and group posts about deadlines long past (a group
    robot takes 20 posts a minute); every one of them is flagged in the grids all the same.
    Returns the demands told of, one by one or in a summary.
    """
    from jobs.models import OverdueFlag
    from models.demands import Demand
    from models.notify_staff import duty_directors, staff_messages, wecom_on

    rows = (OverdueFlag.select(OverdueFlag.id, Demand.id, Demand.estate, Demand.number,
                               Demand.reply_due, Department.kind)
            .join(Demand, on=(Demand.id == OverdueFlag.row_id))
            .join(Department, JOIN.LEFT_OUTER, on=(Department.id == Demand.department))
            .where(OverdueFlag.rule == "demand_reply", OverdueFlag.raised_at == now,
                   OverdueFlag.id > after_id)
            .order_by(OverdueFlag.id).tuples())
    staff: dict[tuple, list] = {}

    def people(estate_id: int, kind: str | None) -> list:
        if (estate_id, None) not in staff:
            staff[estate_id, None] = estate_staff(estate_id, roles=("supervisor",))
        if kind is not None and (estate_id, kind) not in staff:
            staff[estate_id, kind] = estate_staff(estate_id, department=kind,
                                                  supervisors_only=True)
        if (estate_id, "duty") not in staff:
            staff[estate_id, "duty"] = duty_directors(estate_id, now)
        return (staff[estate_id, None] + (staff[estate_id, kind] if kind is not None else [])
                + staff[estate_id, "duty"])

    codes: dict[int, str] = {}

    def tell(estate_id: int, kind: str | None, key: str, subject, params: dict) -> None:
        # As tell_staff: in-app (and WeChat Work) once per person, and the estate's group.
        messages.extend(staff_messages("deadline_missed", people(estate_id, kind),
                                       estate_id=estate_id, key=key, subject=subject,
                                       params=params, wecom=wecom))
        if estate_id not in codes:
            from models.estate import Estate

            codes[estate_id] = Estate.get_by_id(estate_id).code
        messages.append(dict(event="deadline_missed", estate_id=estate_id, subject=subject,
                             params=params, channel="robot", key=f"{key}:robot",
                             recipient=codes[estate_id]))

    hours = (current_app.config.get("NOTIFY_MISSED_RECENT_HOURS", DEFAULT_MISSED_RECENT_HOURS)
             if has_app_context() else DEFAULT_MISSED_RECENT_HOURS)
    recent_since = now - dt.timedelta(hours=float(hours))
    wecom = wecom_on()
    messages: list[dict] = []
    told = 0
    backlog: dict[int, list] = {}  # estate -> [count, first flag id, first demand, its number]
    for flag_id, demand_id, estate_id, number, reply_due, kind in rows:
        told += 1
        if reply_due is not None and reply_due < recent_since:
            summary = backlog.setdefault(estate_id, [0, flag_id, demand_id, number])
            summary[0] += 1
            continue
        tell(estate_id, kind, f"demand:{demand_id}:missed:{flag_id}", Demand(id=demand_id),
             {"number": number, "deadline": moment_words(reply_due)})
    for estate_id, (count, flag_id, demand_id, number) in backlog.items():
        # "报事XQ-…等 N 件已超过答复期限，尚未答复。" on the message's own words.
        words = number if count == 1 else f"{number} 等 {count:,} 件（较早超期，见超时列表）"
        tell(estate_id, None, f"estate:{estate_id}:missed-backlog:{flag_id}",
             Demand(id=demand_id), {"number": words, "deadline": ""})
    enqueue_many(messages)
    return told
