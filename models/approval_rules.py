"""Who approves what (R-REC-2): the approver rules stored on an approval request, and the two
shapes the registers use — the `Approval` a model declares for a step, and the `Grant` that
models/approvals.py hands a step once its approver has approved.

A rule is a short string, so a queue is one indexed query: MANAGER (客服主管, 管理处主任 or the
system admin), DIRECTOR (the office director alone) or a department's rule (its 部门主管, the
director or the admin). The approver must also work for the row's estate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext

from models.users import DEPARTMENT_LABELS, DEPARTMENTS, MANAGERS, User, UserEstate, supervises

if TYPE_CHECKING:
    from models.approvals import ApprovalRequest

# Who approves (the rule stored on a request, so a queue is one indexed query).
MANAGER = "manager"  # 客服主管, 管理处主任 or the system admin (key loans, forfeits, decoration)
DIRECTOR = "director"  # the office director alone (outside help, R-EMG-2)
DEPARTMENT = "dept:"  # + kind: that department's supervisor, the director or the admin (print)


def rule_label(rule: str) -> str:
    if rule == MANAGER:
        return gettext("客服主管或管理处主任")
    if rule == DIRECTOR:
        return gettext("管理处主任")
    if rule.startswith(DEPARTMENT):
        name = DEPARTMENT_LABELS.get(rule[len(DEPARTMENT):], rule[len(DEPARTMENT):])
        return gettext("%(name)s部门主管或管理处主任", name=name)
    return rule


def department_rule(kind: str) -> str:
    return f"{DEPARTMENT}{kind}"


def _works_for(user, estate_id) -> bool:
    if user.role == "admin":
        return True
    return UserEstate.select().where(UserEstate.user == user.id,
                                     UserEstate.estate == estate_id).exists()


def satisfies(user, rule: str, estate_id: int) -> bool:
    """Whether `user` may approve under `rule` for a row of `estate_id`."""
    if user is None or not getattr(user, "active", False) or not _works_for(user, estate_id):
        return False
    if rule == MANAGER:
        return user.role in MANAGERS
    if rule == DIRECTOR:
        return user.role == "director"  # R-EMG-2: the director only, not the admin
    if rule.startswith(DEPARTMENT):
        return user.role in ("director", "admin") or supervises(user, rule[len(DEPARTMENT):])
    return False


def rules_of(user) -> list[str]:
    """Every rule `user` satisfies (estates aside): what their queue lists."""
    every_department = [department_rule(kind) for kind, _ in DEPARTMENTS]
    role = getattr(user, "role", None)
    if role == "admin":
        return [MANAGER, *every_department]
    if role == "director":
        return [MANAGER, DIRECTOR, *every_department]
    if role == "supervisor":
        return [MANAGER, department_rule("cs")]
    if role == "dept" and user.dept_supervisor and user.department:
        return [department_rule(user.department)]
    return []


@dataclass(frozen=True)
class Approval:
    """A model step that needs an approver (declared in the model's `approvals`)."""

    # The model method applied on approval: row.<action>(requester, grant=…, **values).
    action: str
    # What is asked, for the queue (借钥匙给其他人员, 打印审批…).
    label: str
    # callable(row) -> rule (MANAGER, DIRECTOR, department_rule(kind)).
    rule: Callable[[Any], str]
    # callable(row, values) -> whether these values need approval at all.
    needed: Callable[[Any, dict], bool] = lambda row, values: True
    # The row's own refusal, called as row.<reject>(approver, note=reason) on rejection; empty:
    # a rejection leaves the row unchanged. With one, the approval is the row's own step and
    # the approver does it (row.<action>(approver, …)); without, the requester's step is done.
    reject: str = ""
    # May the requester approve their own request (a print job: never, R-PRINT-1)?
    requester_may_approve: bool = True
    # The value holding the step's moment: never before the approval (nothing before it).
    moment: str = ""
    # callable(row, values) -> words for the queue (who, what, how much).
    describe: Callable[[Any, dict], str] | None = None
    # callable(row, values) raising RuleError: what can be refused before the request waits.
    check: Callable[[Any, dict], None] | None = None


@dataclass(frozen=True)
class Grant:
    """An approval given: made only by this module once the approver has approved."""

    request: ApprovalRequest
    approver: User
    at: dt.datetime
