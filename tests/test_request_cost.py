"""What every page costs, counted (#14 throughput): a page reads the calendar overrides only
when it computes a deadline, and still sees an override entered a moment before; the menu bar,
drawn once per role, language and page, is the same menu as drawn afresh."""

from __future__ import annotations

from conftest import csrf_token
from sql_support import statements_of
from test_demand_loop import intake

from models import deadlines
from models.calendar import CalendarOverride


def menu_of(page: str) -> str:
    start, end = '<ul class="nav navbar-nav mr-auto">', '<ul class="nav navbar-nav navbar-right">'
    return page.split(start, 1)[1].split(end, 1)[0]


def test_pages_without_deadlines_do_not_read_the_calendar(login_as, conn):
    clerk = login_as("clerk")
    for url in ("/admin/demand/", "/admin/", "/admin/demand/new/"):
        sql, _response = statements_of(lambda u=url: clerk.get(u))
        assert not any("calendar_override" in s for s in sql)


def test_an_override_entered_between_requests_decides_the_next_deadline(login_as, conn):
    clerk = login_as("clerk")
    first = intake(clerk)  # this request read the (empty) overrides
    due_day = first.reply_due.astimezone(deadlines.office_timezone()).date()
    CalendarOverride.create(day=due_day, is_workday=False, note="临时停休")
    second = intake(clerk)
    assert second.reply_due.astimezone(deadlines.office_timezone()).date() > due_day


def test_the_kept_menu_is_the_menu_drawn_afresh(app, login_as, conn):
    admin, clerk = login_as("admin"), login_as("clerk")
    pages = {}
    for name, client in (("admin", admin), ("clerk", clerk)):
        for url in ("/admin/demand/", "/admin/key_set/"):
            pages[name, url] = [menu_of(client.get(url).get_data(as_text=True))
                                for _twice in range(2)]
    # Drawn afresh: the templates' cache of menus emptied by building a new Jinja global set.
    app.jinja_env.globals["menu_kept"] = lambda key: None
    for (name, url), (drawn, kept) in pages.items():
        client = admin if name == "admin" else clerk
        assert drawn == kept == menu_of(client.get(url).get_data(as_text=True)), (name, url)
    assert "/admin/user/" in pages["admin", "/admin/demand/"][0]
    assert "/admin/user/" not in pages["clerk", "/admin/demand/"][0]  # per role
    assert pages["clerk", "/admin/demand/"][0] != pages["clerk", "/admin/key_set/"][0]  # active


def test_the_menu_follows_the_language(login_as, conn):
    clerk = login_as("clerk")
    assert "业户需求/投诉" in menu_of(clerk.get("/admin/demand/").get_data(as_text=True))
    clerk.post("/lang", data={"lang": "en", "next": "/admin/demand/",
                                  "csrf_token": csrf_token(clerk, "/admin/")})
    english = menu_of(clerk.get("/admin/demand/").get_data(as_text=True))
    assert "Owner demands / complaints" in english and "业户需求/投诉" not in english
