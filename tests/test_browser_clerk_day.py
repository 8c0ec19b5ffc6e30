# ruff: noqa: F811
"""The clerk's day in Chromium (#12 "Done when"): intake by phone lookup, dispatch, print the
slip, callback, export — every Chinese page free of English, the Chinese picker, a form's
errors shown at once, and clean export files (read back with csv and openpyxl).

Also the worker-pass card printed to PDF on ONE card and the compact grid at 1440 px
(#12 item 9). Skipped without Chromium like tests/test_browser.py (REQUIRE_BROWSER=1 fails).
"""

from __future__ import annotations

import csv as csvlib
import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest
from live_server_support import served
from passes_support import permit, staff  # noqa: F401

# The browser, the live server and the skip without Chromium of tests/test_browser.py.
from test_browser import CHROMIUM, pytestmark  # noqa: F401

from models.callbacks import Callback
from models.demands import Demand
from models.org import Building, Resident, Unit
from models.work_orders import WorkOrder

# ASCII words a Chinese page may show: file formats, the language switch, the estate's code
# and the login names of this test.
ALLOWED_WORDS = {"CSV", "XLSX", "English", "TEST", "clerk", "engineer", "supervisor"}
EXECUTABLE = ("=", "+", "-", "@", "\t", "\r")


def english_on(page) -> list[str]:
    """English words the user can read on the page (visible text and placeholders, titles)."""
    text = page.evaluate("""() => {
        const parts = [document.title, document.body.innerText];
        document.querySelectorAll('[placeholder],[title],input[type=submit]').forEach(
            e => parts.push(e.getAttribute('placeholder') || '', e.getAttribute('title') || '',
                            e.type === 'submit' ? e.value : ''));
        return parts.join('\\n');
    }""")
    # Not English words: the manual's rule numbers in help texts (R-DEM-7), record numbers
    # (XQ…, GD…, with digits) and the login names people chose.
    text = re.sub(r"R-[A-Z]+-\d+|\b[A-Z]{1,4}-?[A-Z0-9-]*\d[A-Z0-9-]*\b", "", text)
    words = re.findall(r"[A-Za-z]{2,}", text)
    return sorted({w for w in words if w not in ALLOWED_WORDS})


def chinese_page(page) -> None:
    assert english_on(page) == [], page.url


@pytest.fixture
def live_server(app, estate):
    """The app served on a free port (no users made here: each test makes its own)."""
    with served(app) as url:
        yield url


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(locale="zh-CN", accept_downloads=True,
                                      viewport={"width": 1440, "height": 900})
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', function (e) {"
            " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI); });")
        page = context.new_page()
        errors = []
        page.on("console", lambda message: message.type == "error"
                and not message.location.get("url", "").endswith("/favicon.ico")
                and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.browser_instance = browser
        yield page
        assert errors == [], "\n".join(errors)
        context.close()
        browser.close()


def log_in(page, live_server, username):
    from conftest import PASSWORD

    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/admin/")


def close_pickers(page):
    """A click beside the form, as a person does, closes an open date-time picker."""
    page.mouse.click(3, 450)
    page.wait_for_selector(".daterangepicker.show-calendar", state="hidden")


def _flats(estate):
    building = Building.get(Building.estate == estate)
    for code, name, phone in (("13-1-502", "十三栋业主", "13711112222"),
                              ("3-1-502", "刘美玲", "13922223333")):
        unit = Unit.create(estate=estate, building=building, room="502", code=code)
        Resident.create(estate=estate, unit=unit, name=name, phone=phone)


def test_the_clerks_day(live_server, browser_page, conn, estate, make_user):
    page = browser_page
    clerk = make_user("clerk", "clerk", estate)
    clerk.display_name = "王秀英"
    clerk.save()
    engineer = make_user("engineer", "dept", estate, department="engineering")
    _flats(estate)
    log_in(page, live_server, "clerk")
    chinese_page(page)

    # -- intake by phone lookup: the flat named comes first, the form is filled in ---------
    page.goto(f"{live_server}/admin/demand/new/")
    chinese_page(page)
    page.fill("#caller", "1-502")  # part of the flat: a choice, listed
    page.press("#caller", "Enter")
    page.wait_for_selector("#caller-matches")
    assert page.locator("#caller-matches tbody tr").count() == 2
    page.fill("#caller", "3-1-502")  # the flat the caller names: chosen at once
    page.press("#caller", "Enter")
    page.wait_for_selector("#caller-chosen")
    assert page.locator("#caller-matches").count() == 0
    assert page.input_value("#contact_name") == "刘美玲"
    assert page.input_value("#contact_phone") == "13922223333"
    assert "3-1-502" in page.locator("#s2id_unit").inner_text()
    chinese_page(page)

    # The Chinese picker: Monday first, 确定/取消.
    page.click("#received_at")
    picker = page.locator(".daterangepicker").filter(has=page.locator(".calendar")).first
    picker.wait_for(state="visible")
    days = [d.strip() for d in picker.locator("thead tr").nth(1).locator("th").all_inner_texts()
            if d.strip()]
    assert days[:7] == ["一", "二", "三", "四", "五", "六", "日"]
    assert picker.locator(".applyBtn").inner_text() == "确定"
    picker.locator(".cancelBtn").click()

    # -- three mistakes, reported at once, each next to its field, the input kept ---------
    page.select_option("#category", "engineering")
    page.fill("#description", "卫生间下水道堵塞，污水倒灌")
    page.fill("#contact_phone", "1380013800")  # one digit short
    page.fill("#requested_reply_at", "")
    page.type("#requested_reply_at", "2020-01-01 08:00:00")  # typed, as the picker reads keys
    close_pickers(page)
    page.check("#answered_at_intake")
    page.locator("input[type=submit]").first.click()
    page.wait_for_selector(".invalid-feedback, .help-block")
    html = page.content()
    assert page.input_value("#requested_reply_at").startswith("2020-01-01 08:00")
    for field, message in (("contact_phone", "格式不正确"), ("requested_reply_at", "要求答复时间"),
                           ("reply_content", "当场答复")):
        assert re.search(rf'id="{field}".{{0,2000}}?{message}', html, re.S), field
    assert page.input_value("#description") == "卫生间下水道堵塞，污水倒灌"
    chinese_page(page)
    assert not Demand.select().exists()

    page.fill("#contact_phone", "13922223333")
    page.fill("#requested_reply_at", "")
    close_pickers(page)
    page.uncheck("#answered_at_intake")
    page.locator("input[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/admin/demand/details/\?id=\d+"))
    demand = Demand.get()
    assert (demand.unit.code, demand.resident.name) == ("3-1-502", "刘美玲")
    flash = page.locator(".alert").filter(has_text="已登记").inner_text()
    assert demand.number in flash and "答复期限" in flash
    chinese_page(page)

    # -- dispatch -----------------------------------------------------------------------
    page.click("#row-actions a:has-text('派工')")
    page.select_option("#department", label="工程维修部")
    chinese_page(page)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/admin/demand/details/\?id=\d+"))
    order = WorkOrder.get(WorkOrder.demand == demand.id)
    assert Demand.get_by_id(demand.id).status == "dispatched"

    # -- print the slip: the owner and the phone to call ----------------------------------
    page.goto(f"{live_server}/admin/work_order/print/?id={order.id}")
    slip = page.locator("#slip-owner").inner_text()
    assert "刘美玲" in slip and "13922223333" in slip
    chinese_page(page)

    # The department reports completion (their own screen, tested elsewhere).
    order.complete(engineer, result="疏通下水管，已试水")

    # -- callback from the queue -------------------------------------------------------------
    page.goto(f"{live_server}/admin/callback_queue/")
    row = page.locator("#queue-demands tbody tr").filter(has_text=demand.number)
    assert "刘美玲" in row.inner_text() and "13922223333" in row.inner_text()
    chinese_page(page)
    row.locator("a:has-text('回访')").click()
    for name in ("on_time", "attitude", "skill", "etiquette"):
        page.check(f"input[name={name}][value='5']")
    page.check("input[name=satisfied][value='1']")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/admin/demand/.*"))
    assert Demand.get_by_id(demand.id).status == "closed"
    assert Callback.select().where(Callback.demand == demand.id).count() == 1

    # -- export: the files are data, nothing a spreadsheet would run -----------------------
    page.goto(f"{live_server}/admin/demand/")
    chinese_page(page)
    # What a pasted formula and a vertical tab from Word would do to the files.
    Demand.update(description="=HYPERLINK(\"http://x\")\x0b卫生间").where(
        Demand.id == demand.id).execute()
    for kind in ("csv", "xlsx"):
        with page.expect_download() as download_info:
            page.evaluate("url => { const a = document.createElement('a'); a.href = url;"
                          " document.body.appendChild(a); a.click(); }",
                          f"{live_server}/admin/demand/export/{kind}/")
        download = download_info.value
        assert download.suggested_filename.endswith(f".{kind}")
        assert "业户需求" in download.suggested_filename
        data = Path(download.path()).read_bytes()
        if kind == "csv":
            rows = list(csvlib.reader(io.StringIO(data.decode("utf-8-sig"))))
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
            assert "业户需求" in sheet.title
            rows = [[c.value for c in row] for row in sheet.iter_rows()]
        cells = [c for row in rows for c in row if isinstance(c, str)]
        assert any(demand.number in c for c in cells)
        assert not [c for c in cells if c.startswith(EXECUTABLE)], kind
        assert not [c for c in cells if "<" in c and ">" in c], kind  # no screen HTML
        assert not [c for c in cells if "\x0b" in c], kind
        if kind == "xlsx":
            received = [c.value for row in sheet.iter_rows(min_row=2) for c in row
                        if isinstance(c.value, dt.datetime)]
            assert received  # dates are dates


def test_the_worker_pass_prints_on_one_card(live_server, browser_page, conn, estate, staff,
                                            permit):
    """The CR80 card (85.6 × 54 mm) prints on one card, not two (#12 item 9)."""
    from conftest import PASSWORD
    from passes_support import worker

    card = worker(estate, staff["clerk"])
    staff["supervisor"].set_password(PASSWORD)
    staff["supervisor"].save()
    page = browser_page
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server}/admin/worker_pass/print/?id={card.id}")
    assert card.number in page.content()
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, pages


def test_grids_stay_compact_at_1440(live_server, browser_page, conn, estate, make_user):
    """One line per row at 1440 px; a cut cell shows its whole text on hover (#12 item 9)."""
    from models.register import save_record

    clerk = make_user("clerk", "clerk", estate)
    unit = Unit.get(Unit.code == "1-1-101")
    for _n in range(3):
        save_record(Demand(estate=estate.id, category="engineering", kind="complaint",
                           unit=unit.id, contact_name="业主一零一号房的家属联系人",
                           description="厨房水管漏水，楼下天花板滴水，业主要求尽快派人上门查看处理"
                                       * 2), clerk)
    page = browser_page
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server}/admin/demand/")
    heights = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.model-list tbody tr')).map(r => r.getBoundingClientRect().height)""")
    line = page.evaluate("""() => parseFloat(getComputedStyle(
        document.querySelector('.model-list td.col-number')).lineHeight)""")
    assert heights and max(heights) < 2.5 * line + 16, (heights, line)
    cut = page.locator(".model-list td[data-desk-cut]")
    assert cut.count() >= 1
    title = cut.first.get_attribute("title")
    assert title and len(title) > 10


def test_the_review_prints_on_a4_with_its_charts(live_server, browser_page, conn, estate,
                                                 make_user):
    """分析与总结 printed (#12 item 10): A4 pages, the charts drawn, the filter form hidden."""
    make_user("supervisor", "supervisor", estate)
    page = browser_page
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server}/admin/review/")
    assert page.locator("svg.desk-chart").count() == 8
    chinese_page(page)
    page.emulate_media(media="print")
    assert not page.locator("form.desk-noprint:has(#month)").is_visible()
    widths = page.evaluate("""() => Array.from(document.querySelectorAll('svg.desk-chart'))
        .map(s => s.getBoundingClientRect().width)""")
    assert min(widths) > 200  # two charts a row, not squeezed
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2
                         for w, h in boxes), boxes
