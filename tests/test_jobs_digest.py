"""The daily digest, group-robot webhooks (real HTTP against 127.0.0.1) and sheets_sync."""

from __future__ import annotations

import sys
import threading
import types
import urllib.parse

import pytest
from test_jobs_support import Robot, at, new_demand

from jobs.digest import latest_digest
from jobs.models import OverdueDigest
from jobs.overdue import mark_overdue
from jobs.registry import get_job
from jobs.runner import run_job


@pytest.fixture
def quick_robots(app):
    app.config.update(JOBS_WEBHOOK_TIMEOUT=5, JOBS_WEBHOOK_ATTEMPTS=3, JOBS_WEBHOOK_BACKOFF=0)
    return app


def digest(app, now):
    return run_job(get_job("daily_digest"), app=app, now=now)


def test_digest_counts_what_became_overdue_since_the_last_one(app, clerk, estate,
                                                              other_estate):
    assert latest_digest(estate.id) is None
    first = new_demand(clerk, estate, at(2026, 11, 2, 9, 0), contact_name="王先生",
                       contact_phone="13912345678")
    mark_overdue(at(2026, 11, 5, 8, 0))
    run = digest(app, at(2026, 11, 5, 8, 30))
    assert run.status == "succeeded" and "生成 2 份摘要" in run.note
    shown = latest_digest(estate.id)
    assert (shown.period_start, shown.period_end) == (None, at(2026, 11, 5, 8, 30))
    assert (shown.new_total, shown.active_total) == (1, 1)
    assert shown.items == [{"rule": "demand_reply", "label": "需求答复超时", "new": 1,
                            "active": 1, "numbers": [first.number]}]
    assert latest_digest(other_estate.id).new_total == 0

    second = new_demand(clerk, estate, at(2026, 11, 4, 9, 0))
    mark_overdue(at(2026, 11, 7, 0, 5))
    digest(app, at(2026, 11, 7, 8, 30))
    shown = latest_digest(estate.id)
    assert shown.period_start == at(2026, 11, 5, 8, 30)
    assert (shown.new_total, shown.active_total) == (1, 2)
    assert shown.items[0]["numbers"] == [second.number]
    assert shown.webhook_status == ""  # no robot configured


def test_digest_is_posted_to_a_wechat_work_robot_without_personal_data(quick_robots, clerk,
                                                                       estate):
    app = quick_robots
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0), contact_name="王先生",
                        contact_phone="13912345678")
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot() as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        run = digest(app, at(2026, 11, 5, 8, 30))
    assert run.status == "succeeded" and "推送 1 份" in run.note
    (path, body), = robot.requests
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["content"]
    assert "测试花园 超时摘要" in text and demand.number in text and "需求答复超时：新增 1" in text
    assert "王先生" not in text and "13912345678" not in text and "漏水" not in text
    assert latest_digest(estate.id).webhook_status == "sent"


def test_dingtalk_robot_gets_its_format_and_signature(quick_robots, clerk, estate):
    app = quick_robots
    new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot() as robot:
        app.config["JOBS_DIGEST_WEBHOOK"] = {"url": robot.url, "kind": "dingtalk",
                                             "secret": "SEC000"}
        assert digest(app, at(2026, 11, 5, 8, 30)).status == "succeeded"
    (path, body), = robot.requests
    assert body["markdown"]["title"] == "测试花园 超时摘要"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert query["key"] == ["SECRET-KEY-123"] and query["timestamp"] and query["sign"]


def test_failing_robot_is_retried_a_bounded_number_of_times(quick_robots, clerk, estate):
    app = quick_robots
    new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot("fail") as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        run = digest(app, at(2026, 11, 5, 8, 30))
    assert len(robot.requests) == 3
    assert run.status == "partial"
    assert "TEST：企业微信推送失败：HTTP 500（共尝试 3 次）" in run.error
    assert "SECRET-KEY-123" not in run.error and "127.0.0.1" not in run.error
    shown = latest_digest(estate.id)  # the digest itself is kept for the front desk
    assert shown.new_total == 1 and shown.webhook_status == "failed"


def test_robot_refusing_the_message_is_not_retried(quick_robots, clerk, estate):
    app = quick_robots
    new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot("errcode") as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        run = digest(app, at(2026, 11, 5, 8, 30))
    assert len(robot.requests) == 1 and "errcode 93000" in run.error


def test_hanging_robot_times_out(quick_robots, clerk, estate):
    app = quick_robots
    app.config.update(JOBS_WEBHOOK_TIMEOUT=0.3, JOBS_WEBHOOK_ATTEMPTS=2)
    new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot("hang") as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        run = digest(app, at(2026, 11, 5, 8, 30))
    assert run.status == "partial" and "超时无响应（共尝试 2 次）" in run.error
    assert len(robot.requests) == 2


def test_hanging_robot_does_not_block_other_jobs(quick_robots, clerk, estate):
    app = quick_robots
    app.config["JOBS_WEBHOOK_TIMEOUT"] = 60
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    results = {}
    with Robot("hang") as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        thread = threading.Thread(
            target=lambda: results.update(digest=digest(app, at(2026, 11, 5, 8, 30))))
        thread.start()
        assert robot.arrived.wait(30)
        # The digest is stuck in its HTTP call: the sweep still runs and commits.
        demand.reply(clerk, replied_at=at(2026, 11, 5, 8, 40), content="已答复", cause="管道老化")
        sweep = run_job(get_job("mark_overdue"), app=app, now=at(2026, 11, 5, 8, 45))
        assert sweep.status == "succeeded" and sweep.cleared == 1
        assert thread.is_alive()  # held by the robot until released below
        robot.release.set()
        thread.join(60)
    assert results["digest"].status == "succeeded"
    assert OverdueDigest.select().count() == 1


def test_sheets_sync_is_skipped_while_the_mirror_is_missing(app, conn, monkeypatch):
    monkeypatch.setitem(sys.modules, "sync", None)  # import sync raises ImportError
    run = run_job(get_job("sheets_sync"), app=app)
    assert run.status == "skipped" and "无法导入" in run.note and run.error == ""

    monkeypatch.setitem(sys.modules, "sync", types.ModuleType("sync"))
    run = run_job(get_job("sheets_sync"), app=app)
    assert run.status == "skipped" and "没有 run_sync" in run.note


def test_sheets_sync_reports_the_mirror_result(app, conn, monkeypatch):
    sheet = types.SimpleNamespace(estate_code="TEST", error="", skipped="")
    broken = types.SimpleNamespace(estate_code="OTHER", error="表格不存在或无权访问",
                                   skipped="")
    fake = types.ModuleType("sync")
    fake.run_sync = lambda: types.SimpleNamespace(error="", spreadsheets=[sheet, broken])
    monkeypatch.setitem(sys.modules, "sync", fake)
    run = run_job(get_job("sheets_sync"), app=app)
    assert run.status == "partial" and "2 个表格，1 个已同步" in run.note
    assert run.error == "OTHER：表格不存在或无权访问"
