"""The phone page for department staff (#16): 我的工单, 到场/完工 with photos and a signature,
once per submission, only the department's own orders (R-REC-4, R-DEM-8)."""

from __future__ import annotations

import datetime as dt
import re

from attachment_support import EXE, new_order, page_key, photo, png, post_files
from conftest import PASSWORD, csrf_token

from models.attachments import Attachment
from models.base import utcnow
from models.demands import Demand
from models.field import FieldVisit
from models.work_orders import WorkOrder

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40")
JSON = {"Accept": "application/json"}


def complete(client, order, *, key=None, result="更换水管接头，已试水", files=None, **extra):
    html = client.get(f"/m/order/{order.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, f"/m/order/{order.id}"),
            "key": key or page_key(html), "result": result, "materials": "接头 1 个",
            "cost": "35.50", **extra}
    for name, items in (files or {}).items():
        data[name] = [(content, filename) for filename, content in items]
    return post_files(client, f"/m/order/{order.id}/complete", data, headers=JSON)


def test_department_staff_on_a_phone_land_on_my_orders(app, make_user, estate):
    make_user("engineer", "dept", estate, department="engineering")
    phone, desk = app.test_client(), app.test_client()
    for client, agent, landing in ((phone, PHONE, "/m/"), (desk, "Mozilla/5.0 (X11; Linux)",
                                                           "/admin/")):
        token = csrf_token(client)
        response = client.post("/login", data={"username": "engineer", "password": PASSWORD,
                                               "csrf_token": token},
                               headers={"User-Agent": agent})
        assert response.status_code == 302 and response.location.endswith(landing)
    # Anyone with access can open it from any browser.
    assert desk.get("/m/", headers={"User-Agent": "Mozilla/5.0 (X11; Linux)"}).status_code == 200
    assert app.test_client().get("/m/").status_code == 302  # not logged in: to the login


def test_my_orders_are_the_departments_open_ones_most_urgent_first(login_as, estate, conn):
    engineer = login_as("dept", "engineer", department="engineering")
    clerk = login_as("clerk")
    late = new_order(clerk.user, estate, description="楼道灯不亮")
    Demand.update(reply_due=utcnow() - dt.timedelta(hours=1)).where(
        Demand.id == late.demand_id).execute()
    later = new_order(clerk.user, estate, description="门铃坏了")
    security = new_order(clerk.user, estate, kind="security", description="车库门禁")
    done = new_order(clerk.user, estate, description="已修好的")
    done.complete(clerk.user, result="好了")

    html = engineer.get("/m/").get_data(as_text=True)
    assert "<title>我的工单（2）" in html
    assert html.index(late.number) < html.index(later.number)  # the overdue one first
    assert security.number not in html and done.number not in html
    assert "超时" in html.split(later.number)[0]
    assert 'href="tel:13800138000"' in html and "业主101" in html
    assert "badge-new" not in html  # the first look marks nothing new

    fresh = new_order(clerk.user, estate, description="新派的单")
    WorkOrder.update(dispatched_at=utcnow() + dt.timedelta(seconds=5)).where(
        WorkOrder.id == fresh.id).execute()
    html = engineer.get("/m/").get_data(as_text=True)
    new_part = html.split(fresh.number)[0].rsplit("<li", 1)[1]
    assert "badge-new" in new_part and FieldVisit.select().count() == 1


def test_arrive_and_complete_with_photos_and_signature_saved_once(login_as, estate, conn):
    engineer = login_as("dept", "engineer", department="engineering")
    order = new_order(engineer.user, estate)
    html = engineer.get(f"/m/order/{order.id}").get_data(as_text=True)
    assert "厨房水管漏水" in html and 'href="tel:13800138000"' in html
    token = csrf_token(engineer, f"/m/order/{order.id}")
    key = page_key(html)
    for _ in range(2):  # the answer was lost and the phone posts again
        response = engineer.post(f"/m/order/{order.id}/arrive",
                                 data={"csrf_token": token, "key": key}, headers=JSON)
        assert response.status_code == 200 and response.json["ok"]
    assert WorkOrder.get_by_id(order.id).state == "arrived"

    files = {"before": [("before.jpg", photo(color="gray"))],
             "after": [("after.jpg", photo(color="white"))],
             "signature": [("signature.png", png())]}
    key = page_key(engineer.get(f"/m/order/{order.id}").get_data(as_text=True))
    first = complete(engineer, order, key=key, files=files)
    assert first.status_code == 200, first.json
    again = complete(engineer, order, key=key, files=files)
    assert again.status_code == 200 and again.json["ok"]
    order = WorkOrder.get_by_id(order.id)
    assert order.state == "completed" and order.result == "更换水管接头，已试水"
    assert str(order.cost) == "35.50" and order.materials == "接头 1 个"
    assert sorted(a.kind for a in Attachment.of(order)) == ["after", "before", "signature"]
    assert Demand.get_by_id(order.demand_id).status == "completed"  # the model's own rule

    # The desk sees the thumbnails; the slip prints the signature.
    clerk = login_as("clerk")
    page = clerk.get(f"/admin/work_order/details/?id={order.id}").get_data(as_text=True)
    assert page.count("thumb=1") == 3
    signature = Attachment.get(Attachment.kind == "signature")
    slip = clerk.get(f"/admin/work_order/print/?id={order.id}").get_data(as_text=True)
    assert f"/admin/work_order/file/?id={order.id}&amp;file={signature.id}" in slip


def test_a_refused_photo_saves_nothing_and_says_why(login_as, estate, conn):
    engineer = login_as("dept", "engineer", department="engineering")
    order = new_order(engineer.user, estate)
    response = complete(engineer, order, files={"after": [("after.jpg", EXE)]})
    assert response.status_code == 400
    assert "不是可接受的文件" in response.json["errors"]["after"][0]
    response = complete(engineer, order, result="  ")
    assert response.json["errors"]["result"] == ["请填写完成情况"]
    assert WorkOrder.get_by_id(order.id).state == "open" and Attachment.select().count() == 0
    # A plain form post (no script) gets the page back with the message by the field.
    html = engineer.get(f"/m/order/{order.id}").get_data(as_text=True)
    plain = engineer.post(f"/m/order/{order.id}/complete", data={
        "csrf_token": csrf_token(engineer, f"/m/order/{order.id}"), "key": page_key(html),
        "result": "修好了", "cost": "abc"})
    assert plain.status_code == 400 and "修好了" in plain.get_data(as_text=True)
    assert re.search(r'class="error" data-error>[^<]+<', plain.get_data(as_text=True))


def test_another_departments_order_is_not_found(login_as, estate, conn):
    engineer = login_as("dept", "engineer", department="engineering")
    order = new_order(engineer.user, estate, kind="security")
    token = csrf_token(engineer, "/m/")
    assert engineer.get(f"/m/order/{order.id}").status_code == 404
    assert engineer.post(f"/m/order/{order.id}/arrive",
                         data={"csrf_token": token, "key": "k1"}).status_code == 404
    assert complete_blind(engineer, order, token).status_code == 404
    assert WorkOrder.get_by_id(order.id).state == "open" and Attachment.select().count() == 0


def complete_blind(client, order, token):
    return post_files(client, f"/m/order/{order.id}/complete",
                      {"csrf_token": token, "key": "k2", "result": "x",
                       "after": [(photo(), "a.jpg")]})


def test_another_estates_order_is_not_found(login_as, other_estate, make_user, conn):
    from models.org import Department

    Department.create(estate=other_estate, kind="engineering", name="工程部")
    outsider = make_user("outsider", "clerk", other_estate)
    order = new_order(outsider, other_estate)
    engineer = login_as("dept", "engineer", department="engineering")
    assert engineer.get(f"/m/order/{order.id}").status_code == 404
    assert order.number not in engineer.get("/m/").get_data(as_text=True)


def test_supervisor_reassigns_within_the_department(login_as, make_user, estate, conn):
    head = login_as("dept", "enghead", department="engineering")
    head.user.dept_supervisor = True
    head.user.save()
    member = login_as("dept", "engineer", department="engineering")
    guard = make_user("guard", "dept", estate, department="security")
    order = new_order(head.user, estate)
    token = csrf_token(head, f"/m/order/{order.id}")
    assert "改派" in head.get(f"/m/order/{order.id}").get_data(as_text=True)
    assert "改派" not in member.get(f"/m/order/{order.id}").get_data(as_text=True)

    refused = head.post(f"/m/order/{order.id}/reassign",
                        data={"csrf_token": token, "assignee": guard.id}, headers=JSON)
    assert refused.status_code == 400 and "本部门" in refused.json["errors"]["assignee"][0]
    done = head.post(f"/m/order/{order.id}/reassign",
                     data={"csrf_token": token, "assignee": member.user.id}, headers=JSON)
    assert done.status_code == 200 and WorkOrder.get_by_id(order.id).assignee_id == member.user.id
    # Handing it to the person who already has it is refused, next to the field.
    again = head.post(f"/m/order/{order.id}/reassign",
                      data={"csrf_token": token, "assignee": member.user.id}, headers=JSON)
    assert again.status_code == 400 and "已由此人负责" in again.json["errors"]["assignee"][0]
    # A member who is not the supervisor may not.
    token = csrf_token(member, f"/m/order/{order.id}")
    refused = member.post(f"/m/order/{order.id}/reassign",
                          data={"csrf_token": token, "assignee": member.user.id}, headers=JSON)
    assert refused.status_code == 400 and "主管" in refused.json["errors"][""][0]


def test_the_page_is_small_and_has_no_inline_script(login_as, estate, conn):
    engineer = login_as("dept", "engineer", department="engineering")
    order = new_order(engineer.user, estate)
    for url in ("/m/", f"/m/order/{order.id}"):
        response = engineer.get(url)
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert len(response.data) < 30_000
    assets = re.findall(r'(?:href|src)="(/desk-static/[^"]+)"', html)
    assert len(assets) == 3  # field.css, photos.js (shared with the owners' H5), field.js
    weight = len(response.data)
    for asset in assets:
        with engineer.get(asset) as served:
            assert served.headers["Cache-Control"].startswith("public")  # cached a year
            weight += len(served.data)
    assert weight < 300_000  # #16: first load under 300 KB
