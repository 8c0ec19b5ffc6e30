"""Login and logout: throttled, one message for every failure, logout by POST only.

Hardened for #13 item 5: the throttle counts per name and per address separately; every session
carries its user's session generation and dies when that moves on; unknown names cost the same
scrypt as real ones; failed logins are audited (never the password); return URLs are same-site.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models.base import db, utcnow
from models.register import audit
from models.users import LoginAttempt, User
from views.field import landing_for
from views.i18n import LANGUAGES, N_
from views.security import PlainText, safe_return_url

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = N_("请先登录。")
login_manager.localize_callback = gettext
login_manager.login_message_category = "info"
# A stolen cookie used from another browser/address ends the session.
login_manager.session_protection = "strong"

BAD_LOGIN = N_("用户名或密码错误。")
LOCKED = N_("登录失败次数过多，请 {minutes} 分钟后再试，或联系系统管理员。")


# The session key holding the user's session generation at login.
SESSION_GENERATION = "session_generation"


@login_manager.user_loader
def load_user(user_id: str):
    """The session's user, while active and while the session's generation is current."""
    try:
        user = User.get_or_none(User.id == int(user_id), User.active == True)  # noqa: E712
    except (TypeError, ValueError, OverflowError):
        return None
    if user is None or session.get(SESSION_GENERATION) != user.session_generation:
        # Logged out elsewhere, new password, new role or deactivated: this session is over.
        session.clear()
        return None
    return user


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("用户名"),
                           validators=[DataRequired(lazy_gettext("请输入用户名")), Length(max=32),
                                       PlainText()])
    password = PasswordField(lazy_gettext("密码"),
                             validators=[DataRequired(lazy_gettext("请输入密码")),
                                         Length(max=128)])


def _safe_next(target: str | None) -> str:
    """Only follow a same-site relative path after login (no open redirect)."""
    return safe_return_url(target) or url_for("admin.index")


def _known_id(name: str) -> int | None:
    """The account a failed login named, if it exists: its estate's supervisors see the attempt
    in the audit log (#11 item 7). The page answers the same either way."""
    return User.select(User.id).where(User.username == name).scalar()


def _failed(name: str, addr: str, summary: str) -> None:
    """Record and audit a failed login: the name tried and the address, never the password."""
    with db.atomic():
        LoginAttempt.record(name, addr, False)
        audit(None, "login_failed", table="app_user", row_id=_known_id(name),
              changes={"username": name, "remote_addr": addr}, summary=summary)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in to the office's admin panel."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        cfg = current_app.config
        name = form.username.data.strip()
        addr = request.remote_addr or "-"
        locked = (
            LoginAttempt.name_locked(name, max_failures=cfg["LOGIN_MAX_FAILURES"],
                                     window_minutes=cfg["LOGIN_LOCK_MINUTES"])
            or LoginAttempt.address_locked(addr,
                                           max_failures=cfg["LOGIN_ADDRESS_MAX_FAILURES"],
                                           window_minutes=cfg["LOGIN_ADDRESS_LOCK_MINUTES"]))
        if locked:
            # Not recorded as a failure: the lock must not extend itself while it holds.
            audit(None, "login_failed", table="app_user", row_id=_known_id(name),
                  changes={"username": name, "remote_addr": addr, "locked": True},
                  summary=f"登录被拒（锁定中）：{name[:32]} 来自 {addr}")
            flash(gettext(LOCKED).format(minutes=cfg["LOGIN_LOCK_MINUTES"]), "error")
            status = 429
        else:
            user = User.authenticate(name, form.password.data)
            if user is not None:
                LoginAttempt.record(name, addr, True)
                login_user(user)
                session[SESSION_GENERATION] = user.session_generation
                User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
                audit(user, "login", table="app_user", row_id=user.id, summary="登录")
                # #16: department staff on a phone land on 我的工单 (unless sent elsewhere).
                target = request.args.get("next")
                phone = None if target else landing_for(user, request.user_agent.string)
                return redirect(phone or _safe_next(target))
            _failed(name, addr, f"登录失败：{name[:32]} 来自 {addr}")
            flash(gettext(BAD_LOGIN), "error")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST, CSRF-protected, so no link can log a clerk out)."""
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        with db.atomic():
            # Logout ends every session of this user, including a copied cookie.
            User.end_sessions(user.id)
            audit(user, "logout", table="app_user", row_id=user.id, summary="退出")
        logout_user()
        session.clear()
    flash(gettext("已安全退出。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root():
    return redirect(url_for("admin.index"))


@bp.route("/lang", methods=["POST"])
def set_language():
    """Switch the interface language (中文 / English) for this browser session."""
    lang = request.form.get("lang", "")
    session["lang"] = lang if lang in LANGUAGES else LANGUAGES[0]
    return redirect(_safe_next(request.form.get("next")))
