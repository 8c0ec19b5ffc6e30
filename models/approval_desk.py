"""The approver at the desk (R-REC-2): approving on a clerk's screen with one's own password or
personal PIN, verified, throttled like the login (the same failure counts per name and per
address) and audited. See models/approvals.py for the mechanism it feeds.
"""

from __future__ import annotations

from flask_babel import gettext

from models.base import RuleError, write_transaction
from models.i18n import N_
from models.register import audit
from models.users import LoginAttempt, User

DESK_FAILED = N_("审批人用户名或密码/PIN 错误")
DESK_LOCKED = N_("审批人验证失败次数过多，请 {minutes} 分钟后再试，或由审批人本人登录审批")


def verify_at_desk(username: str, secret: str, *, address: str, operator, limits: dict) -> User:
    """The approver standing at the desk, by their own password or PIN; throttled like the login
    (the same failure counts per name and per address) and audited. RuleError on any failure."""
    name = (username or "").strip()
    if not name or not secret:
        raise RuleError({"approver_username": gettext("现场审批须填写审批人用户名和本人密码或审批P"
                                                      "IN")})
    if LoginAttempt.name_locked(name, max_failures=limits["LOGIN_MAX_FAILURES"],
                                window_minutes=limits["LOGIN_LOCK_MINUTES"]) \
            or LoginAttempt.address_locked(address,
                                           max_failures=limits["LOGIN_ADDRESS_MAX_FAILURES"],
                                           window_minutes=limits["LOGIN_ADDRESS_LOCK_MINUTES"]):
        audit(operator, "approve_failed", table="app_user",
              changes={"username": name[:32], "remote_addr": address, "locked": True},
              summary=f"前台审批验证被拒（锁定中）：{name[:32]}")
        raise RuleError({"approver_secret":
                         gettext(DESK_LOCKED).format(minutes=limits["LOGIN_LOCK_MINUTES"])})
    approver = User.authenticate(name, secret)
    if approver is None:
        user = User.get_or_none(User.username == name)
        if user is not None and user.is_active and user.check_pin(secret):
            approver = user
    if approver is None:
        with write_transaction():
            LoginAttempt.record(name, address, False)
            audit(operator, "approve_failed", table="app_user",
                  changes={"username": name[:32], "remote_addr": address},
                  summary=f"前台审批验证失败：{name[:32]}")
        raise RuleError({"approver_secret": gettext(DESK_FAILED)})
    if operator is not None and approver.id == operator.id:
        raise RuleError({"approver_username": gettext("前台审批须由审批人本人输入自己的密码，不能"
                                                      "使用当前登录人的账号")})
    LoginAttempt.record(name, address, True)
    return approver
