"""Login and logout: throttled, one message for every failure, logout by POST only."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models.base import utcnow
from models.register import audit
from models.users import LoginAttempt, User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "info"
# A stolen cookie used from another browser/address ends the session.
login_manager.session_protection = "strong"

BAD_LOGIN = "用户名或密码错误。"
LOCKED = "登录失败次数过多，请 {minutes} 分钟后再试，或联系系统管理员。"


@login_manager.user_loader
def load_user(user_id: str):
    try:
        return User.get_or_none(User.id == int(user_id), User.active == True)  # noqa: E712
    except ValueError:
        return None


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=32)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


def _safe_next(target: str | None) -> str:
    """Only follow a local path after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.index")


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
        if LoginAttempt.is_locked(name, addr, max_failures=cfg["LOGIN_MAX_FAILURES"],
                                  window_minutes=cfg["LOGIN_LOCK_MINUTES"]):
            flash(LOCKED.format(minutes=cfg["LOGIN_LOCK_MINUTES"]), "error")
            status = 429
        else:
            user = User.get_or_none(User.username == name)
            ok = user is not None and user.is_active and user.check_password(form.password.data)
            LoginAttempt.record(name, addr, ok)
            if ok:
                login_user(user)
                User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
                audit(user, "login", table="app_user", row_id=user.id, summary="登录")
                return redirect(_safe_next(request.args.get("next")))
            flash(BAD_LOGIN, "error")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST, CSRF-protected, so no link can log a clerk out)."""
    if current_user.is_authenticated:
        audit(current_user._get_current_object(), "logout", table="app_user",
              row_id=current_user.id, summary="退出")
        logout_user()
    flash("已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root():
    return redirect(url_for("admin.index"))


@bp.route("/lang", methods=["POST"])
def set_language():
    """Switch the interface language (中文 / English) for this browser session."""
    from flask import session

    lang = request.form.get("lang", "zh_Hans_CN")
    session["lang"] = lang if lang in ("zh_Hans_CN", "en") else "zh_Hans_CN"
    return redirect(_safe_next(request.form.get("next")))
