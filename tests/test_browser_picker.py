# ruff: noqa: F811
"""The date-time picker in Chinese: month and day names, Monday first, 24 hours (#12 item 2).

In Chromium, as the clerk sees it; no inline script (the page fixture fails on any CSP
violation). Skipped without Chromium, like tests/test_browser.py.
"""

from __future__ import annotations

# The browser, the live server and the skip without Chromium of tests/test_browser.py; the
# tests' parameters take the fixtures' names, which ruff reads as redefinitions.
from test_browser import live_server, page, pytestmark  # noqa: F401


def log_in(page, live_server):
    from conftest import PASSWORD

    page.goto(f"{live_server}/login")
    page.fill("#username", "supervisor")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/admin/")


def open_picker(page, live_server):
    page.goto(f"{live_server}/admin/demand/new/")
    page.click("#received_at")
    picker = page.locator(".daterangepicker").filter(has=page.locator(".calendar")).first
    picker.wait_for(state="visible")
    return picker


def test_the_picker_speaks_chinese_starts_on_monday_and_counts_24_hours(live_server, page,
                                                                        conn):
    log_in(page, live_server)
    picker = open_picker(page, live_server)
    days = picker.locator("thead tr").nth(1).locator("th").all_inner_texts()
    assert [d.strip() for d in days if d.strip()][:7] == ["一", "二", "三", "四", "五", "六",
                                                          "日"]
    title = picker.locator("th.month").first.inner_text()
    assert "月" in title and not any(m in title for m in ("Jan", "Dec", "Nov"))
    assert picker.locator(".applyBtn").inner_text() == "确定"
    assert picker.locator(".cancelBtn").inner_text() == "取消"
    hours = picker.locator("select.hourselect option").all_inner_texts()
    assert "23" in hours and "13" in hours  # a 24-hour clock, no AM/PM
    assert picker.locator("select.ampmselect").count() == 0


def test_in_english_the_picker_is_english_and_still_starts_on_monday(live_server, page,
                                                                     conn):
    log_in(page, live_server)
    page.click("button[value=en]")
    page.wait_for_load_state()
    picker = open_picker(page, live_server)
    days = [d.strip() for d in picker.locator("thead tr").nth(1).locator("th").all_inner_texts()
            if d.strip()]
    assert days[0] == "Mo" and days[6] == "Su"
    assert picker.locator(".applyBtn").inner_text() == "OK"
