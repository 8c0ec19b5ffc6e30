"""Owners signing in to the H5 with their mobile number and a one-time SMS code (issue #17).

Only numbers registered as residents (业主/租户/家庭成员 of a live `Resident` row) get a code, but
the answer to the owner is the same whether or not the number is registered: nobody can learn
from the H5 who lives in the estate. Numbers are stored only as keyed digests (HMAC with the
app's secret), codes only as digests of (number, code); a code lives `H5_CODE_MINUTES`
(default 5), takes `H5_CODE_TRIES` (default 5) wrong guesses, and is used once.

Every request for a code and every check of a code is an `OwnerAttempt` row, which is what the
rate limits count: codes per number (H5_CODES_PER_NUMBER per hour, at least
H5_CODE_INTERVAL_SECONDS apart) and per address (H5_CODES_PER_ADDRESS per hour), wrong codes
per address (H5_FAILURES_PER_ADDRESS per hour). The login code's SMS goes through the outbox like
every message (event owner_login_code); its code is never in the message's text, and its
parameters are wiped once the message is finished (models/outbox.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app
from flask_babel import gettext
from peewee import BooleanField, CharField, IntegerField

from models.base import AwareDateTimeField, BaseModel, RuleError, utcnow, write_transaction
from models.i18n import N_
from models.notify_settings import mobile_or_empty
from models.org import Resident, Unit
from models.outbox import enqueue

# What the owner is told in every case: registered or not, sent or rate-limited per number.
CODE_SENT = N_("如该号码已登记为本小区住户，验证码已通过短信发送，5 分钟内有效。")
WRONG_CODE = N_("验证码错误或已过期，请重新获取。")
TOO_MANY = N_("操作过于频繁，请稍后再试。")
DEFAULTS = {
    "H5_CODE_MINUTES": 5,
    "H5_CODE_TRIES": 5,
    "H5_CODES_PER_NUMBER": 5,
    "H5_CODE_INTERVAL_SECONDS": 60,
    "H5_CODES_PER_ADDRESS": 20,
    "H5_FAILURES_PER_ADDRESS": 30,
}


def _setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def number_digest(phone: str) -> str:
    """A keyed digest of the number: rate limits can count it, nobody can read it back."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"h5-number:" + phone.encode(), hashlib.sha256).hexdigest()


def code_digest(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"h5-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


class OwnerCode(BaseModel):
    """One login code sent to one number (digests only)."""

    number = CharField(max_length=64, index=True)
    code = CharField(max_length=64)
    expires_at = AwareDateTimeField()
    wrong_tries = IntegerField(default=0)
    used_at = AwareDateTimeField(null=True)

    class Meta:
        table_name = "owner_code"


class OwnerAttempt(BaseModel):
    """A request for a code ("code") or a check of one ("verify"), for the rate limits."""

    kind = CharField(max_length=8)
    number = CharField(max_length=64, index=True)
    remote_addr = CharField(max_length=64, index=True)
    succeeded = BooleanField(default=False)

    class Meta:
        table_name = "owner_attempt"


def residents_of(phone: str):
    """Live resident rows with this mobile number (an owner may hold several units)."""
    return (Resident.select().join(Unit, on=(Resident.unit == Unit.id))
            .where(Resident.phone == phone, Resident.voided == False)  # noqa: E712
            .order_by(Resident.id))


def owner_unit_ids(phone: str) -> list[int]:
    return sorted({r.unit_id for r in residents_of(phone) if r.unit_id})


def _recent(kind: str, now: dt.datetime, *, hours: int = 1):
    return OwnerAttempt.select().where(OwnerAttempt.kind == kind,
                                       OwnerAttempt.created_at >= now - dt.timedelta(hours=hours))


def request_code(phone_text: str, remote_addr: str, now: dt.datetime | None = None):
    """Send a login code if the number is a resident's; return the outbox message or None.

    Raises RuleError for a malformed number or a rate limit — the same for every number.
    """
    now = now or utcnow()
    phone = mobile_or_empty(phone_text)
    if not phone:
        raise RuleError({"phone": gettext("请输入正确的手机号")})
    digest = number_digest(phone)
    with write_transaction():
        by_number = _recent("code", now).where(OwnerAttempt.number == digest)
        interval = dt.timedelta(seconds=_setting("H5_CODE_INTERVAL_SECONDS"))
        if (by_number.count() >= _setting("H5_CODES_PER_NUMBER")
                or by_number.where(OwnerAttempt.created_at > now - interval).exists()
                or _recent("code", now).where(OwnerAttempt.remote_addr == remote_addr).count()
                >= _setting("H5_CODES_PER_ADDRESS")):
            raise RuleError({"phone": gettext(TOO_MANY)})
        OwnerAttempt.create(kind="code", number=digest, remote_addr=remote_addr[:64],
                            succeeded=True, created_at=now, updated_at=now)
        resident = residents_of(phone).first()
        if resident is None:
            return None  # not registered: nothing is sent, and the owner is told the same
        code = f"{secrets.randbelow(10 ** 6):06d}"
        row = OwnerCode.create(number=digest, code=code_digest(phone, code), created_at=now,
                               updated_at=now,
                               expires_at=now + dt.timedelta(minutes=_setting("H5_CODE_MINUTES")))
        return enqueue("owner_login_code", estate_id=resident.estate_id, channel="sms",
                       key=f"owner_code:{row.id}", recipient=phone, resident_id=resident.id,
                       params={"code": code}, urgent=True, now=now)


def verify_code(phone_text: str, code: str, remote_addr: str,
                now: dt.datetime | None = None) -> str | None:
    """The owner's mobile number if the code is right (and uses it up), else RuleError."""
    now = now or utcnow()
    phone = mobile_or_empty(phone_text)
    code = (code or "").strip()
    failures = _recent("verify", now).where(OwnerAttempt.remote_addr == remote_addr,
                                            OwnerAttempt.succeeded == False)  # noqa: E712
    if failures.count() >= _setting("H5_FAILURES_PER_ADDRESS"):
        raise RuleError({"code": gettext(TOO_MANY)})
    digest = number_digest(phone) if phone else ""
    with write_transaction():
        row = (OwnerCode.select().where(OwnerCode.number == digest, OwnerCode.used_at.is_null(),
                                        OwnerCode.expires_at > now,
                                        OwnerCode.wrong_tries < _setting("H5_CODE_TRIES"))
               .order_by(OwnerCode.id.desc()).first()) if digest else None
        right = (row is not None and len(code) == 6
                 and hmac.compare_digest(row.code, code_digest(phone, code)))
        OwnerAttempt.create(kind="verify", number=digest, remote_addr=remote_addr[:64],
                            succeeded=right, created_at=now, updated_at=now)
        if row is not None and not right:
            OwnerCode.update(wrong_tries=OwnerCode.wrong_tries + 1).where(
                OwnerCode.id == row.id).execute()
        if right:
            OwnerCode.update(used_at=now).where(OwnerCode.id == row.id).execute()
    if not right or not residents_of(phone).exists():
        raise RuleError({"code": gettext(WRONG_CODE)})
    return phone
