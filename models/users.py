"""Staff accounts, their roles and estates, and the login throttle.

Passwords are hashed with werkzeug's scrypt. A user sees only the estates linked to them;
`admin` sees every estate.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets

from flask_babel import gettext
from flask_login import UserMixin
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField
from werkzeug.security import check_password_hash, generate_password_hash

from models.base import AwareDateTimeField, BaseModel, RuleError, VersionedModel, utcnow
from models.estate import Estate
from models.i18n import L_

ROLES = [
    ("admin", L_("系统管理员")),
    ("director", L_("管理处主任")),
    ("supervisor", L_("客服主管")),
    ("clerk", L_("客服员")),
    ("dept", L_("部门人员")),
    ("viewer", L_("只读经理")),
]
ROLE_LABELS = dict(ROLES)

# Department kinds (R-DEM-4: the parties demands are dispatched to).
DEPARTMENTS = [
    ("cs", L_("客服")),
    ("security", L_("保安")),
    ("cleaning", L_("保洁")),
    ("engineering", L_("工程维修")),
    ("finance", L_("财务")),
]
DEPARTMENT_LABELS = dict(DEPARTMENTS)

# Role groups the views use; kept here so every view asks the same question the same way.
MANAGERS = frozenset({"admin", "director", "supervisor"})
DESK = MANAGERS | {"clerk"}
EVERYONE = frozenset(ROLE_LABELS)

MIN_PASSWORD_LENGTH = 8
MIN_PIN_LENGTH, MAX_PIN_LENGTH = 6, 12
# One method for real hashes and the dummy one, so both cost the same work (#13 item 5).
# werkzeug's "scrypt" is scrypt:32768:8:1; production always hashes with it.
PASSWORD_METHOD = "scrypt"
# The method in use: PASSWORD_METHOD, or a cheaper scrypt a test app asks for through its config
# (PASSWORD_HASH_METHOD with TESTING on; see set_password_method). The suite's speed only.
_password_method = PASSWORD_METHOD
# What ends every session of a user when it changes (R-REC: an account's rights are current).
SESSION_FIELDS = ("password_hash", "role", "active")


def set_password_method(method: str | None, *, testing: bool = False) -> None:
    """Hash new passwords and PINs with `method` (None: the production PASSWORD_METHOD).

    Only a test app may choose another one, and only a cheaper scrypt (the same algorithm with a
    smaller work factor, so every check still runs scrypt): the suite creates hundreds of users.
    Anything else is refused, so a production config cannot weaken the hashes by mistake.
    """
    global _password_method
    method = method or PASSWORD_METHOD
    if method != PASSWORD_METHOD and not (testing and method.startswith("scrypt:")):
        raise ValueError("PASSWORD_HASH_METHOD 仅供测试使用（TESTING），且只能是 scrypt:N:r:p")
    _password_method = method


def password_method() -> str:
    """The method new password and PIN hashes are made with (production: PASSWORD_METHOD)."""
    return _password_method


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash of a random password, made once per process and method with its parameters."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def in_department(user, kind: str) -> bool:
    """Whether a user belongs to a department (finance collects money, engineering signs tests)."""
    return user is not None and getattr(user, "department", None) == kind


def supervises(user, department: str) -> bool:
    """Whether a user is the supervisor of a department (R-REC-4: 工程主管 signs decoration tests,
    a department's supervisor approves its print jobs). The CS supervisor (客服主管, role
    supervisor) supervises 客服; other departments have a department member marked 部门主管.
    Directors and admins are not department supervisors: callers that also accept them say so.
    """
    if user is None:
        return False
    if department == "cs" and getattr(user, "role", None) == "supervisor":
        return True
    return (getattr(user, "role", None) == "dept" and bool(getattr(user, "dept_supervisor", False))
            and getattr(user, "department", None) == department)


def acts_for(user, department_kind: str | None) -> bool:
    """R-REC-4: whether a user may act on work of a department (reply, complete, arrive).

    Department staff act only on their own department's work (an undispatched row has no
    department: not theirs); the desk (clerks, supervisors, directors, admins) acts on any work
    of its estates; read-only managers on none. `None` is the system (jobs, the demo seed).
    """
    if user is None:
        return True
    role = getattr(user, "role", None)
    if role == "dept":
        return bool(department_kind) and getattr(user, "department", None) == department_kind
    return role in DESK


def department_kinds_of(row) -> set[str]:
    """The departments a row's work belongs to: its own department and, for a demand, the
    departments of its work orders (a demand sent to two departments is both's work)."""
    kinds = set()
    if getattr(row, "department_id", None):
        kinds.add(row.department.kind)
    for order in getattr(row, "work_orders", ()):
        if not order.voided:
            kinds.add(order.department.kind)
    return kinds


def require_department_work(user, row) -> None:
    """Refuse (R-REC-4) when a department member acts on another department's demand or work
    order, however the request was made; the desk passes as `acts_for` says."""
    if user is not None and getattr(user, "role", None) != "dept":
        if not acts_for(user, None):
            raise RuleError({"": gettext("只读账号不能办理")})
        return
    if not any(acts_for(user, kind) for kind in department_kinds_of(row) or {None}):
        raise RuleError({"": gettext("这是其他部门的工作，只有该部门人员或客服中心可以办理")})


def may_reassign(user, department_kind: str | None) -> bool:
    """Who may hand a department's work to another of its people: the desk's managers, or that
    department's own supervisor (R-REC-4, #11 item 5)."""
    return is_manager(user) or supervises(user, department_kind or "")


def is_manager(user) -> bool:
    """Supervisors, directors and admins approve what the manual reserves to 主管领导."""
    return user is not None and getattr(user, "role", None) in MANAGERS


class User(UserMixin, VersionedModel):
    username = CharField(max_length=32, unique=True, verbose_name=L_("用户名"))
    display_name = CharField(max_length=32, verbose_name=L_("姓名"))
    password_hash = CharField(max_length=256, verbose_name=L_("密码散列"))
    role = CharField(max_length=16, choices=ROLES, verbose_name=L_("角色"))
    department = CharField(max_length=16, null=True, choices=DEPARTMENTS, verbose_name=L_("部门"),
                           help_text=L_("部门人员（dept）必须选择所属部门"))
    dept_supervisor = BooleanField(default=False, verbose_name=L_("部门主管"),
                                   help_text=L_("部门人员中的本部门主管（如工程主管签署装修试验）"))
    phone = CharField(max_length=32, default="", verbose_name=L_("电话"))
    # WeChat Work application messages go to this account (#17; migration 020).
    wecom_userid = CharField(max_length=64, default="", verbose_name=L_("企业微信账号"),
                             help_text=L_("企业微信通讯录中的账号（userid）；填写后本人的通知"
                                          "也以企业微信应用消息发送"))
    active = BooleanField(default=True, verbose_name=L_("启用"))
    can_reveal_id = BooleanField(default=False, verbose_name=L_("可查看完整证件号"),
                                 help_text=L_("查看完整证件号会写入审计日志"))
    last_login_at = AwareDateTimeField(null=True, verbose_name=L_("最近登录"))
    # R-REC-2: a personal PIN an approver sets to approve at the desk on a clerk's screen.
    approval_pin_hash = CharField(max_length=256, default="", verbose_name=L_("审批PIN散列"))
    session_generation = IntegerField(
        default=0, verbose_name=L_("会话代数"),
        help_text=L_("退出、改密码、停用或改角色时加一，此前登录的会话全部失效"))

    class Meta:
        table_name = "app_user"

    def __str__(self) -> str:
        return f"{self.display_name}（{self.username}）"

    # Flask-Login: an inactive account cannot log in and is logged out on its next request.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def set_password(self, password: str) -> None:
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise RuleError({"password": gettext("密码至少 %(MIN_PASSWORD_LENGTH)s 位",
                                                 MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH)})
        self.password_hash = generate_password_hash(password, method=_password_method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def set_pin(self, pin: str) -> None:
        """Set the personal approval PIN (6 to 12 digits), stored hashed like a password."""
        pin = (pin or "").strip()
        if not pin.isdigit() or not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
            raise RuleError({"pin": gettext("审批PIN须为 %(MIN_PIN_LENGTH)s 到 %(MAX_PIN_LENGTH)s "
                                            "位数字",
                                            MIN_PIN_LENGTH=MIN_PIN_LENGTH,
                                            MAX_PIN_LENGTH=MAX_PIN_LENGTH)})
        self.approval_pin_hash = generate_password_hash(pin, method=_password_method)

    def check_pin(self, pin: str) -> bool:
        return bool(self.approval_pin_hash) and check_password_hash(self.approval_pin_hash,
                                                                    pin or "")

    @classmethod
    def authenticate(cls, username: str, password: str):
        """The active user with this name and password, or None.

        An unknown or inactive name is checked against a dummy hash of the same parameters, so
        every path does one scrypt and the response time does not reveal who exists.
        """
        user = cls.get_or_none(cls.username == username)
        stored = (user.password_hash if user is not None and user.password_hash
                  else _dummy_hash(_password_method))
        matches = check_password_hash(stored, password)
        if user is None or not user.is_active or not matches:
            return None
        return user

    @classmethod
    def end_sessions(cls, user_id: int) -> None:
        """End every existing session of a user (logout, CLI password change)."""
        cls.update(session_generation=cls.session_generation + 1).where(
            cls.id == user_id).execute()

    def before_update(self) -> None:
        # A new password, a role change or a deactivation ends every older session, whoever
        # made the change and from wherever (admin form, CLI): the check sits on the model.
        stored = type(self).get_or_none(type(self).id == self.id)
        if stored is not None and any(getattr(stored, name) != getattr(self, name)
                                      for name in SESSION_FIELDS):
            self.session_generation = stored.session_generation + 1

    def validate(self):
        if self.role not in ROLE_LABELS:
            yield "role", gettext("请选择有效的角色")
        if self.role == "dept" and not self.department:
            yield "department", gettext("部门人员必须选择所属部门")
        if self.dept_supervisor and self.role != "dept":
            yield "dept_supervisor", gettext("只有部门人员可以设为部门主管（客服主管请选择角色“客"
                                             "服主管”）")
        if self.username and not self.username.replace("_", "").replace(".", "").isalnum():
            yield "username", gettext("用户名只能包含字母、数字、_ 和 .")
        from models.validators import wecom_userid_problem

        self.wecom_userid = (self.wecom_userid or "").strip()
        problem = wecom_userid_problem(self.wecom_userid)
        if problem:
            yield "wecom_userid", problem

    @property
    def department_label(self) -> str:
        return DEPARTMENT_LABELS.get(self.department or "", "")

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def estate_ids(self) -> list[int]:
        """Ids of the estates this user may see (every estate for admin)."""
        if self.role == "admin":
            return [e.id for e in Estate.select(Estate.id)]
        return [link.estate_id for link in UserEstate.select(UserEstate.estate)
                .where(UserEstate.user == self)]

    def estates(self):
        return Estate.select().where(Estate.id.in_(self.estate_ids())).order_by(Estate.code)


def check_user_estates(role: str, estate_ids) -> None:
    """Everyone but the system admin works for at least one estate (they see only its rows)."""
    if role != "admin" and not list(estate_ids or []):
        raise RuleError({"estate_ids": gettext("除系统管理员外，用户必须至少属于一个小区")})


class UserEstate(BaseModel):
    """Which estates a user works for (one or more)."""

    user = ForeignKeyField(User, backref="estate_links", on_delete="CASCADE")
    estate = ForeignKeyField(Estate, backref="user_links", on_delete="CASCADE")

    class Meta:
        table_name = "user_estate"
        indexes = ((("user", "estate"), True),)


class LoginAttempt(BaseModel):
    """Every login attempt, kept to throttle guessing (by username and by address)."""

    username = CharField(max_length=64, index=True)
    remote_addr = CharField(max_length=64, index=True)
    succeeded = BooleanField(default=False)

    class Meta:
        table_name = "login_attempt"

    @classmethod
    def _recent_failures(cls, window_minutes: int, now: dt.datetime | None):
        since = (now or utcnow()) - dt.timedelta(minutes=window_minutes)
        return cls.select().where(cls.created_at >= since, cls.succeeded == False)  # noqa: E712

    @classmethod
    def name_locked(cls, username: str, *, max_failures: int, window_minutes: int,
                    now: dt.datetime | None = None) -> bool:
        """Too many recent failures for this name, from anywhere (guessing one password).

        Unknown and known usernames are throttled alike, so the lock reveals nothing.
        """
        recent = cls._recent_failures(window_minutes, now)
        return recent.where(cls.username == username.lower()).count() >= max_failures

    @classmethod
    def address_locked(cls, remote_addr: str, *, max_failures: int, window_minutes: int,
                       now: dt.datetime | None = None) -> bool:
        """Too many recent failures from this address, whatever names it tried (spraying).

        This refuses only that address: made-up names tried from one machine never lock the
        accounts themselves, so an attacker cannot lock the office out (#13 item 5).
        """
        recent = cls._recent_failures(window_minutes, now)
        return recent.where(cls.remote_addr == remote_addr).count() >= max_failures

    @classmethod
    def record(cls, username: str, remote_addr: str, succeeded: bool) -> None:
        cls.create(username=username.lower()[:64], remote_addr=remote_addr[:64],
                   succeeded=succeeded)
        if succeeded:
            # A success forgives the earlier failures of that name.
            cls.delete().where(cls.username == username.lower(),
                               cls.succeeded == False).execute()  # noqa: E712
