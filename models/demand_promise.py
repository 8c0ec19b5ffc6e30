"""A demand's reply deadline as a promise on record (R-REC-1, R-DEM-7; issue #11 item 1).

The deadline is fixed when it is promised — at intake, and again when a callback reopens the
demand — and stored with what it was computed from (`original_reply_due` and the
`promised_*` basis). Editing the demand never moves it. Changing its basis afterwards
(seriousness, urgency, the owner's requested time) is a supervisor's revision with a reason
(`revise_deadline`): it sets the deadline in force (`reply_due`) beside the original and
records any miss that already happened before the new deadline takes over. Every way of
closing counts misses against the deadline in force at the time (`miss_values`), and a miss,
once recorded, stays.

The cause analysis a reply rests on (R-DEM-6, `require_cause`) is checked here too.
`Demand` (models/demands.py) takes these methods; the fields are declared there.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext

from models import deadlines
from models.base import RuleError, to_office, utcnow, write_transaction
from models.i18n import office_language
from models.users import is_manager

# States in which the owner is still owed a reply (R-DEM-7) — the reply deadline runs.
REPLY_OWED = ("open", "dispatched")
# The fields a deadline is computed from; only a supervisor's revision changes them (R-REC-1).
BASIS_FIELDS = ("serious", "urgent", "requested_reply_at")
# The revision's reason goes into its history step (255 characters with the deadlines).
REASON_MAX = 100


CAUSE_MAX = 2000


def require_cause(given: str | None, recorded: str) -> str:
    """R-DEM-6: the handler's analysis of the cause, required when replying or judging invalid
    (one already recorded on the demand counts; a new one replaces it)."""
    cause = (given or "").strip() or (recorded or "").strip()
    if not cause:
        raise RuleError({"cause": gettext("请填写原因分析（问题产生的原因，R-DEM-6）")})
    if len(cause) > CAUSE_MAX:
        raise RuleError({"cause": gettext("原因分析不能超过 %(CAUSE_MAX)s 个字",
                                          CAUSE_MAX=CAUSE_MAX)})
    return cause


def minutes(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def basis_label(serious, urgent, requested) -> str:
    """What a deadline was computed from, in the office's words."""
    if requested is not None:
        return gettext("业户要求 %(time)s 前答复", time=f"{to_office(requested):%Y-%m-%d %H:%M}")
    return gettext("%(serious)s、%(urgent)s",
                   serious=gettext("严重") if serious else gettext("一般"),
                   urgent=gettext("紧急（2 小时）") if urgent else gettext("不紧急（2 个工作日）"))


class PromiseMixin:
    """The deadline rules of a demand: promised once, revised only by a supervisor."""

    # Set by `revise_deadline` around its own write: the only change of the basis allowed.
    _revising = False

    def compute_reply_due(self, start: dt.datetime | None = None) -> dt.datetime:
        """R-DEM-7 from intake; the owner's requested time wins.

        After a reopen (`start` given) the clock restarts from the reopen by the 2×2 rule: the
        owner's original requested time has passed by then.
        """
        requested = None if start else self.requested_reply_at
        return deadlines.reply_due(to_office(start or self.received_at),
                                   serious=bool(self.serious), urgent=bool(self.urgent),
                                   requested=to_office(requested), estate=self.estate_id)

    def promise(self, start: dt.datetime | None = None) -> dict:
        """The values that fix a new promise: intake (no `start`) or a reopen at `start`."""
        due = self.compute_reply_due(start)
        return {"reply_due": due, "original_reply_due": due,
                "promised_serious": bool(self.serious), "promised_urgent": bool(self.urgent),
                "promised_requested_at": None if start else self.requested_reply_at}

    @property
    def promise_basis(self) -> str:
        """What the original promise was computed from (R-REC-1), for the record's pages."""
        if self.original_reply_due is None:
            return ""
        return basis_label(self.promised_serious, self.promised_urgent,
                           self.promised_requested_at)

    @property
    def revised(self) -> bool:
        """Whether a supervisor set a deadline other than the original promise."""
        return bool(self.original_reply_due and self.reply_due
                    and self.reply_due != self.original_reply_due)

    def late_by(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """How late the reply was (answered late) or is (still owed); None when on time."""
        if not self.reply_due:
            return None
        moment = self.replied_at or now or utcnow()
        if moment > self.reply_due:
            return moment - self.reply_due
        return None

    def miss_values(self, moment: dt.datetime, due: dt.datetime | None) -> dict:
        """A deadline in force that passed before `moment` adds a miss; misses stay for good."""
        if due and moment > due:
            return {"missed_replies": self.missed_replies + 1,
                    "late_minutes": self.late_minutes + minutes(moment - due)}
        return {}

    @classmethod
    def overdue(cls, now: dt.datetime):
        """Owed a reply past its deadline (R-DEM-7), or an invalid notice past 1 working day."""
        # "Not replied" stands beside the OR, not inside both halves, and as `(… IS NULL) =
        # TRUE`: so stated, only the unreplied demands' own index (demand_queue_owed, migration
        # 026) can use it, and the grid reads it newest first and stops after its page (#14).
        return cls.live().where(
            cls.replied_at.is_null() == True,  # noqa: E712
            ((cls.status.in_(REPLY_OWED)) & (cls.reply_due < now))
            | ((cls.status == "invalid") & (cls.invalid_notice_due < now)))

    @classmethod
    def due_soon(cls, now: dt.datetime, *, urgent_minutes: int = 30):
        """Owed a reply and due soon: within 30 minutes for 2-hour deadlines, else today."""
        end_of_today = deadlines.end_of_day(to_office(now))
        soon = now + dt.timedelta(minutes=urgent_minutes)
        return cls.live().where(
            cls.status.in_(REPLY_OWED), cls.replied_at.is_null(), cls.reply_due >= now,
            # Implied by the OR below, stated for the planner: the deadlines between now and
            # the later of the two ends, read as one range of demand_reply_sweep. Without it
            # SQLite without statistics (production's) read every demand (#14 item 3).
            cls.reply_due <= max(end_of_today, soon),
            ((cls.urgent == True) & (cls.reply_due <= soon))  # noqa: E712
            | ((cls.urgent == False) & (cls.reply_due <= end_of_today)))  # noqa: E712

    def check_basis_unchanged(self) -> None:
        """Refuse an edit that changes what the deadline was computed from (R-REC-1): the plain
        edit form does not offer these fields, and no other writer may change them either."""
        if self.id is None or self._revising:
            return
        stored = type(self).select(*[type(self)._meta.fields[name] for name in BASIS_FIELDS]
                                   ).where(type(self).id == self.id).tuples().first()
        if stored is None:
            return
        for name, old in zip(BASIS_FIELDS, stored, strict=True):
            if getattr(self, name) != old:
                label = type(self)._meta.fields[name].verbose_name
                raise RuleError({name: gettext("%(label)s决定答复期限，受理后不能直接修改；请由主"
                                               "管在“修订答复期限”中修订并说明原因",
                                               label=label)})

    def round_started_at(self) -> dt.datetime:
        """When the current promise's clock started: intake, or the latest reopen."""
        if not self.reopen_count:
            return self.received_at
        from models.demands import DemandStep

        step = (DemandStep.select(DemandStep.created_at)
                .where(DemandStep.demand == self.id, DemandStep.action == "reopen")
                .order_by(DemandStep.id.desc()).first())
        return step.created_at if step else self.received_at

    def revise_deadline(self, user, *, serious: bool, urgent: bool,
                        requested_reply_at: dt.datetime | None, reason: str,
                        expected_version: int | None = None) -> None:
        """A supervisor changes what the deadline is computed from, with a reason (R-REC-1).

        The new deadline is in force from now on, beside the original promise. If the deadline
        in force has already passed, that miss is recorded now and stays whatever the new
        deadline is; the history step says who, why, and the deadlines before and after.
        """
        self.require_state(("open", "dispatched"),
                           gettext("当前状态为“{status}”，不能修订答复期限"))
        if not is_manager(user):
            raise RuleError({"": gettext("修订答复期限需由主管办理（R-REC-1）")})
        if self.replied_at is not None:
            raise RuleError({"": gettext("已经答复业户，不能再修订答复期限")})
        errors = {}
        reason = (reason or "").strip()
        if not reason:
            errors["reason"] = gettext("修订答复期限必须说明原因")
        elif len(reason) > REASON_MAX:
            errors["reason"] = gettext("原因不能超过 %(REASON_MAX)s 个字", REASON_MAX=REASON_MAX)
        now = utcnow()
        if requested_reply_at is not None and requested_reply_at < self.received_at:
            errors["requested_reply_at"] = gettext("要求答复时间不能早于受理时间")
        elif requested_reply_at is not None and requested_reply_at < now:
            errors["requested_reply_at"] = gettext("要求答复时间已经过去，请核对后重新填写")
        if errors:
            raise RuleError(errors)
        serious, urgent = bool(serious), bool(urgent)
        if (serious, urgent, requested_reply_at) == (bool(self.serious), bool(self.urgent),
                                                      self.requested_reply_at):
            raise RuleError({"": gettext("修订内容与现在相同，答复期限没有变化")})
        new_due = deadlines.reply_due(to_office(self.round_started_at()), serious=serious,
                                      urgent=urgent, requested=to_office(requested_reply_at),
                                      estate=self.estate_id)
        old_due = self.reply_due
        missed = self.miss_values(now, old_due)
        with office_language():  # the note is kept: in the office's language
            basis = basis_label(serious, urgent, requested_reply_at)
        note = (f"修订答复期限：{_when(old_due)} → {_when(new_due)}"
                f"（原承诺 {_when(self.original_reply_due)}；"
                f"依据 {basis}）")
        if missed:
            note += f"；修订前已超时 {minutes(now - old_due)} 分钟，记入超时"
        note += f"；原因：{reason}"
        with write_transaction():
            self._revising = True
            try:
                self.transition(user, None, action="revise", note=note,
                                expected_version=expected_version, serious=serious,
                                urgent=urgent, requested_reply_at=requested_reply_at,
                                reply_due=new_due, revision_count=self.revision_count + 1,
                                **missed)
            finally:
                self._revising = False


def _when(moment) -> str:
    return f"{to_office(moment):%Y-%m-%d %H:%M}" if moment else "无"
