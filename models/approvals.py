"""Approvals (审批, R-REC-2): one mechanism for every register step that needs an approver.

A step that needs approval (a key lent to someone other than sales staff or the owner, R-KEY-3;
a print job, R-PRINT-1; outside help, R-EMG-2; a deposit kept, R-DEP-2; a decoration's approval
and any re-approval of its dates, R-DECO-2) is declared on its model as an `Approval`:

    approvals = {"lend": Approval("lend", "借钥匙给其他人员", rule=lambda row: MANAGER,
                                  needed=lambda row, values: values["borrower_type"] == "other")}

The step's model method takes a `grant` and refuses to act without one for its row and step
(`require_grant`), so nothing that needs approval takes effect before it. A grant exists only
once an approver has approved, in one of two ways:

* in the approver's own login: the step done by the approver, or the pending request approved
  from the approver's queue (待我审批);
* at the desk: the approver types their own password or personal PIN on the clerk's screen
  (`models.approval_desk.verify_at_desk`: checked, throttled like the login, audited) —
  still the approver's act.

Otherwise the step becomes a pending `ApprovalRequest` with the values typed, waiting in the
queue of whoever the rule names. Rejected, it leaves the row unchanged with the reason (a
register whose own decision is the approval — a print job, a decoration — names a `reject`
method that records the refusal on the row). Every request and decision is audited.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

from flask_babel import gettext
from peewee import CharField, ForeignKeyField, IntegerField, TextField

from models.approval_rules import (  # noqa: F401 (the registers' declarations, re-exported)
    DIRECTOR,
    MANAGER,
    Approval,
    Grant,
    department_rule,
    rule_label,
    rules_of,
    satisfies,
)
from models.base import (
    AwareDateTimeField,
    RuleError,
    StaleRecordError,
    utcnow,
    write_transaction,
)
from models.i18n import L_, office_language
from models.register import RegisterModel, change_record, save_record
from models.steps import rehearsal
from models.users import User, UserEstate

STATES = [("pending", L_("待审批")), ("approved", L_("已批准")), ("rejected", L_("已驳回"))]
STATE_LABELS = dict(STATES)
HOW = [("login", L_("审批人本人登录审批")), ("desk", L_("审批人在前台输入本人密码/PIN")),
       ("legacy", L_("旧记录：由申请人代为登记"))]
HOW_LABELS = dict(HOW)


# --- the request row ------------------------------------------------------------------------


class ApprovalRequest(RegisterModel):
    """One step waiting for, or decided by, its approver (R-REC-2)."""

    register = CharField(max_length=32, verbose_name=L_("登记簿"), help_text=L_("表名，如 key_set"))
    row_id = IntegerField(verbose_name=L_("记录号"))
    action = CharField(max_length=32, verbose_name=L_("事项"))
    label = CharField(max_length=64, verbose_name=L_("审批事项"))
    summary = CharField(max_length=255, default="", verbose_name=L_("内容"))
    payload = TextField(default="{}", verbose_name=L_("申请内容"),
                       help_text=L_("申请时填写的内容，批准后按此办理"))
    rule = CharField(max_length=32, index=True, verbose_name=L_("审批人"))
    requested_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name=L_("申请人"))
    requested_at = AwareDateTimeField(default=utcnow, verbose_name=L_("申请时间"))
    state = CharField(max_length=16, choices=STATES, default="pending", index=True,
                      verbose_name=L_("状态"))
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("审批人"))
    decided_at = AwareDateTimeField(null=True, verbose_name=L_("审批时间"))
    how = CharField(max_length=16, choices=HOW, null=True, verbose_name=L_("审批方式"))
    desk_operator = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                    verbose_name=L_("前台操作员"),
                                    help_text=L_("在前台审批时，审批人输入密码所用的屏幕的登录人"))
    note = CharField(max_length=200, default="", verbose_name=L_("审批意见/驳回原因"))

    class Meta:
        table_name = "approval_request"
        indexes = (
            # A queue: the pending requests of some estates under some rules.
            (("state", "estate", "rule"), False),
            # A row's requests (its details page, the pending one of a step).
            (("register", "row_id"), False),
        )

    def __str__(self) -> str:
        return f"{self.label} {self.summary}".strip()

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def how_label(self) -> str:
        return HOW_LABELS.get(self.how or "", "")

    @property
    def rule_label(self) -> str:
        return rule_label(self.rule)

    def values_dict(self) -> dict:
        return json.loads(self.payload or "{}", object_hook=_decode)

    def target(self):
        """The register row this request is about."""
        model = model_for(self.register)
        row = model.get_or_none(model.id == self.row_id)
        if row is None:
            raise RuleError({"": gettext("申请的记录已不存在")})
        return row

    def spec(self) -> Approval:
        return model_for(self.register).approvals[self.action]

    def require_pending(self) -> None:
        if self.voided or self.state != "pending":
            raise RuleError({"": gettext("该审批申请%(state_label)s，不能再审批",
                                         state_label=self.state_label)})

    @classmethod
    def queue(cls, user):
        """待我审批: pending requests of this user's estates under a rule they satisfy, never
        their own."""
        rules = rules_of(user)
        if not rules:
            return cls.select().where(False)
        return (cls.select()
                .where(cls.state == "pending", cls.voided == False,  # noqa: E712
                       cls.estate.in_(user.estate_ids()), cls.rule.in_(rules),
                       (cls.requested_by.is_null()) | (cls.requested_by != user.id))
                .order_by(cls.requested_at))

    @classmethod
    def of_row(cls, row):
        return (cls.select().where(cls.register == row._meta.table_name, cls.row_id == row.id)
                .order_by(cls.id.desc()))

    @classmethod
    def pending_for(cls, row, action: str):
        return cls.of_row(row).where(cls.action == action, cls.state == "pending",
                                     cls.voided == False).first()  # noqa: E712


# --- values as JSON (dates, times and money keep their types) ------------------------------


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot keep {type(value).__name__} in an approval request")


def _decode(obj: dict):
    if set(obj) == {"$datetime"}:
        return dt.datetime.fromisoformat(obj["$datetime"])
    if set(obj) == {"$date"}:
        return dt.date.fromisoformat(obj["$date"])
    if set(obj) == {"$decimal"}:
        return decimal.Decimal(obj["$decimal"])
    return obj


def dump_values(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, default=_encode, sort_keys=True)


# --- the registers that declare approvals ---------------------------------------------------


def model_for(table: str):
    from models import MODELS

    for model in MODELS:
        if model._meta.table_name == table and getattr(model, "approvals", None):
            return model
    raise RuleError({"": gettext("未知的审批登记簿：%(table)s", table=table)})


def spec_of(row, action: str) -> Approval:
    return type(row).approvals[action]


def needs_approval(row, action: str, values: dict) -> bool:
    spec = getattr(type(row), "approvals", {}).get(action)
    return spec is not None and bool(spec.needed(row, values))


def may_approve(user, row, action: str, *, requester=None) -> bool:
    """Whether `user` may approve this step of this row (asked by `requester`)."""
    spec = spec_of(row, action)
    if not spec.requester_may_approve and requester is not None and user is not None \
            and user.id == requester.id:
        return False
    return satisfies(user, spec.rule(row), row.estate_id)


def requester_of(row, action: str, default):
    """Who asked for the step: the pending request's requester, else `default` (asking now)."""
    pending = ApprovalRequest.pending_for(row, action)
    if pending is not None and pending.requested_by_id:
        return User.get_or_none(User.id == pending.requested_by_id) or default
    return default


def require_grant(row, action: str, grant: Grant | None) -> User:
    """The approver of this step, or a RuleError: nothing takes effect before its approval."""
    spec = spec_of(row, action)
    if grant is None or grant.request.register != row._meta.table_name \
            or grant.request.row_id != row.id or grant.request.action != action:
        raise RuleError({"approver": gettext("%(label)s须经%(value)s批准",
                                             label=spec.label, value=rule_label(spec.rule(row)))})
    return grant.approver


def not_before_grant(moment: dt.datetime | None, grant: Grant | None) -> dt.datetime | None:
    """A step's moment, never before its approval."""
    if grant is None:
        return moment
    return grant.at if moment is None or moment < grant.at else moment


# --- asking and deciding ------------------------------------------------------------------


def _summary(row, spec: Approval, values: dict) -> str:
    with office_language():  # kept on the request: in the office's language
        words = spec.describe(row, values) if spec.describe else ""
        return f"{row} {words}".strip()[:255]


def trial(row, action: str, requester, values: dict) -> None:
    """Try the step as if approved, and undo it: what the rules refuse now (a refunded deposit,
    a key already out, dates that do not fit) is refused before anyone is asked to approve."""
    spec = spec_of(row, action)
    if spec.check is not None:
        spec.check(row, values)
    approver = next((user for user in approvers(spec.rule(row), row.estate_id)
                     if spec.requester_may_approve or requester is None
                     or user.id != requester.id), None)
    if approver is None:
        raise RuleError({"": gettext("本小区没有可审批“%(label)s”的人员（须由%(value)s审批），请联"
                                     "系系统管理员",
                                     label=spec.label, value=rule_label(spec.rule(row)))})
    fresh = type(row).get_by_id(row.id)
    stand_in = ApprovalRequest(register=row._meta.table_name, row_id=row.id, action=action)
    with rehearsal():
        _call(fresh, spec, requester, Grant(stand_in, approver, utcnow()), dict(values))


def approvers(rule: str, estate_id: int) -> list[User]:
    """The active people who may approve under `rule` for an estate (its staff, the admins)."""
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate_id)
    people = User.select().where(User.active == True,  # noqa: E712
                                 (User.id.in_(linked)) | (User.role == "admin"))
    return [user for user in people.order_by(User.id) if satisfies(user, rule, estate_id)]


def request(row, action: str, requester, values: dict | None = None, *,
            try_first: bool = False) -> ApprovalRequest:
    """Put a step in its approver's queue (the row does not change). `try_first`: refuse
    at once what the step's rules would refuse on approval (`trial`)."""
    spec = spec_of(row, action)
    values = dict(values or {})
    expected_version = values.pop("expected_version", None)
    if ApprovalRequest.pending_for(row, action) is not None:
        raise RuleError({"": gettext("该记录已有待审批的“%(label)s”申请，请等待审批结果",
                                     label=spec.label)})
    if try_first:
        if expected_version is not None and expected_version != row.version:
            raise StaleRecordError()
        trial(row, action, requester, values)
    elif spec.check is not None:
        spec.check(row, values)
    pending = ApprovalRequest(
        estate=row.estate_id, register=row._meta.table_name, row_id=row.id, action=action,
        label=spec.label, summary=_summary(row, spec, values), payload=dump_values(values),
        rule=spec.rule(row), requested_by=requester.id if requester else None,
        requested_at=utcnow())
    return save_record(pending, requester)


def _refuse_approver(row, spec: Approval, approver, requester) -> None:
    if not spec.requester_may_approve and requester is not None and approver.id == requester.id:
        raise RuleError({"approver_username": gettext("审批人不能是申请人本人")})
    if not satisfies(approver, spec.rule(row), row.estate_id):
        raise RuleError({"approver_username":
                         gettext("%(display_name)s无权审批此事项，须由%(value)s审批",
                                 display_name=approver.display_name,
                                 value=rule_label(spec.rule(row)))})


def apply_now(row, action: str, requester, approver, values: dict, *, how: str = "login",
              operator=None, at: dt.datetime | None = None):
    """Do the step with its approver's approval given now (own login or at the desk).

    A pending request of the same step is decided by it; otherwise a decided one is written,
    so every approval has its row. Returns the step method's result. `at` is the decision's
    moment for seeding demo history only; the views never pass it (the approval is "now").
    """
    spec = spec_of(row, action)
    _refuse_approver(row, spec, approver, requester)
    values = dict(values)
    expected_version = values.pop("expected_version", None)
    with write_transaction():
        pending = ApprovalRequest.pending_for(row, action)
        if pending is None:
            pending = request(row, action, requester, values)
        elif not spec.reject:
            # A step asked for again with an approver at hand: what is done is what is recorded.
            change_record(pending, requester, payload=dump_values(values),
                          summary=_summary(row, spec, values))
        grant = _decide(pending, approver, "approved", how=how, operator=operator, at=at)
        if expected_version is not None:
            values["expected_version"] = expected_version
        return _call(row, spec, requester, grant, values)


def _call(row, spec: Approval, requester, grant: Grant, values: dict):
    if spec.moment:
        values[spec.moment] = not_before_grant(values.get(spec.moment), grant)
    # The row's own approval (it has its own refusal) is the approver's step; any other step
    # is the requester's (the clerk hands over the key), approved by the approver.
    actor = grant.approver if spec.reject else requester
    return getattr(row, spec.action)(actor, grant=grant, **values)


def _decide(pending: ApprovalRequest, approver, state: str, *, how: str, note: str = "",
            operator=None, at: dt.datetime | None = None) -> Grant:
    at = at or utcnow()
    change_record(pending, approver, state=state, decided_by=approver.id, decided_at=at,
                  how=how, note=(note or "").strip()[:200],
                  desk_operator=operator.id if operator is not None else None)
    return Grant(pending, approver, at)


def approve(pending: ApprovalRequest, approver, *, note: str = "", how: str = "login",
            operator=None):
    """Approve a pending request: its step is done now with the values typed at the request."""
    pending.require_pending()
    row = pending.target()
    spec = pending.spec()
    requester = User.get_or_none(User.id == pending.requested_by_id) or approver
    _refuse_approver(row, spec, approver, requester)
    with write_transaction():
        grant = _decide(pending, approver, "approved", how=how, note=note, operator=operator)
        return _call(row, spec, requester, grant, pending.values_dict())


def reject(pending: ApprovalRequest, approver, *, note: str, how: str = "login",
           operator=None) -> None:
    """Reject with the reason: the row stays as it was (or records its own refusal)."""
    pending.require_pending()
    if not (note or "").strip():
        raise RuleError({"note": gettext("驳回时请填写原因")})
    row = pending.target()
    spec = pending.spec()
    requester = User.get_or_none(User.id == pending.requested_by_id)
    _refuse_approver(row, spec, approver, requester)
    with write_transaction():
        _decide(pending, approver, "rejected", how=how, note=note, operator=operator)
        if spec.reject:
            getattr(row, spec.reject)(approver, note=note.strip())


def settle(row, action: str, user, state: str, note: str = "") -> None:
    """Close a step's pending request decided on the row itself (e.g. 不批准 in own login)."""
    pending = ApprovalRequest.pending_for(row, action)
    if pending is not None:
        _decide(pending, user, state, how="login", note=note)
