"""Every rule of #15 where staff see it: its grid's 超时 filter and badge (through the test
client), its line on the front desk, and its line in the daily digest."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import url_for
from overdue_support import (
    age,
    deposit_asked,
    duty_directors,
    gas_batch,
    goods_slip,
    handover,
    incident,
    move_in,
    office_today,
    print_job,
    staff_of,
    tenancy,
)
from test_jobs_support import new_work_order

from jobs.digest import daily_digest, latest_digest, render
from jobs.flags import flagged_ids
from jobs.overdue import RULES, mark_overdue
from jobs.rules.service import checked_month
from jobs.views import OverdueFilter
from models.base import utcnow
from models.deposits import Deposit
from models.estate import Estate
from models.permits import GoodsRelease

NEW_RULES = [rule for rule in RULES if rule.id in {
    "work_order_arrival", "work_order_completion", "goods_release_confirm",
    "deposit_uncollected", "emergency_open", "emergency_aftermath", "print_approval",
    "move_in_stuck", "batch_notice", "duty_director_missing", "handover_unacknowledged",
    "survey_missing", "committee_missing", "tenancy_past_end"}]
BADGE = re.compile(r'title="([^"]*)">超时</span>')


def ago(**delta) -> dt.datetime:
    return utcnow() - dt.timedelta(**delta)


@pytest.fixture
def everything_overdue(app, estate):
    """One overdue row for every rule of #15, made through the registers, as of now."""
    staff = staff_of(estate)
    desk = staff["desk"]
    Estate.update(created_at=ago(days=400)).where(Estate.id == estate.id).execute()
    new_work_order(desk, estate, ago(days=3))  # not arrived, not completed
    age(GoodsRelease, goods_slip(estate, desk), ago(hours=3))
    age(Deposit, deposit_asked(estate, desk), ago(days=4))
    incident(estate, desk, ago(days=2))
    incident(estate, desk, ago(days=6), stabilised_at=ago(days=5))
    print_job(estate, desk, ago(hours=5))
    move_in(estate, desk, step1_at=ago(days=10))
    gas_batch(estate, desk, office_today() + dt.timedelta(days=1))
    duty_directors(estate, staff["boss"], [office_today() - dt.timedelta(days=1)])
    handover(estate, desk, ago(hours=3))
    tenancy(estate, desk, office_today() - dt.timedelta(days=400),
            office_today() - dt.timedelta(days=2))
    with app.app_context():
        mark_overdue(utcnow())
    return estate


def grid_of(app, model):
    return next(v for v in app.extensions["admin"][0]._views
                if getattr(v, "model", None) is model)


def test_every_rule_has_its_filter_and_badge_in_its_grid(app, login_as, everything_overdue):
    director = login_as("director", "chief")
    for rule in NEW_RULES:
        assert flagged_ids(rule.model, rule.id), rule.id
        view = grid_of(app, rule.model)
        index, row_filter = next((i, f) for i, f in enumerate(view._filters)
                                 if isinstance(f, OverdueFilter))
        assert (rule.id, rule.label) in row_filter.get_options(view), rule.id
        with app.test_request_context():
            grid = url_for(f"{view.endpoint}.index_view")
        url = f"{grid}?flt0_{index}={rule.id}"
        page = director.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, (rule.id, url)
        titles = BADGE.findall(html)
        assert titles and all(rule.label in t.split("、") for t in titles), (rule.id, titles)
        unflagged = director.get(f"{grid}?flt0_{index}=none")
        assert not any(rule.label in t for t in BADGE.findall(unflagged.get_data(as_text=True)))


def test_every_rule_has_its_line_on_the_front_desk(app, login_as, everything_overdue):
    clerk = login_as("clerk")
    html = clerk.get("/admin/").get_data(as_text=True)
    flags = html[html.index('id="overdue-flags"'):html.index("</ul>", html.index(
        'id="overdue-flags"'))]
    for rule in NEW_RULES:
        assert f"{rule.label}：<strong>" in flags, rule.id
    # The estate's own gaps are said in words: which days, which month.
    today = office_today()
    assert f"未排值班主任：<strong>{today:%m月%d日}、" in flags
    month = f"{checked_month(utcnow()):%Y年%m月}"
    assert f"未做满意度访问：<strong>{month}</strong>" in flags
    assert f"未与业委会沟通：<strong>{month}</strong>" in flags
    assert "维修单未按时到场：<strong>1</strong>" in flags
    # Each line leads to its grid, filtered to the rule.
    assert 'href="/admin/estate/?flt0_' in flags and "survey_missing" in flags


def test_every_rule_has_its_line_in_the_digest(app, login_as, everything_overdue):
    with app.app_context():
        daily_digest(utcnow())
    digest = latest_digest(everything_overdue.id)
    items = {item["rule"]: item for item in digest.items}
    assert {rule.id for rule in NEW_RULES} <= set(items)
    month = f"{checked_month(utcnow()):%Y年%m月}"
    assert items["survey_missing"]["words"] == [month]
    assert items["duty_director_missing"]["words"][0] == f"{office_today():%m月%d日}"
    assert items["print_approval"]["numbers"][0].startswith("DY-")
    _, text = render(everything_overdue, digest)
    for rule in NEW_RULES:
        assert f"> {rule.label}：" in text, rule.id
    assert f"> 未与业委会沟通：{month}" in text
    # The front desk shows the same digest, in words too.
    html = login_as("clerk").get("/admin/").get_data(as_text=True)
    assert f"未做满意度访问：{month}" in html


def test_each_user_sees_only_their_estates_gaps(app, login_as, everything_overdue, other_estate):
    Estate.update(created_at=ago(days=400)).where(Estate.id == other_estate.id).execute()
    with app.app_context():
        mark_overdue(utcnow())
    assert flagged_ids(Estate, "survey_missing") == {everything_overdue.id, other_estate.id}
    clerk = login_as("clerk")
    month = f"{checked_month(utcnow()):%Y年%m月}"
    assert f"未做满意度访问：<strong>{month}</strong>" in clerk.get("/admin/").get_data(
        as_text=True)
    view = grid_of(app, Estate)
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, OverdueFilter))
    grid = clerk.get(f"/admin/estate/?flt0_{index}=survey_missing").get_data(as_text=True)
    assert len(BADGE.findall(grid)) == 1
    assert everything_overdue.name in grid and other_estate.name not in grid
