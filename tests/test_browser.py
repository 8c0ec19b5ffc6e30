"""A real browser (Playwright driving Debian's Chromium) against a real server (#2).

Runs when /usr/bin/chromium exists; skipped with the reason otherwise. CI sets REQUIRE_BROWSER=1
so a missing browser fails the run instead of silently skipping it.
"""

from __future__ import annotations

import os
import shutil

import pytest
from live_server_support import served

from models.org import Cluster, Resident

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
HAVE_BROWSER = os.path.exists(CHROMIUM)

if not HAVE_BROWSER and os.environ.get("REQUIRE_BROWSER"):
    raise RuntimeError("REQUIRE_BROWSER is set but Chromium is not installed (apt-get install "
                       "chromium)")

pytestmark = pytest.mark.skipif(not HAVE_BROWSER,
                                reason="Chromium not installed (apt-get install chromium)")


def arrived(image) -> bool:
    """Whether an <img> (a locator or element handle) arrives whole: scrolled to (thumbnails
    load lazily), then its load or error awaited, so a slow server is waited for and a
    broken image still fails."""
    image.scroll_into_view_if_needed()
    return image.evaluate(
        "img => img.complete && img.naturalWidth > 0 ? true : new Promise(done => {"
        " img.addEventListener('load', () => done(img.naturalWidth > 0));"
        " img.addEventListener('error', () => done(false)); })")


@pytest.fixture
def live_server(app, estate, make_user):
    make_user("supervisor", "supervisor", estate)
    with served(app) as url:
        yield url


def _browser(**context_args):
    """A Chromium page that fails the test on any console error or CSP violation."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(locale="zh-CN", **context_args)
        # Every Content-Security-Policy violation (and any other console error) fails the test:
        # nothing in the UI may depend on inline script or style (#13 item 6).
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', function (e) {"
            " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI); });")
        page = context.new_page()
        page.console_errors = []
        # (The browser's own favicon request is the one 404 a page does not cause.)
        page.on("console", lambda message: message.type == "error"
                and not message.location.get("url", "").endswith("/favicon.ico")
                and page.console_errors.append(message.text))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        yield page
        assert page.console_errors == [], "\n".join(page.console_errors)
        context.close()
        browser.close()


@pytest.fixture
def page():
    yield from _browser()


@pytest.fixture
def phone():
    """An iPhone-sized page (390 × 844) with a phone's User-Agent and touch (#16)."""
    yield from _browser(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                        is_mobile=True, has_touch=True, user_agent=PHONE_AGENT)


def test_log_in_create_a_row_see_it_and_log_out(live_server, page, conn):
    from conftest import PASSWORD

    page.goto(f"{live_server}/admin/")
    assert "/login" in page.url
    page.fill("#username", "supervisor")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/admin/")
    assert "测试花园" in page.content()

    page.goto(f"{live_server}/admin/cluster/")
    assert "第一组团" in page.content()
    page.goto(f"{live_server}/admin/cluster/new/")
    page.fill("#name", "第八组团")
    page.fill("#sort_order", "8")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/cluster/**")
    assert "第八组团" in page.content()
    assert Cluster.get(Cluster.name == "第八组团").created_by.username == "supervisor"

    # A resident, picking the unit from the searchable pick-list.
    page.goto(f"{live_server}/admin/resident/new/")
    page.click("#s2id_unit")
    page.keyboard.type("1-1-10")
    page.wait_for_selector(".select2-result-label:has-text('1-1-102')")
    page.click(".select2-result-label:has-text('1-1-102')")
    page.fill("#name", "浏览器住户")
    page.fill("#phone", "13800138000")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/resident/**")
    assert "浏览器住户" in page.content()
    assert Resident.get(Resident.name == "浏览器住户").unit.code == "1-1-102"

    # The scripts behind the date-time picker, the filters and a print page run under the CSP.
    page.goto(f"{live_server}/admin/demand/new/")
    page.click("#received_at")
    page.wait_for_selector(".daterangepicker", state="visible")
    page.goto(f"{live_server}/admin/resident/")
    page.click("text=添加筛选")
    page.click(".dropdown-menu a.filter:has-text('身份')")
    page.wait_for_selector("table.filters tr")
    page.goto(f"{live_server}/admin/resident/?url=//evil.example")
    assert "/admin/resident/" in page.url

    page.click("#logout")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/admin/cluster/")
    assert "/login" in page.url


def test_engineer_completes_an_order_on_a_phone_and_the_desk_sees_it(live_server, phone, conn,
                                                                     estate, make_user, app):
    """#16: 390 × 844, as `engineer`: 我的工单 → 到场 → 完工 with two photos and a drawn
    signature; the desk sees the thumbnails and the slip prints the signature."""
    from attachment_support import DATA, new_order
    from conftest import PASSWORD

    from models.attachments import Attachment
    from models.work_orders import WorkOrder

    make_user("engineer", "dept", estate, department="engineering")
    clerk = make_user("clerk", "clerk", estate)
    order = new_order(clerk, estate, description="卫生间下水堵塞")

    phone.goto(f"{live_server}/login")
    phone.fill("#username", "engineer")
    phone.fill("#password", PASSWORD)
    phone.click("#login")
    phone.wait_for_url(f"{live_server}/m/")
    assert phone.title().startswith("我的工单（1）")
    # Nothing wider than the screen (no sideways scrolling on a phone).
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.click(f"text={order.number}")
    phone.wait_for_url(f"{live_server}/m/order/{order.id}")
    assert "卫生间下水堵塞" in phone.content()

    phone.click("#arrive")
    phone.wait_for_selector("text=已登记到场")
    assert WorkOrder.get_by_id(order.id).state == "arrived"

    phone.fill("#result", "疏通下水管，已试水")
    phone.fill("#materials", "疏通剂")
    phone.fill("#cost", "20")
    phone.set_input_files("#before", str(DATA / "before.jpg"))
    phone.set_input_files("#after", str(DATA / "after.jpg"))
    phone.wait_for_selector("[data-previews-for=before] img")
    phone.wait_for_selector("[data-previews-for=after] img")
    pad = phone.locator("#signature-pad")
    pad.scroll_into_view_if_needed()  # the mouse only reaches what is on the screen
    box = pad.bounding_box()
    phone.mouse.move(box["x"] + 30, box["y"] + 40)
    phone.mouse.down()
    for step in range(1, 12):
        phone.mouse.move(box["x"] + 30 + step * 25, box["y"] + 40 + (step % 3) * 30)
    phone.mouse.up()
    phone.click("#complete")
    phone.wait_for_selector("#order-state:has-text('已完工')")

    order = WorkOrder.get_by_id(order.id)
    assert order.state == "completed" and order.result == "疏通下水管，已试水"
    files = {a.kind: a for a in Attachment.of(order)}
    assert set(files) == {"before", "after", "signature"}
    # The 2000 px photo was made smaller on the phone before it left: the server alone keeps
    # pictures up to 2,560 px (models/attachments.MAX_SIDE); field.js sends at most 1,600.
    assert files["before"].size < (DATA / "before.jpg").stat().st_size
    import io

    from PIL import Image

    from models.storage import storage

    with app.app_context():
        kept = storage().get(files["before"].key)
    with Image.open(io.BytesIO(kept)) as picture:
        assert max(picture.size) == 1600

    # The desk (a desktop browser page of the same context is enough: log in as the clerk).
    phone.click("text=退出")
    phone.wait_for_url(f"{live_server}/login")
    phone.fill("#username", "clerk")
    phone.fill("#password", PASSWORD)
    phone.click("#login")
    phone.goto(f"{live_server}/admin/work_order/details/?id={order.id}")
    thumbs = phone.locator("#attachments img.desk-thumb")
    assert thumbs.count() == 3
    for index in range(3):
        # The thumbnails load lazily (loading="lazy"): scrolled to, each must arrive whole.
        assert arrived(thumbs.nth(index))
    phone.goto(f"{live_server}/admin/work_order/print/?id={order.id}")
    signature = phone.locator("img.signature")
    assert signature.count() == 1
    assert signature.evaluate("img => img.complete && img.naturalWidth > 0")
