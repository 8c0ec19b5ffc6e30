"""Login, throttling and the operator's user commands (#2)."""

from __future__ import annotations

from conftest import PASSWORD, login

from models.register import AuditLog
from models.users import LoginAttempt, User


def test_login_and_the_same_message_for_every_failure(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    client = app.test_client()
    wrong = login(client, "clerk", "wrong-password")
    unknown = login(client, "nobody", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)
    ok = login(client, "clerk")
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/admin/")
    assert AuditLog.select().where(AuditLog.action == "login").count() == 1


def test_login_is_throttled_after_repeated_failures(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    client = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "clerk", "guess").status_code == 401
    locked = login(client, "clerk")  # even the right password is refused while locked
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    # Unknown names are throttled the same way, so the lock reveals nothing.
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "ghost", "guess")
    assert login(client, "ghost", "guess").status_code == 429


def test_lock_expires(app, conn, make_user, estate):
    import datetime as dt

    from models.base import utcnow
    make_user("clerk", "clerk", estate)
    long_ago = utcnow() - dt.timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    for _ in range(10):
        LoginAttempt.create(username="clerk", remote_addr="127.0.0.1", succeeded=False,
                            created_at=long_ago)
    assert login(app.test_client(), "clerk").status_code == 302


def test_inactive_user_cannot_log_in(app, conn, make_user, estate):
    user = make_user("gone", "clerk", estate)
    User.update(active=False).where(User.id == user.id).execute()
    assert login(app.test_client(), "gone").status_code == 401


def test_open_redirect_after_login_is_refused(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    client = app.test_client()
    from conftest import csrf_token
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/admin/")


def test_users_create_and_set_password_commands(app, conn, estate):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "lihua", "--role", "clerk", "--estate", "TEST",
                                 "--name", "李华", "--password-stdin"], input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    user = User.get(User.username == "lihua")
    assert user.role == "clerk" and [e.code for e in user.estates()] == ["TEST"]
    assert user.password_hash.startswith("scrypt:") and user.check_password("s3cret-pass")
    assert login(app.test_client(), "lihua", "s3cret-pass").status_code == 302

    changed = runner.invoke(args=["users", "set-password", "lihua", "--password-stdin"],
                            input="another-pass\n")
    assert changed.exit_code == 0, changed.output
    assert User.get(User.username == "lihua").check_password("another-pass")
    assert AuditLog.select().where(AuditLog.action == "password").count() == 1


def test_users_create_refuses_bad_input_in_chinese(app, conn, estate):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "create", "a", "--role", "clerk", "--estate", "TEST",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "密码至少 8 位" in short.output
    no_estate = runner.invoke(args=["users", "create", "b", "--role", "clerk",
                                    "--password-stdin"], input="longenough\n")
    assert no_estate.exit_code != 0 and "至少属于一个小区" in no_estate.output
    bad_estate = runner.invoke(args=["users", "create", "c", "--role", "clerk", "--estate", "NOPE",
                                     "--password-stdin"], input="longenough\n")
    assert "没有代码为 NOPE 的小区" in bad_estate.output
    dept = runner.invoke(args=["users", "create", "d", "--role", "dept", "--estate", "TEST",
                               "--password-stdin"], input="longenough\n")
    assert "部门人员必须选择所属部门" in dept.output
    assert User.select().count() == 0


def test_language_switch_to_english_and_back(login_as):
    from conftest import csrf_token
    client = login_as("clerk")
    assert "列表" in client.get("/admin/resident/").get_data(as_text=True)
    token = csrf_token(client, "/admin/")
    client.post("/lang", data={"lang": "en", "next": "/admin/resident/", "csrf_token": token})
    english = client.get("/admin/resident/").get_data(as_text=True)
    assert ">List" in english and "列表" not in english
    client.post("/lang", data={"lang": "zh_Hans_CN", "csrf_token": token})
    assert "列表" in client.get("/admin/resident/").get_data(as_text=True)


def test_admin_creates_a_user_with_estates_through_the_form(login_as, conn, other_estate):
    from test_records import form_data
    admin = login_as("admin")
    data = form_data(admin, "/admin/user/new/")
    data.update({"username": "wangwu", "display_name": "王五", "role": "clerk",
                 "new_password": "desk-pass-1", "estate_ids": [str(other_estate.id)]})
    response = admin.post("/admin/user/new/", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    user = User.get(User.username == "wangwu")
    assert [e.code for e in user.estates()] == ["OTHER"] and user.check_password("desk-pass-1")
    assert AuditLog.select().where(AuditLog.action == "create", AuditLog.table == "app_user",
                                   AuditLog.row_id == user.id).exists()
    audit_row = AuditLog.get(AuditLog.table == "app_user", AuditLog.row_id == user.id)
    assert "scrypt" not in audit_row.changes  # the hash never reaches the log
    data = form_data(admin, "/admin/user/new/")
    data.update({"username": "nopass", "display_name": "无密码", "role": "clerk",
                 "new_password": "", "estate_ids": [str(other_estate.id)]})
    page = admin.post("/admin/user/new/", data=data).get_data(as_text=True)
    assert "新建用户必须设置密码" in page
    data.update({"new_password": "desk-pass-1"})
    data.pop("estate_ids")
    page = admin.post("/admin/user/new/", data=data).get_data(as_text=True)
    assert "至少属于一个小区" in page
    assert not User.select().where(User.username == "nopass").exists()


def test_production_hashes_with_the_full_scrypt_work_factor(template_db, tmp_path):
    """The suite's cheaper scrypt (conftest: PASSWORD_HASH_METHOD) is for test apps only: an
    app built without it hashes passwords, PINs and the unknown-name dummy with werkzeug's
    scrypt:32768:8:1, and a production config (TESTING off) cannot choose a weaker one."""
    import pytest
    from werkzeug.security import check_password_hash

    import models.users
    from app import create_app

    url = template_db if isinstance(template_db, str) else f"sqlite:///{tmp_path / 'p.db'}"
    production = {"SECRET_KEY": "production-secret", "DATABASE_URL": url}
    create_app(production)
    try:
        assert models.users.password_method() == "scrypt"
        user = User(username="prod", display_name="prod", role="clerk")
        user.set_password("strong-pass-1")
        user.set_pin("123456")
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.approval_pin_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password("strong-pass-1") and user.check_pin("123456")
        dummy = models.users._dummy_hash(models.users.password_method())
        assert dummy.startswith("scrypt:32768:8:1$")
        assert not check_password_hash(dummy, "strong-pass-1")
        for weaker in ("scrypt:1024:8:1", "pbkdf2:sha256:1", "plain"):
            with pytest.raises(ValueError, match="仅供测试"):
                create_app({**production, "PASSWORD_HASH_METHOD": weaker})
    finally:
        if not models.db.is_closed():
            models.db.close()
