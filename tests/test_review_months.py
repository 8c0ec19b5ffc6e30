"""The monthly review reads its counts kept per estate and month (R-DEM-10, #14;
models/review_months.py): the page's work does not grow with the month's rows, every write of a
demand, callback or work order marks the months it changes, the page recounts small stale
months itself and the review_figures job the rest, and a count never hides a write that
committed while it ran."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import PASSWORD, PG_URL, login
from page_rows_support import GROWTH, register_rows, vm_steps
from sql_support import page_statements
from test_review_charts import _loop

import models.review as review
from jobs.registry import JOBS_BY_ID
from jobs.review import review_figures
from models.base import to_office, utcnow
from models.demands import Demand
from models.org import Department, Unit
from models.register import save_record, void_record
from models.review_months import ReviewMonth, month_of, month_span

URL = "/admin/review/"


def _total(html: str) -> int:
    return int(re.search(r'id="review-total">(\d+)<', html).group(1))


def _this_month() -> dt.date:
    return month_of(utcnow())


def _intake(clerk, estate, *, received_at=None, description="楼道灯不亮") -> Demand:
    unit = Unit.get(Unit.estate == estate)
    demand = Demand(estate=estate.id, received_at=received_at or utcnow(), category="engineering",
                    kind="help", channel="phone", unit=unit.id, description=description)
    return save_record(demand, clerk)


@pytest.fixture
def chief(app, conn, estate, other_estate, make_user):
    make_user("chief", "supervisor", estate, other_estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    return client


def test_the_review_page_does_not_count_the_month(chief, estate, other_estate):
    """Once the months are counted (the job), the page adds up kept rows: its statements and,
    on SQLite, its VM instructions stay the same when the month's rows grow fivefold. Counting
    the month on every visit grew them with it."""
    estates = [estate, other_estate]
    register_rows(estates, 40, 0)
    review_figures()
    chief.get(URL)  # warm-up: the process's caches
    html, before_sql = page_statements(chief, URL)
    before_total = _total(html)
    before_steps = None if PG_URL else vm_steps(chief, URL)
    register_rows(estates, 40 * (GROWTH - 1), 40)  # loaded in bulk: no write marks them
    assert review_figures().note == "各月统计均为最新"  # loaded in bulk: nothing marked
    ReviewMonth.delete().execute()  # counted afresh, as after the upgrade
    assert review_figures().note.startswith("重新统计")
    chief.get(URL)  # the months before the first demand: counted (empty) by the first visit
    html, after_sql = page_statements(chief, URL)
    this_month = month_span(_this_month())
    in_month = Demand.select().where(Demand.received_at >= this_month[1],
                                     Demand.received_at < this_month[2]).count()
    assert _total(html) == in_month > before_total
    assert len(after_sql) == len(before_sql), (before_sql, after_sql)
    if not PG_URL:
        after_steps = vm_steps(chief, URL)
        assert after_steps < 1.2 * before_steps, (before_steps, after_steps)


def test_a_write_shows_at_once_in_a_small_month(login_as, estate):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    assert _total(supervisor.get(URL).get_data(as_text=True)) == 0
    demand = _intake(clerk.user, estate)
    html = supervisor.get(URL).get_data(as_text=True)
    assert _total(html) == 1
    assert "统计于" in html and "此后的变动" not in html  # counted now: nothing pending
    void_record(Demand.get_by_id(demand.id), clerk.user, "重复登记")
    assert _total(supervisor.get(URL).get_data(as_text=True)) == 0


def test_a_large_stale_month_waits_for_the_job_and_says_so(login_as, estate, monkeypatch):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    _intake(clerk.user, estate)
    assert _total(supervisor.get(URL).get_data(as_text=True)) == 1
    monkeypatch.setattr(review, "INLINE_ROWS", 0)  # every month too large to recount inline
    _intake(clerk.user, estate, description="电梯异响")
    html = supervisor.get(URL).get_data(as_text=True)
    assert _total(html) == 1 and "此后的变动由后台每 10 分钟计入" in html
    outcome = review_figures()
    assert outcome.note == "重新统计 1 个小区月份"
    html = supervisor.get(URL).get_data(as_text=True)
    assert _total(html) == 2 and "此后的变动" not in html
    assert review_figures().note == "各月统计均为最新"


def test_a_corrected_receipt_time_moves_the_demand_between_months(login_as, estate):
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    this_month = _this_month()
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    demand = _intake(clerk.user, estate)
    assert _total(supervisor.get(URL).get_data(as_text=True)) == 1
    assert _total(supervisor.get(f"{URL}?month={last_month:%Y-%m}").get_data(as_text=True)) == 0
    demand = Demand.get_by_id(demand.id)
    before = dict(demand.__data__)
    demand.received_at = month_span(last_month)[1] + dt.timedelta(days=3)
    save_record(demand, clerk.user, before=before)
    assert _total(supervisor.get(URL).get_data(as_text=True)) == 0
    assert _total(supervisor.get(f"{URL}?month={last_month:%Y-%m}").get_data(as_text=True)) == 1


def test_kept_counts_equal_counting_the_month_now(make_user, estate, login_as):
    """The whole loop through the registers' own functions (dispatch, reply, completion,
    satisfied and unsatisfied callbacks, a reopen): the page's kept figures are what counting
    the month afresh gives, per department and per worker too."""
    clerk = make_user("clerk", "clerk", estate)
    first = make_user("worker1", "dept", estate, department="engineering")
    second = make_user("worker2", "dept", estate, department="engineering")
    department = Department.get(Department.estate == estate, Department.kind == "engineering")
    received_at = utcnow() - dt.timedelta(hours=2)
    if to_office(received_at).day == 1 and to_office(received_at).hour < 3:
        received_at = utcnow()  # keep the whole loop in this month
    supervisor = login_as("supervisor")
    supervisor.get(URL)  # the month counted before the loop: every step below marks it
    _loop(clerk, first, department, satisfied=True, received_at=received_at)
    _loop(clerk, second, department, satisfied=False, received_at=received_at)
    _loop(clerk, None, None, satisfied=None, received_at=received_at)
    first_day, start, end = month_span(month_of(received_at))
    kept, _as_of, pending = review.kept_months([estate.id], [(first_day, start, end)])
    assert not pending
    counts = kept[(estate.id, first_day)]
    assert review.review_of(counts) == review.monthly_review([estate.id], start, end)
    assert review.assessment_of(counts) == review.assessment([estate.id], start, end)
    assert review.review_of(counts)["callbacks"] == 2


def test_a_count_never_hides_a_write_committed_while_it_ran(login_as, estate, monkeypatch):
    """The recount stores the change sequence it read before counting: a write that lands
    during the count leaves the month stale, and the next count takes it in."""
    clerk = login_as("clerk")
    _intake(clerk.user, estate)
    first_day, start, end = month_span(_this_month())
    counting = review.count_window

    def count_while_a_clerk_writes(estate_ids, start, end):
        counted = counting(estate_ids, start, end)
        _intake(clerk.user, estate, description="燃气味道")  # lands after the rows were read
        return counted

    monkeypatch.setattr(review, "count_window", count_while_a_clerk_writes)
    review.recount({first_day: (start, end, [estate.id])})
    monkeypatch.setattr(review, "count_window", counting)
    row = ReviewMonth.get(ReviewMonth.estate == estate.id, ReviewMonth.month == first_day)
    assert row.counts["total"] == 1 and row.stale
    kept, _as_of, pending = review.kept_months([estate.id], [(first_day, start, end)])
    assert kept[(estate.id, first_day)]["total"] == 2 and not pending


def test_the_job_counts_every_month_of_an_estate_loaded_in_bulk(conn, estate):
    """After the upgrade (or data loaded outside the registers' functions) an estate has no
    kept month: the job counts each month from its first demand to this one."""
    now = utcnow()
    register_rows([estate], 3, 24 * 70)  # about ten weeks ago: two or three months back
    oldest = month_of(now - dt.timedelta(hours=24 * 70 + 2))
    assert not ReviewMonth.select().exists()
    assert review_figures().note.startswith("重新统计")
    months = sorted(m for (m,) in ReviewMonth.select(ReviewMonth.month).tuples())
    assert months[0] == oldest and months[-1] == month_of(now)
    assert len(months) == len(set(months)) >= 3
    assert sum(row.counts["total"] for row in ReviewMonth.select()) == 3
    assert review_figures().note == "各月统计均为最新"


def test_the_job_is_scheduled():
    job = JOBS_BY_ID["review_figures"]
    assert job.func is review_figures and job.cron == {"minute": "*/10"}
