"""The owners' other news (issue #17 item 3), beside the demand steps of models/notify.py:

* a gas-pipe modification appointment (R-JOB-2): when the office puts an owner's registration
  into a gas batch, the owner is told the gas company, the day and its appointment number;
* a decoration worker's access pass expiring tomorrow (R-PASS-1): the owner of the decoration
  the pass belongs to (the applicant; the workers are not residents) is told the day before;
* a deposit becoming refundable (R-DEP-2, R-DECO-3: acceptance, a rejected application, a pass
  handed back, the contractor deposit 3 months after acceptance): whoever paid it is told;
* the decoration application's result (R-DECO-2): approved or not, with the reason.

Each is written to the outbox in the transaction of the change that causes it, through the same
`enqueue` (per-estate templates and switches, quiet hours, opt-out, masked numbers). What falls
due with the date rather than a change — the pass expiring tomorrow, a deposit refundable from a
later day — is found set-based by `owner_reminders`, run in the overdue sweep: once per row and
day (the idempotency key carries the row and the day).
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN

from models.base import office_day, utcnow
from models.notify_settings import mobile_or_empty
from models.org import Resident
from models.outbox import OutboxMessage, enqueue

# A deposit refundable longer ago than this is not announced by the sweep any more (one that
# became refundable before these messages existed is the desk's to tell).
REFUNDABLE_LOOKBACK_DAYS = 30


def _day(day: dt.date | None) -> str:
    return f"{day:%m月%d日}" if day else ""


def _resident_phone(resident_id: int | None, *phones: str) -> tuple[str, int | None]:
    """The first mobile number among `phones`, else the resident's own."""
    for phone in phones:
        if mobile_or_empty(phone):
            return mobile_or_empty(phone), resident_id
    resident = Resident.get_or_none(Resident.id == resident_id) if resident_id else None
    return (mobile_or_empty(resident.phone) if resident else ""), resident_id


def on_gas_appointment(batch, registrations) -> int:
    """Registrations just put into a gas batch: each owner hears of the appointment (R-JOB-2)."""
    params = {"company": batch.gas_company, "day": _day(batch.day),
              "appointment": batch.gas_appointment}
    told = 0
    for row in registrations:
        phone, resident_id = _resident_phone(row.resident_id, row.contact_phone)
        if phone:
            told += enqueue("gas_appointment", estate_id=batch.estate_id, channel="sms",
                            key=f"service_batch:{batch.id}:gas:{row.id}", recipient=phone,
                            resident_id=resident_id, subject=row, params=params) is not None
    return told


def on_decoration_decided(decoration, *, approved: bool) -> None:
    """The owner hears whether the decoration application was approved (R-DECO-2)."""
    phone, resident_id = _resident_phone(decoration.owner_id, decoration.owner_phone)
    if not phone:
        return
    event = "decoration_approved" if approved else "decoration_rejected"
    params = {"unit": decoration.unit.code, "number": decoration.number}
    if not approved:
        params["reason"] = (decoration.approval_note or "")[:60]
    enqueue(event, estate_id=decoration.estate_id, channel="sms",
            key=f"decoration:{decoration.id}:{event}", recipient=phone, resident_id=resident_id,
            subject=decoration, params=params)


def on_deposit_refundable(deposit, today: dt.date | None = None) -> bool:
    """Whoever paid the deposit hears it can be collected — once its refundable day has come."""
    today = today or office_day()
    if deposit.state != "refundable" or not deposit.refundable_on \
            or deposit.refundable_on > today:
        return False  # a later day (the contractor's 3 months): the sweep tells them then
    phone = mobile_or_empty(deposit.payer_phone)
    if not phone:
        return False
    return enqueue("deposit_refundable", estate_id=deposit.estate_id, channel="sms",
            key=f"deposit:{deposit.id}:refundable", recipient=phone, subject=deposit,
            params={"kind": deposit.kind_label, "amount": f"{deposit.amount:.2f}",
                    "receipt": deposit.receipt_number or "",
                    "day": _day(deposit.refundable_on)}) is not None


def on_pass_expiring(worker_pass) -> bool:
    """The decoration's owner hears that a worker's pass ends tomorrow (R-PASS-1)."""
    decoration = worker_pass.decoration
    if decoration is None:
        return False
    phone, resident_id = _resident_phone(decoration.owner_id, decoration.owner_phone)
    if not phone:
        return False
    return enqueue("pass_expiring", estate_id=worker_pass.estate_id, channel="sms",
                   key=f"worker_pass:{worker_pass.id}:expiring:{worker_pass.valid_to}",
                   recipient=phone, resident_id=resident_id, subject=worker_pass,
                   params={"unit": decoration.unit.code, "holder": worker_pass.holder_name,
                           "number": worker_pass.number or "",
                           "day": _day(worker_pass.valid_to)}) is not None


def owner_reminders(now: dt.datetime | None = None) -> int:
    """The date-driven owner messages, set-based (run in the overdue sweep's transaction):
    passes ending tomorrow and deposits whose refundable day has come; returns how many."""
    from models.deposits import Deposit
    from models.passes import WorkerPass

    today = office_day(now or utcnow())
    told = 0
    tomorrow = today + dt.timedelta(days=1)
    for worker_pass in WorkerPass.live().where(WorkerPass.state == "issued",
                                               WorkerPass.valid_to == tomorrow):
        told += on_pass_expiring(worker_pass)
    announced = OutboxMessage.alias()
    due = (Deposit.select()
           .join(announced, JOIN.LEFT_OUTER, on=(
               (announced.subject_table == Deposit._meta.table_name)
               & (announced.subject_id == Deposit.id)
               & (announced.event == "deposit_refundable")))
           .where(Deposit.state == "refundable", Deposit.refundable_on <= today,
                  Deposit.refundable_on
                  >= today - dt.timedelta(days=REFUNDABLE_LOOKBACK_DAYS),
                  announced.id.is_null(), Deposit.payer_phone != ""))
    for deposit in due:
        told += on_deposit_refundable(deposit, today)
    return told
