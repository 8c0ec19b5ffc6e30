"""The staff side of notifications (issue #17): who inside the office hears what, and when.

Beside models/notify.py (one call per register event), this module holds what the overdue
sweep sends and the staff channels:

* **WeChat Work application messages** (企业微信应用消息): every staff notice also goes to the
  person's WeChat Work account when an admin filled it and the installation set WECOM_APP
  (`staff_messages`, which `tell_staff` and the sweep's bulk notices both use).
* **A deadline about to be missed** (`on_deadlines_near`): a demand still owed its reply
  NOTIFY_WARN_LEAD_MINUTES (30) before a deadline of hours (R-DEM-7's 2 hours, or a time the
  owner named), NOTIFY_WARN_LEAD_DAY_HOURS (12) before a working-day deadline (those end at
  24:00 of the last working day: the warning comes at its noon, half the day left), to the
  handler, the assignees of its open work orders and the supervisors. Once per deadline: the
  key holds the deadline, so a revised deadline (R-REC-1) warns again. A stand-alone work order
  (no owner's deadline to follow) is warned about the working-day lead before its completion
  limit, to its assignee and its department's supervisors (`on_work_orders_near`).
* **A missed deadline** also to the day's duty director (R-SVC-2; `duty_directors`).
* **Emergencies to the branch GM** (R-EMG-2): when the step 主任上报分公司总经理 is recorded
  (`on_emergency_step`), and — as a safety net — when an incident of the kinds that go beyond
  the department (EMERGENCY_GM_KINDS, default fire and injuries, and any incident with
  casualties written down) is still 处置中 EMERGENCY_GM_AFTER_MINUTES (60) after it occurred
  with no such step (`on_emergencies_unescalated`). The GM's mobile and WeChat Work account are
  on the branch (migration 020); the estate's directors get the same words in their 通知 list.

Everything is written through the outbox in the caller's transaction, with the estate's
`NotifyTemplate` deciding whether and what; the sweep's part is set-based: one query finds the
rows, one query finds which of them were already told.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from peewee import Value, fn

from models.base import to_office
from models.notify_settings import mobile_or_empty
from models.outbox import OutboxMessage, enqueue

DEFAULT_WARN_LEAD_MINUTES = 30
DEFAULT_WARN_LEAD_DAY_HOURS = 12
DEFAULT_GM_AFTER_MINUTES = 60
# R-EMG-2 "beyond the department": a fire or people hurt always concerns the branch.
DEFAULT_GM_KINDS = ("fire", "injury")
# What the desk writes for "no casualties" (the field's help text asks for 无).
NO_CASUALTIES = ("", "无", "没有", "无伤亡", "无人员伤亡")


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def wecom_on() -> bool:
    """Whether this installation sends WeChat Work application messages (WECOM_APP.corp_id)."""
    settings = _setting("WECOM_APP", None) or {}
    return isinstance(settings, dict) and bool(settings.get("corp_id"))


def duty_directors(estate_id: int, now: dt.datetime) -> list:
    """The estate's duty director of the office day `now` falls in (R-SVC-2), if rostered."""
    from models.roster import DutyDirector
    from models.users import User

    rostered = DutyDirector.select(DutyDirector.director).where(
        DutyDirector.estate == estate_id, DutyDirector.day == to_office(now).date(),
        DutyDirector.voided == False)  # noqa: E712
    return list(User.select().where(User.id.in_(rostered), User.active == True))  # noqa: E712


def _already_told(table: str, ids, event: str, prefixes: dict[int, str]) -> set[int]:
    """Which of the rows already have a message whose key starts with their prefix."""
    if not ids:
        return set()
    query = OutboxMessage.select(OutboxMessage.subject_id, OutboxMessage.key).where(
        OutboxMessage.subject_table == table, OutboxMessage.subject_id.in_(list(ids)),
        OutboxMessage.event == event)
    return {row_id for row_id, key in query.tuples()
            if key.startswith(prefixes.get(row_id, "\0"))}


# --- a deadline about to be missed ------------------------------------------------------------


def warn_leads() -> tuple[dt.timedelta, dt.timedelta]:
    """(lead before a deadline of hours, lead before a working-day deadline)."""
    return (dt.timedelta(minutes=float(_setting("NOTIFY_WARN_LEAD_MINUTES",
                                                DEFAULT_WARN_LEAD_MINUTES))),
            dt.timedelta(hours=float(_setting("NOTIFY_WARN_LEAD_DAY_HOURS",
                                              DEFAULT_WARN_LEAD_DAY_HOURS))))


def demands_near_deadline(now: dt.datetime):
    """Demands still owed a reply whose deadline is ahead but within its warning lead.

    A deadline of hours is R-DEM-7's 2 hours (urgent) or the time the owner named; the rest are
    working-day deadlines. Voided, answered and finished demands are never warned about.
    """
    from jobs.rules import not_voided
    from models.demands import REPLY_OWED, Demand

    short, long = warn_leads()
    by_hours = (Demand.urgent == True) | Demand.requested_reply_at.is_null(False)  # noqa: E712
    by_days = (Demand.urgent == False) & Demand.requested_reply_at.is_null()  # noqa: E712
    return Demand.select().where(
        not_voided(Demand), Demand.status.in_(REPLY_OWED), Demand.replied_at.is_null(),
        Demand.reply_due >= now,
        (by_hours & (Demand.reply_due <= now + short))
        | (by_days & (Demand.reply_due <= now + long)))


def _deadline_key(demand) -> str:
    return f"demand:{demand.id}:near:{int(demand.reply_due.timestamp())}:"


def _warned_of_deadline():
    """EXISTS-subquery: the demand has a warning of its present deadline — an in-app notice
    whose key starts as `_deadline_key` makes it, written in SQL (each person warned has an
    in-app notice, staff_messages)."""
    from models.base import is_sqlite
    from models.demands import Demand

    if is_sqlite():
        # Whole seconds as Python's int(timestamp()): strftime would round .9995 s up.
        epoch = fn.strftime("%s", fn.SUBSTR(Demand.reply_due, 1, 19))
    else:
        epoch = fn.FLOOR(fn.date_part("epoch", Demand.reply_due)).cast("BIGINT").cast("TEXT")
    prefix = (Value("demand:").concat(Demand.id.cast("TEXT")).concat(":near:")
              .concat(epoch).concat(":"))
    # A prefix compared, not LIKE: peewee turns LIKE into SQLite's GLOB.
    return OutboxMessage.select(Value(1)).where(
        OutboxMessage.subject_table == "demand", OutboxMessage.subject_id == Demand.id,
        OutboxMessage.event == "deadline_near", OutboxMessage.channel == "inapp",
        fn.SUBSTR(OutboxMessage.key, 1, fn.LENGTH(prefix)) == prefix)


def staff_messages(event: str, users, *, estate_id: int, key: str, subject, params: dict,
                   wecom: bool, sms: bool = False, urgent: bool = False) -> list[dict]:
    """What `tell_staff` queues for each person (in-app; WeChat Work for those with an account;
    their mobile with `sms`), as `enqueue_many` rows: the sweep writes thousands at once
    (#15's bench)."""
    common = dict(event=event, estate_id=estate_id, subject=subject, params=params,
                  urgent=urgent)
    messages, seen = [], set()
    for user in users:
        if user.id in seen:
            continue
        seen.add(user.id)
        messages.append(dict(common, channel="inapp", key=f"{key}:inapp:{user.id}",
                             user_id=user.id))
        userid = (getattr(user, "wecom_userid", "") or "").strip()
        if userid and wecom:
            messages.append(dict(common, channel="wecom", key=f"{key}:wecom:{user.id}",
                                 recipient=userid, user_id=user.id))
        mobile = mobile_or_empty(user.phone) if sms else ""
        if mobile:
            messages.append(dict(common, channel="sms", key=f"{key}:sms:{user.id}",
                                 recipient=mobile, user_id=user.id))
    return messages


def on_deadlines_near(now: dt.datetime) -> int:
    """Warn of every reply deadline about to be missed, once per deadline; return how many.

    Set-based like the missed-deadline notices: the people of all warned demands are read in a
    few queries (each estate's supervisors once) and the messages written in bulk, so the
    sweep's cost does not grow by queries per demand (#15 at 1,000,000 demands)."""
    from models.demands import Demand
    from models.notify import estate_staff, moment_words
    from models.org import Department
    from models.outbox import enqueue_many
    from models.users import User
    from models.work_orders import WorkOrder

    # Only the demands not yet warned of their present deadline, decided in SQL: at 1,000,000
    # demands thousands are near a deadline on every sweep, nearly all of them already warned
    # (#15's bench), and only the columns the warning needs are read.
    near = demands_near_deadline(now).where(~fn.EXISTS(_warned_of_deadline()))
    demands = list(near.select(Demand.id, Demand.number, Demand.estate, Demand.handler,
                               Demand.department, Demand.reply_due))
    if not demands:
        return 0
    prefixes = {demand.id: _deadline_key(demand) for demand in demands}
    assignees: dict[int, set] = {}
    # One query for all of them, joined rather than thousands of ids inlined.
    for demand_id, assignee_id in WorkOrder.select(WorkOrder.demand, WorkOrder.assignee).where(
            WorkOrder.demand.in_(near.select(Demand.id)),
            WorkOrder.voided == False,  # noqa: E712
            WorkOrder.state.in_(("open", "arrived")),
            WorkOrder.assignee.is_null(False)).tuples():
        assignees.setdefault(demand_id, set()).add(assignee_id)
    wanted = {d.handler_id for d in demands if d.handler_id}.union(*assignees.values())
    users: dict[int, object] = {}
    wanted = sorted(wanted)
    for start in range(0, len(wanted), 500):
        users.update((u.id, u) for u in User.select().where(
            User.id.in_(wanted[start:start + 500]), User.active == True))  # noqa: E712
    kinds = dict(Department.select(Department.id, Department.kind).tuples())
    staff: dict[tuple, list] = {}

    def supervisors(estate_id: int, kind: str | None) -> list:
        if (estate_id, kind) not in staff:
            staff[estate_id, kind] = (
                estate_staff(estate_id, roles=("supervisor",)) if kind is None
                else estate_staff(estate_id, department=kind, supervisors_only=True))
        return staff[estate_id, kind]

    wecom, messages, warned = wecom_on(), [], 0
    for demand in demands:
        # Who answers for the demand: the handler and the open orders' assignees (by id),
        # then the supervisors of the desk and of the demand's department.
        own = {demand.handler_id} if demand.handler_id else set()
        own |= assignees.get(demand.id, set())
        people = [users[i] for i in sorted(own) if i in users]
        people += supervisors(demand.estate_id, None)
        if demand.department_id:
            people += supervisors(demand.estate_id, kinds.get(demand.department_id))
        if not people:
            continue
        warned += 1
        messages += staff_messages(
            "deadline_near", people, estate_id=demand.estate_id,
            key=prefixes[demand.id].rstrip(":"), subject=demand, wecom=wecom,
            params={"number": demand.number, "deadline": moment_words(demand.reply_due)})
    enqueue_many(messages)
    return warned


def work_orders_near_deadline(now: dt.datetime):
    """Stand-alone work orders (no promise to an owner to follow) not completed and within the
    working-day lead of their completion limit (JOBS_WORK_ORDER_COMPLETION_HOURS after dispatch,
    jobs/rules/work_orders.py). Orders of a demand are warned about through their demand."""
    from jobs.rules import hours_setting, not_voided
    from jobs.rules.work_orders import DEFAULT_COMPLETION_HOURS, _own_demand
    from models.demands import Demand
    from models.work_orders import WorkOrder

    limit = hours_setting("JOBS_WORK_ORDER_COMPLETION_HOURS", DEFAULT_COMPLETION_HOURS)
    _, lead = warn_leads()
    promised = _own_demand().where(Demand.reply_due > WorkOrder.dispatched_at)
    return WorkOrder.select().where(
        not_voided(WorkOrder), WorkOrder.state.in_(("open", "arrived")),
        WorkOrder.completed_at.is_null(), ~fn.EXISTS(promised),
        WorkOrder.dispatched_at > now - limit, WorkOrder.dispatched_at <= now - limit + lead)


def on_work_orders_near(now: dt.datetime) -> int:
    """Warn the assignee and the department's supervisors, once per order and limit."""
    from jobs.rules import hours_setting
    from jobs.rules.work_orders import DEFAULT_COMPLETION_HOURS
    from models.notify import estate_staff, moment_words, tell_staff
    from models.org import Department
    from models.users import User

    limit = hours_setting("JOBS_WORK_ORDER_COMPLETION_HOURS", DEFAULT_COMPLETION_HOURS)
    orders = list(work_orders_near_deadline(now))
    prefixes = {order.id: f"work_order:{order.id}:near:"
                          f"{int((order.dispatched_at + limit).timestamp())}:" for order in orders}
    told = _already_told("work_order", prefixes, "work_order_near", prefixes)
    warned = 0
    for order in orders:
        if order.id in told:
            continue
        kind = Department.get_by_id(order.department_id).kind
        people = estate_staff(order.estate_id, department=kind, supervisors_only=True)
        if order.assignee_id:
            people.insert(0, User.get_by_id(order.assignee_id))
        tell_staff("work_order_near", [p for p in people if p.active],
                   estate_id=order.estate_id, key=prefixes[order.id].rstrip(":"), subject=order,
                   params={"number": order.number, "unit": order.location,
                           "deadline": moment_words(order.dispatched_at + limit)})
        warned += 1
    return warned


# --- emergencies to the branch GM (R-EMG-2) ---------------------------------------------------


def tell_gm(incident, *, reason: str, key: str) -> None:
    """The branch GM by SMS and WeChat Work; the estate's directors in their 通知 list."""
    from models.estate import Estate
    from models.notify import estate_staff, tell_staff

    estate = Estate.get_by_id(incident.estate_id)
    branch = estate.branch
    params = {"estate": estate.name, "number": incident.number, "kind": incident.kind_label,
              "place": incident.place, "reason": reason}
    mobile = mobile_or_empty(branch.gm_mobile)
    if mobile:
        enqueue("emergency_gm", estate_id=estate.id, channel="sms", key=f"{key}:gm:sms",
                recipient=mobile, subject=incident, params=params, urgent=True)
    userid = (branch.gm_wecom_userid or "").strip()
    if userid and wecom_on():
        enqueue("emergency_gm", estate_id=estate.id, channel="wecom", key=f"{key}:gm:wecom",
                recipient=userid, subject=incident, params=params, urgent=True)
    if not (mobile or userid):
        params["reason"] = reason + "（分公司未登记总经理手机或企业微信账号，请电话报告）"
    tell_staff("emergency_gm", estate_staff(estate.id, roles=("director",)),
               estate_id=estate.id, key=key, subject=incident, params=params, urgent=True)


def on_emergency_step(step) -> None:
    """The step 主任上报分公司总经理 was recorded: the GM hears it from the system too."""
    if step.kind != "gm" or step.voided:
        return
    from models.emergencies import Emergency

    incident = Emergency.get_by_id(step.emergency_id)
    who = f"（{step.who}）" if step.who else ""
    tell_gm(incident, reason=f"管理处主任已上报分公司总经理{who}，请关注。",
            key=f"emergency:{incident.id}:gm:step:{step.id}")


def gm_kinds() -> tuple[str, ...]:
    return tuple(_setting("EMERGENCY_GM_KINDS", DEFAULT_GM_KINDS) or ())


def emergencies_unescalated(now: dt.datetime):
    """Incidents that concern the branch, still 处置中 past the limit, GM not told (R-EMG-2)."""
    from jobs.rules import not_voided
    from models.emergencies import Emergency, EmergencyStep

    minutes = float(_setting("EMERGENCY_GM_AFTER_MINUTES", DEFAULT_GM_AFTER_MINUTES))
    reported = EmergencyStep.select(EmergencyStep.id).where(
        EmergencyStep.emergency == Emergency.id, EmergencyStep.kind == "gm",
        EmergencyStep.voided == False)  # noqa: E712
    casualties = fn.TRIM(fn.COALESCE(Emergency.casualties, "")).not_in(NO_CASUALTIES)
    concerns_branch = casualties
    if gm_kinds():
        concerns_branch = Emergency.kind.in_(gm_kinds()) | casualties
    return Emergency.select().where(
        not_voided(Emergency), Emergency.state == "open",
        Emergency.occurred_at <= now - dt.timedelta(minutes=minutes), concerns_branch,
        ~fn.EXISTS(reported))


def on_emergencies_unescalated(now: dt.datetime) -> int:
    """Tell the GM of every incident the director has not escalated in time, once each."""
    incidents = list(emergencies_unescalated(now))
    prefixes = {incident.id: f"emergency:{incident.id}:gm:auto:" for incident in incidents}
    told = _already_told("emergency", prefixes, "emergency_gm", prefixes)
    minutes = int(float(_setting("EMERGENCY_GM_AFTER_MINUTES", DEFAULT_GM_AFTER_MINUTES)))
    sent = 0
    for incident in incidents:
        if incident.id in told:
            continue
        since = to_office(incident.occurred_at)
        tell_gm(incident, reason=f"{since:%m月%d日%H:%M}发生，已超过{minutes}分钟仍在处置中，"
                                 "尚未登记上报总经理，系统自动通知。",
                key=prefixes[incident.id].rstrip(":"))
        sent += 1
    return sent


def on_sweep(now: dt.datetime) -> None:
    """What the overdue sweep sends besides missed deadlines (in its transaction)."""
    on_deadlines_near(now)
    on_work_orders_near(now)
    on_emergencies_unescalated(now)
