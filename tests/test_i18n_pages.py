"""The English switch beyond /admin (#12 item 2): the field staff's phone pages (/m/), the
owners' H5 (/h5/) and what a refused row-action form says.

As tests/test_i18n.py does for the admin pages: the demo estate with every stored text made
ASCII, the session switched to English, and no Chinese character may be left on a page outside
what users typed (form values) and the language switch's own 中文.
"""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from conftest import csrf_token, login
from test_action_rounds import _candidates, _form_fields
from test_i18n import CJK_CHAR as CJK
from test_i18n import ascii_user_data, chinese_left
from test_records import form_data
from test_role_matrix import FILLS, ROLES, _expected, _form_values, _register_views, _target

import views
from demo import DEMO_PASSWORD
from demo import seed as seed_demo
from models.base import utcnow
from models.org import Resident
from models.users import User
from models.work_orders import WorkOrder


@pytest.fixture
def demo(app, conn):
    """The demo estate, its stored texts made ASCII."""
    with app.app_context():
        seed_demo(units=30, seed=7)
        ascii_user_data()
    return app


def english(client, page: str) -> None:
    token = csrf_token(client, page)
    client.post("/lang", data={"lang": "en", "next": page, "csrf_token": token})


def assert_english(pages: dict[str, str]) -> None:
    left = {url: chinese_left(html)[:3] for url, html in pages.items() if chinese_left(html)}
    assert left == {}, "\n".join(f"{url}: {snippets}" for url, snippets in left.items())


def script_texts(html: str) -> dict:
    """What the page's script will say (its data-texts, JSON with non-ASCII escaped)."""
    found = re.search(r"data-texts='([^']*)'", html)
    return json.loads(unescape(found.group(1))) if found else {}


def crawl(client, start: str, follow: str) -> dict[str, str]:
    """`start` and every page it links to under `follow`, as GET pages (status 200)."""
    pages, queue = {}, [start]
    while queue and len(pages) < 40:
        url = queue.pop(0)
        if url in pages:
            continue
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.get_data(as_text=True)
        pages[url] = html
        for link in re.findall(rf'href="({re.escape(follow)}[^"#?]*)"', html):
            if link not in pages and not re.search(r"/(photos|file|thumb)\b", link):
                queue.append(link)
    return pages


# -- the phone pages of the field staff ------------------------------------------------------


def test_the_phone_pages_switch_to_english(demo):
    """Each department's staff (and the 工程主管 with 改派) see the pages in English."""
    for username in ("engineer", "enghead", "security", "cleaning"):
        phone_pages_in_english(demo, username)


def phone_pages_in_english(demo, username):
    client = demo.test_client()
    assert login(client, username, DEMO_PASSWORD).status_code == 302
    page = client.get("/m/").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and 'name="lang" value="en"' in page  # the switch is there
    english(client, "/m/")
    pages = crawl(client, "/m/", "/m/")
    assert all('<html lang="en">' in html for html in pages.values())
    said = script_texts(pages["/m/"])  # field.js's status lines while it saves
    assert said["saving"] == "Saving…" and not CJK.search(json.dumps(said, ensure_ascii=False))
    # What a refused completion says, beside its fields.
    order = (WorkOrder.select().where(WorkOrder.state.in_(("open", "arrived")),
                                      WorkOrder.department_kind == User.get(
                                          User.username == username).department)
             .order_by(WorkOrder.id).first())
    if order is not None:
        url = f"/m/order/{order.id}/complete"
        token = csrf_token(client, f"/m/order/{order.id}")
        refused = client.post(url, data={"csrf_token": token, "key": "k1", "result": "",
                                         "cost": "-5", "materials": "x"})
        assert refused.status_code == 400
        pages[url] = refused.get_data(as_text=True)
        assert "Please" in pages[url] or "please" in pages[url], pages[url]
    for url, html in crawl(client, "/m/patrols/", "/m/patrols/").items():
        pages[url] = html
        if url != "/m/patrols/":
            refused = client.post(url, data={"csrf_token": csrf_token(client, url),
                                             "key": "k2", "findings": "",
                                             "follow_up": "deduct", "deduction_amount": "-1",
                                             "rectify_by": "someday"})
            pages[f"{url} (refused)"] = refused.get_data(as_text=True)
    assert len(pages) >= 2
    assert_english(pages)


# -- the owners' H5 --------------------------------------------------------------------------


def owner_client(app, phone: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["h5_owner"] = {"phone": phone, "since": utcnow().isoformat()}
    return client


def test_the_owners_h5_switches_to_english(demo):
    resident = (Resident.select().where(Resident.phone != "", Resident.kind == "owner")
                .order_by(Resident.id).first())
    client = owner_client(demo, resident.phone)
    assert 'name="lang" value="en"' in client.get("/h5/").get_data(as_text=True)
    english(client, "/h5/")
    pages = crawl(client, "/h5/", "/h5/")
    assert {"/h5/", "/h5/new", "/h5/demands", "/h5/guide", "/h5/notices"} <= set(pages)
    assert all('<html lang="en">' in html for html in pages.values())
    said = script_texts(pages["/h5/new"])  # h5.js's note on the photos
    assert said["photo"] == "Photo {n}" and not CJK.search(json.dumps(said, ensure_ascii=False))
    token = csrf_token(client, "/h5/new")
    refused = client.post("/h5/new", data={"csrf_token": token, "unit": "", "kind": "",
                                           "category": "", "description": "",
                                           "requested": "tomorrow"})
    pages["/h5/new (refused)"] = refused.get_data(as_text=True)
    stranger = demo.test_client()
    english(stranger, "/h5/login")
    pages["/h5/login"] = stranger.get("/h5/login").get_data(as_text=True)
    refused = stranger.post("/h5/login", data={"csrf_token": csrf_token(stranger, "/h5/login"),
                                               "phone": "12"})
    pages["/h5/login (refused)"] = refused.get_data(as_text=True)
    assert_english(pages)


# -- what a refused row-action form says -----------------------------------------------------


def _action_cases():
    assert views
    for cls in sorted(_register_views(), key=lambda c: c.__name__):
        for action in cls.row_actions:
            if not action.target and action.form is not None:
                yield cls, action


def test_refused_action_forms_speak_english(demo):
    """Every declared row action's form, everything wrong at once, under the English switch:
    the form's own messages and the rules' messages beside the fields are all English."""
    admin = demo.extensions["admin"][0]
    clients, pages = {}, {}
    for cls, action in _action_cases():
        view = next(v for v in admin._views if type(v) is cls)
        for role in ROLES:
            user = User.get(User.username == role)
            row = _target(view, action, user)
            if row is not None and _expected(demo, view, action, user, row):
                break
        else:
            continue
        if role not in clients:
            clients[role] = demo.test_client()
            assert login(clients[role], role, DEMO_PASSWORD).status_code == 302
            english(clients[role], "/admin/")
        client = clients[role]
        url = f"/admin/{view.endpoint}/{action.url or action.name}/?id={row.id}"
        data = _form_values(client.get(url).get_data(as_text=True))
        fill = FILLS.get((view.endpoint, action.name))
        data.update(fill(row) if fill else {})
        for field in _form_fields(demo, action, row):
            data[field.name] = "" if field.flags.required else _candidates(field)[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                          client.get(url).get_data(as_text=True)).group(1)
        response = client.post(url, data={**data, "csrf_token": token})
        if response.status_code == 200:
            pages[url] = response.get_data(as_text=True)
    assert len(pages) > 30
    assert_english(pages)


# -- what a refused create form says ---------------------------------------------------------


def test_refused_create_forms_speak_english(demo):
    """Every register's create form, empty and then with every field wrong, as the admin
    under the English switch: WTForms', the validators' and the rules' messages in English."""
    client = demo.test_client()
    assert login(client, "admin", DEMO_PASSWORD).status_code == 302
    english(client, "/admin/")
    admin = demo.extensions["admin"][0]
    pages = {}
    for view in admin._views:
        if "admin" not in getattr(view, "permissions", {}).get("create", ()):
            continue
        url = f"{view.url}/new/"
        page = client.get(url)
        if page.status_code != 200:
            continue
        data = form_data(client, url)
        token = data.pop("csrf_token")
        for name, values in (("empty", {}), ("wrong", {k: "-1x\x0b" for k in data})):
            response = client.post(url, data={**values, "csrf_token": token})
            assert response.status_code == 200, (url, name, response.status_code)
            pages[f"{url} ({name})"] = response.get_data(as_text=True)
    assert len(pages) > 40
    assert_english(pages)
