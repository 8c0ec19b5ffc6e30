"""Who approves what (R-REC-2): the approver rules stored on an approval request.

A rule is a short string, so a queue is one indexed query: MANAGER (客服主管, 管理处主任 or the
system admin), DIRECTOR (the office director alone) or a department's rule (its 部门主管, the
director or the admin). The approver must also work for the row's estate.
"""

from __future__ import annotations

from flask_babel import gettext

from models.users import DEPARTMENT_LABELS, DEPARTMENTS, MANAGERS, UserEstate, supervises

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
