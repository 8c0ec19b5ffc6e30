"""The 定时任务 runs page and the grid helpers (overdue filter, overdue badge)."""

from __future__ import annotations

import logging

from conftest import csrf_token
from test_jobs_support import at, new_demand

from jobs.models import JobRun
from jobs.overdue import mark_overdue
from jobs.views import OverdueFilter, overdue_badge
from models.demands import Demand
from models.register import AuditLog

PAGE = "/admin/jobs/"


def _view(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views
                if getattr(v, "endpoint", "") == endpoint)


def test_supervisor_sees_the_runs_and_runs_a_job_now(login_as, conn):
    client = login_as("supervisor")
    page = client.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "标记超时事项" in html and "每日超时摘要" in html and "立即运行" in html
    assert "从未运行" in html

    response = client.post(PAGE + "run/", data={"job": "mark_overdue",
                                                "csrf_token": csrf_token(client, PAGE)},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "“标记超时事项”运行成功" in html
    run = JobRun.get()
    assert (run.job, run.trigger, run.status) == ("mark_overdue", "manual", "succeeded")
    assert AuditLog.select().where(AuditLog.action == "run_job",
                                   AuditLog.row_id == run.id).exists()
    assert "手动" in html and "成功" in html  # the run is listed


def test_run_now_needs_the_csrf_token(login_as, conn):
    client = login_as("director")
    assert client.post(PAGE + "run/", data={"job": "mark_overdue"}).status_code == 400
    assert JobRun.select().count() == 0


def test_unknown_job_is_not_found(login_as, conn):
    client = login_as("admin")
    response = client.post(PAGE + "run/", data={"job": "nope",
                                                "csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 404


def test_clerks_and_anonymous_users_cannot_run_jobs(app, login_as, conn):
    anonymous = app.test_client()
    assert "/login" in anonymous.get(PAGE).headers["Location"]
    clerk = login_as("clerk")
    assert clerk.get(PAGE).status_code == 403
    token = csrf_token(clerk, "/admin/")
    assert clerk.post(PAGE + "run/", data={"job": "mark_overdue",
                                           "csrf_token": token}).status_code == 403
    assert JobRun.select().count() == 0


def test_overdue_filter_and_badge_for_the_grids(app, make_user, login_as, estate):
    clerk = make_user("clerk1", "clerk", estate)
    late = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    fine = new_demand(clerk, estate, at(2026, 11, 25, 9, 0))
    mark_overdue(at(2026, 11, 5, 10, 0))

    overdue_filter = OverdueFilter(Demand)
    assert ("demand_callback", "需求回访超时") in overdue_filter.get_options(None)

    def ids(value):
        return {d.id for d in overdue_filter.apply(Demand.select(), value)}

    assert ids("any") == {late.id}
    assert ids("demand_reply") == {late.id}
    assert ids("demand_callback") == set()
    assert ids("none") == {fine.id}

    badge = overdue_badge(Demand)
    with app.test_request_context():
        marked = badge(Demand.get_by_id(late.id))
        plain = badge(Demand.get_by_id(fine.id))
    assert 'title="需求答复超时">超时</span>' in marked
    assert plain is None
    # Every register grid with rules shows it, before the first column's value.
    supervisor = login_as("supervisor", "lead")
    grid = supervisor.get("/admin/demand/").get_data(as_text=True)
    assert grid.count('title="需求答复超时">超时</span>') == 1
    index = next(i for i, f in enumerate(_view(app, "demand")._filters)
                 if isinstance(f, OverdueFilter))
    only = supervisor.get(f"/admin/demand/?flt0_{index}=any").get_data(as_text=True)
    assert late.number in only and fine.number not in only


def test_front_desk_shows_flag_counts_and_the_digest(app, login_as, make_user, estate):
    from jobs.digest import daily_digest

    clerk_user = make_user("clerk1", "clerk", estate)
    late = new_demand(clerk_user, estate, at(2026, 11, 2, 9, 0))
    clerk = login_as("clerk")
    assert "目前没有超时事项" in clerk.get("/admin/").get_data(as_text=True)
    with app.app_context():
        mark_overdue(at(2026, 11, 5, 10, 0))
        daily_digest(at(2026, 11, 6, 8, 30))
    home = clerk.get("/admin/").get_data(as_text=True)
    assert "需求答复超时：<strong>1</strong>" in home
    assert "每日超时摘要" in home and late.number in home


class _SQL(logging.Handler):
    """Collects the SQL statements peewee runs (its 'peewee' logger, DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record):
        sql = record.msg[0] if isinstance(record.msg, tuple) else str(record.msg)
        self.statements.append(str(sql))


def test_badge_looks_flags_up_once_per_page_for_its_ids_only(app, make_user, login_as, estate):
    # #14 item 2: the 超时 badge asked for every active flag of the register on every page;
    # now one query per page, limited to the page's ids, whatever the number of flagged rows.
    clerk = make_user("clerk1", "clerk", estate)
    supervisor = login_as("supervisor", "lead")
    logger = logging.getLogger("peewee")
    counts = []
    for batch in (3, 12):
        for _ in range(batch):
            new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
        mark_overdue(at(2026, 11, 5, 10, 0))
        sql = _SQL()
        saved = logger.level
        logger.addHandler(sql)
        logger.setLevel(logging.DEBUG)
        try:
            grid = supervisor.get("/admin/demand/").get_data(as_text=True)
        finally:
            logger.removeHandler(sql)
            logger.setLevel(saved)
        flag_queries = [s for s in sql.statements if '"overdue_flag"' in s.lower()
                        and "row_id" in s.lower() and " in (" in s.lower()]
        assert len(flag_queries) == 1, sql.statements
        counts.append(len(sql.statements))
        shown = min(Demand.select().count(), _view(app, "demand").page_size)
        assert grid.count('title="需求答复超时">超时</span>') == shown
    assert counts[0] == counts[1]
