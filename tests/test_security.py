"""Who may see and do what: anonymous users, roles × views × actions, CSRF, headers (#2)."""

from __future__ import annotations

import csv as csvlib
import io

import pytest
from conftest import csrf_token, login

from models.org import Resident, Unit
from models.register import AuditLog

REGISTER_VIEWS = ["resident", "unit", "building", "cluster", "department", "estate", "branch",
                  "user", "audit"]


def csv_rows(response) -> list[list[str]]:
    return list(csvlib.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def admin_urls(app) -> list[str]:
    """Every URL of the admin panel, with a plausible id where one is needed."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "static" in rule.endpoint:
            continue
        url = rule.rule.replace("<export_type>", "csv")
        if "<" in url:
            continue
        urls.append(url)
    return sorted(set(urls))


def test_anonymous_crawl_never_succeeds(app, estate):
    client = app.test_client()
    urls = admin_urls(app)
    assert len(urls) > 50
    for url in urls:
        for query in ("", "?id=1"):
            response = client.get(url + query)
            assert response.status_code in (302, 401, 403, 404, 405), (url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
            post = client.post(url + query, data={"name": "x"})
            assert post.status_code not in range(200, 300), url
    assert client.get("/admin/").status_code == 302


# (role, view, action) → allowed?  Anything not listed for a role is forbidden.
MATRIX = {
    "clerk": {"resident": {"list", "create", "edit"}, "unit": {"list"}},
    "viewer": {"resident": {"list", "export"}, "unit": {"list", "export"}},
    "dept": {"resident": {"list"}, "unit": {"list"}},
    "supervisor": {"resident": {"list", "create", "edit", "void", "export"},
                   "unit": {"list", "create", "edit", "void", "export"}},
}


def _action_request(client, view: str, action: str, row_id: int):
    base = f"/admin/{view}"
    if action == "list":
        return client.get(f"{base}/"), None
    if action == "create":
        return client.get(f"{base}/new/"), f"{base}/new/"
    if action == "edit":
        return client.get(f"{base}/edit/?id={row_id}"), f"{base}/edit/?id={row_id}"
    if action == "void":
        return client.get(f"{base}/void/?id={row_id}"), f"{base}/void/?id={row_id}"
    if action == "export":
        return client.get(f"{base}/export/csv/"), None
    raise AssertionError(action)


@pytest.mark.parametrize("role", sorted(MATRIX))
@pytest.mark.parametrize("view", ["resident", "unit"])
@pytest.mark.parametrize("action", ["list", "create", "edit", "void", "export"])
def test_role_matrix(login_as, conn, role, view, action):
    client = login_as(role)
    allowed = action in MATRIX[role].get(view, set())
    model = {"resident": Resident, "unit": Unit}[view]
    row = model.select().first()
    before = (model.select().count(), AuditLog.select().where(AuditLog.action != "login").count())
    response, post_url = _action_request(client, view, action, row.id)
    if allowed:
        assert response.status_code == 200, (role, view, action)
        return
    assert response.status_code == 403, (role, view, action, response.status_code)
    if post_url:
        token = csrf_token(client, "/admin/")
        post = client.post(post_url, data={"csrf_token": token, "name": "越权", "room": "999",
                                           "code": "9-9-999", "reason": "越权"})
        assert post.status_code == 403
    after = (model.select().count(), AuditLog.select().where(AuditLog.action != "login").count())
    assert before == after
    assert model.get_by_id(row.id).version == row.version


@pytest.mark.parametrize("role", ["clerk", "dept", "viewer", "supervisor", "director"])
def test_system_views_are_admin_only(login_as, role):
    client = login_as(role)
    assert client.get("/admin/user/").status_code == 403
    assert client.get("/admin/user/new/").status_code == 403


def test_audit_log_for_supervisors_and_above(login_as):
    assert login_as("supervisor").get("/admin/audit/").status_code == 200
    assert login_as("clerk", "clerk2").get("/admin/audit/").status_code == 403


def test_create_without_csrf_token_is_rejected(login_as, conn):
    client = login_as("clerk")
    unit = Unit.select().first()
    before = Resident.select().count()
    response = client.post("/admin/resident/new/", data={
        "estate": unit.estate_id, "unit": unit.id, "name": "无令牌", "kind": "owner",
        "doc_type": "resident_id"})
    assert response.status_code == 400
    assert Resident.select().count() == before


def test_logout_needs_post_with_token(login_as):
    client = login_as("clerk")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/admin/").status_code == 200
    token = csrf_token(client, "/admin/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_admin_pages_are_not_cached_and_cookie_is_guarded(app, make_user, estate):
    make_user("clerk", "clerk", estate)
    client = app.test_client()
    response = login(client, "clerk")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/admin/resident/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_user_text_is_escaped_everywhere(login_as, conn):
    client = login_as("supervisor")
    unit = Unit.select().first()
    resident = Resident.create(estate=unit.estate_id, unit=unit, name="张三",
                               notes=XSS, phone="13800138000")
    Resident.update(name=XSS[:32]).where(Resident.id == resident.id).execute()
    for url in ("/admin/resident/", f"/admin/resident/details/?id={resident.id}",
                f"/admin/resident/edit/?id={resident.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;" in html, url
    csv = client.get("/admin/resident/export/csv/")
    assert csv.mimetype == "text/csv"  # data for a spreadsheet, never rendered as HTML
    cells = [cell for row in csv_rows(csv) for cell in row]
    assert XSS[:32] in cells


def test_export_neutralises_formulas_masks_ids_and_is_audited(login_as, conn):
    client = login_as("supervisor")
    unit = Unit.select().first()
    Resident.create(estate=unit.estate_id, unit=unit, name="=HYPERLINK(\"http://x\")",
                    phone="13800138000", id_number="11010519491231002X")
    before = AuditLog.select().where(AuditLog.action == "export").count()
    csv = client.get("/admin/resident/export/csv/").get_data(as_text=True)
    assert "'=HYPERLINK" in csv
    assert "11010519491231002X" not in csv and "110105********002X" in csv
    assert "证件号码" in csv.splitlines()[0]  # Chinese headers
    xlsx = client.get("/admin/resident/export/xlsx/")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert AuditLog.select().where(AuditLog.action == "export").count() == before + 2


def test_export_follows_the_search_on_screen(login_as, conn):
    client = login_as("supervisor")
    csv = client.get("/admin/resident/export/csv/?search=业主101").get_data(as_text=True)
    assert "业主101" in csv and "业主102" not in csv


def test_rows_of_other_estates_are_invisible(login_as, other_estate, conn):
    client = login_as("supervisor")
    html = client.get("/admin/resident/").get_data(as_text=True)
    assert "外区住户" not in html and "业主101" in html
    foreign = Resident.get(Resident.name == "外区住户")
    assert client.get(f"/admin/resident/details/?id={foreign.id}").status_code in (302, 404)
    assert client.get(f"/admin/resident/edit/?id={foreign.id}").status_code in (302, 404)
    units = client.get("/admin/resident/ajax/lookup/?name=unit&query=9-1").get_json()
    assert units == []
    own = client.get("/admin/resident/ajax/lookup/?name=unit&query=1-1").get_json()
    assert len(own) == 3


def test_error_pages_are_chinese(app, login_as):
    client = login_as("clerk")
    missing = client.get("/admin/resident/details/?id=999999")
    assert missing.status_code in (302, 404)
    forbidden = client.get("/admin/user/")
    assert forbidden.status_code == 403 and "没有权限" in forbidden.get_data(as_text=True)
    assert "找不到页面" in client.get("/no-such-page").get_data(as_text=True)
    big = client.post("/admin/resident/new/", data=b"x" * (17 * 1024 * 1024),
                      content_type="application/octet-stream")
    assert big.status_code == 413 and "文件过大" in big.get_data(as_text=True)
