"""Login and session hardening, each attack replayed through the real stack (#13 item 5)."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote, urlsplit

import pytest
from conftest import PASSWORD, csrf_token, login
from test_records import form_data

import models.users
from models.register import AuditLog
from models.users import LoginAttempt, User


def _client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_made_up_names_from_one_address_never_lock_the_accounts(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    attacker = _client_from(app, "203.0.113.7")
    for number in range(20):
        assert login(attacker, f"made-up-{number}", "guess").status_code == 401
    # The reproduced attack locked every account, correct passwords included: no more.
    assert login(_client_from(app, "192.0.2.10"), "clerk").status_code == 302
    assert login(_client_from(app, "203.0.113.7"), "clerk").status_code == 302


def test_a_throttled_address_is_refused_with_the_same_message(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 20
    attacker = _client_from(app, "203.0.113.7")
    for number in range(20):
        login(attacker, f"made-up-{number}", "guess")
    refused = login(_client_from(app, "203.0.113.7"), "clerk")
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.get_data(as_text=True)
    # The office's own machine is another address: the clerk still logs in there.
    assert login(_client_from(app, "192.0.2.10"), "clerk").status_code == 302


def test_the_per_name_lock_holds_across_addresses(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    make_user("other", "clerk", estate)
    for number in range(app.config["LOGIN_MAX_FAILURES"]):
        login(_client_from(app, f"198.51.100.{number}"), "clerk", "guess")
    assert login(_client_from(app, "192.0.2.10"), "clerk").status_code == 429
    assert login(_client_from(app, "192.0.2.10"), "other").status_code == 302


def _copied_session(app, client):
    """A second browser holding a copy of the client's session cookie (a stolen cookie)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _still_logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_an_old_session_cookie_dies_at_logout(app, login_as):
    clerk = login_as("clerk")
    copy = _copied_session(app, clerk)
    assert _still_logged_in(copy)
    clerk.post("/logout", data={"csrf_token": csrf_token(clerk, "/admin/")})
    assert not _still_logged_in(copy)
    assert not _still_logged_in(clerk)


def test_a_password_change_on_the_command_line_ends_every_session(app, login_as):
    clerk = login_as("clerk")
    result = app.test_cli_runner().invoke(args=["users", "set-password", "clerk",
                                                "--password-stdin"], input="a-new-pass-1\n")
    assert result.exit_code == 0, result.output
    assert not _still_logged_in(clerk)
    assert login(app.test_client(), "clerk", "a-new-pass-1").status_code == 302


@pytest.mark.parametrize("change", ["password", "deactivate", "role"])
def test_admin_form_changes_end_the_users_sessions(app, login_as, conn, change):
    clerk = login_as("clerk")
    other = login_as("supervisor")
    admin = login_as("admin")
    url = f"/admin/user/edit/?id={clerk.user.id}"
    data = form_data(admin, url)
    data["estate_ids"] = [str(link.estate_id) for link in clerk.user.estate_links]
    data.pop("active", None)
    if change == "password":
        data["new_password"] = "brand-new-pass"
    if change != "deactivate":
        data["active"] = "y"
    if change == "role":
        data["role"] = "viewer"
    response = admin.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert not _still_logged_in(clerk)
    assert _still_logged_in(other)  # only the changed user's sessions end
    assert User.get_by_id(clerk.user.id).session_generation == 1


def test_an_unrelated_edit_keeps_the_session(app, login_as):
    clerk = login_as("clerk")
    admin = login_as("admin")
    url = f"/admin/user/edit/?id={clerk.user.id}"
    data = form_data(admin, url)
    data["estate_ids"] = [str(link.estate_id) for link in clerk.user.estate_links]
    data["active"] = "y"
    data["display_name"] = "新名字"
    assert admin.post(url, data=data).status_code == 302
    assert _still_logged_in(clerk)


def test_unknown_and_inactive_names_cost_one_scrypt_like_real_ones(app, make_user, estate,
                                                                    monkeypatch):
    real = make_user("clerk", "clerk", estate)
    gone = make_user("gone", "clerk", estate)
    User.update(active=False).where(User.id == gone.id).execute()
    calls = []
    original = models.users.check_password_hash

    def counting(stored, password):
        calls.append(stored.split("$")[0])
        return original(stored, password)

    monkeypatch.setattr(models.users, "check_password_hash", counting)
    for name in ("clerk", "nobody-here", "gone"):
        calls.clear()
        assert login(app.test_client(), name, "wrong-password").status_code == 401
        # One verification on every path, with the same scrypt parameters as a real hash.
        assert calls == [real.password_hash.split("$")[0]], name


HOSTILE_TARGETS = [
    "/%09/evil.example", "//evil.example", "///evil.example", "https://evil.example/x",
    "http://localhost/admin/", "\\\\evil.example", "/\\evil.example", "javascript:alert(1)",
    "/%0a/evil.example",
]


def _leaves_site(link: str) -> bool:
    link = html_lib.unescape(link)
    return "evil" in link.split("?")[0] or link.startswith(("//", "http", "javascript:alert"))


def _raw_query(target: str) -> str:
    # "%09" stays a percent escape in the URL (the reproduced attack); the rest is quoted.
    return target if target.startswith("/%") else quote(target, safe="")


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_login_never_redirects_off_site(app, make_user, estate, target):
    make_user("clerk", "clerk", estate)
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(f"/login?next={_raw_query(target)}",
                           data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/admin/"
    assert "evil" not in response.headers["Location"]
    again = client.get(f"/login?next={_raw_query(target)}")
    assert urlsplit(again.headers["Location"]).path == "/admin/"


def test_a_same_site_path_is_followed_after_login(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login?next=" + quote("/admin/resident/?page=1", safe=""),
                           data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/admin/resident/?page=1")


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_admin_return_urls_stay_on_site(login_as, conn, estate, target):
    from models.org import Cluster

    supervisor = login_as("supervisor")
    cluster = Cluster.get(Cluster.estate == estate)
    query = _raw_query(target)
    for page in (f"/admin/cluster/void/?id={cluster.id}&url={query}",
                 f"/admin/cluster/edit/?id={cluster.id}&url={query}",
                 f"/admin/cluster/details/?id={cluster.id}&url={query}",
                 f"/admin/cluster/new/?url={query}"):
        html = supervisor.get(page).get_data(as_text=True)
        # Every link the page offers (cancel, back, list) stays on this site.
        links = re.findall(r'(?:href|action|formaction)="([^"]*)"', html)
        assert links and not any(_leaves_site(link) for link in links), page
    data = form_data(supervisor, "/admin/cluster/new/")
    data.update({"name": "新组团", "sort_order": "3"})
    created = supervisor.post(f"/admin/cluster/new/?url={query}", data=data)
    assert created.status_code == 302
    assert urlsplit(created.headers["Location"]).path == "/admin/cluster/"
    token = csrf_token(supervisor, f"/admin/cluster/void/?id={cluster.id}")
    voided = supervisor.post(f"/admin/cluster/void/?id={cluster.id}&url={query}",
                             data={"reason": "测试", "csrf_token": token})
    assert voided.status_code == 302
    assert urlsplit(voided.headers["Location"]).path == "/admin/cluster/"


def test_failed_logins_are_audited_without_the_password(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    client = _client_from(app, "198.51.100.23")
    login(client, "clerk", "Secret-Guess-1")
    login(client, "no-such-user", "Secret-Guess-2")
    rows = list(AuditLog.select().where(AuditLog.action == "login_failed")
                .order_by(AuditLog.id))
    assert [r.changes_dict["username"] for r in rows] == ["clerk", "no-such-user"]
    assert {r.changes_dict["remote_addr"] for r in rows} == {"198.51.100.23"}
    assert all(r.created_at is not None for r in rows)
    stored = " ".join(f"{r.changes} {r.summary}" for r in AuditLog.select())
    stored += " ".join(a.username for a in LoginAttempt.select())
    assert "Secret-Guess" not in stored


def test_secure_cookies_are_a_setting(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    def session_cookie(response) -> str:
        return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))

    plain = login(app.test_client(), "clerk")
    assert "Secure" not in session_cookie(plain)  # the plain-HTTP `make run` still works
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "; Secure" in session_cookie(login(app.test_client(), "clerk"))
