"""A real browser (Playwright driving Debian's Chromium) against a real server (#2).

Runs when /usr/bin/chromium exists; skipped with the reason otherwise. CI sets REQUIRE_BROWSER=1
so a missing browser fails the run instead of silently skipping it.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from models.org import Cluster, Resident

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_BROWSER = os.path.exists(CHROMIUM)

if not HAVE_BROWSER and os.environ.get("REQUIRE_BROWSER"):
    raise RuntimeError("REQUIRE_BROWSER is set but Chromium is not installed (apt-get install "
                       "chromium)")

pytestmark = pytest.mark.skipif(not HAVE_BROWSER,
                                reason="Chromium not installed (apt-get install chromium)")


@pytest.fixture
def live_server(app, estate, make_user):
    make_user("supervisor", "supervisor", estate)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(locale="zh-CN")
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
