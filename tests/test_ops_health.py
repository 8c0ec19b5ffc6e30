"""/healthz and the scheduler's heartbeat; the request log (issue #13 item 4)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from conftest import login

from app import create_app
from jobs.cli import beat
from jobs.models import SchedulerHeartbeat
from models.base import db, utcnow
from ops.health import heartbeat_holder, record_heartbeat


def test_healthz_needs_no_login_and_names_a_missing_scheduler(app, conn):
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok" and body["scheduler"] == "never"
    assert any("调度器" in p for p in body["problems"])
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_200_with_a_recent_heartbeat_and_503_when_it_goes_stale(app, conn):
    record_heartbeat()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ok"
    # No data beyond the checks themselves.
    assert set(response.get_json()) == {"status", "database", "scheduler",
                                        "heartbeat_age_seconds"}
    SchedulerHeartbeat.update(beat_at=utcnow() - dt.timedelta(minutes=10)).execute()
    stale = app.test_client().get("/healthz")
    assert stale.status_code == 503
    assert stale.get_json()["scheduler"] == "stale"
    assert "秒未更新" in stale.get_json()["problems"][0]


def test_heartbeat_keeps_one_row_per_scheduler_process(app, conn):
    earlier = utcnow() - dt.timedelta(minutes=5)
    record_heartbeat(earlier)
    beat(app)  # what the scheduler's interval job calls
    rows = list(SchedulerHeartbeat.select())
    assert len(rows) == 1 and rows[0].holder == heartbeat_holder()
    assert rows[0].started_at == earlier and rows[0].beat_at > earlier


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path):
    app = create_app({"SECRET_KEY": "x", "TESTING": True,
                      "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"})
    app.instance_path = str(tmp_path / "instance")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "error" and "数据库无应答" in body["problems"]
    assert "nobody" not in response.get_data(as_text=True)  # no connection details leak
    assert db.is_closed()


def _log_lines(app) -> list[str]:
    return (Path(app.instance_path) / "logs" / "requests.log").read_text().splitlines()


def test_each_request_is_one_log_line_with_user_id_status_and_office_time(app, conn, estate,
                                                                        make_user):
    make_user("lihua", "clerk", estate)
    client = app.test_client()
    login(client, "lihua")
    response = client.get("/admin/demand/?search=13800138000")
    request_id = response.headers["X-Request-Id"]
    line = _log_lines(app)[-1]
    match = re.match(r"^(\S+) (\S+) (\S+) (\S+) (\S+) (\d{3}) (\d+)ms$", line)
    assert match, line
    stamp, logged_id, user, method, path, status, _millis = match.groups()
    assert dt.datetime.fromisoformat(stamp).utcoffset() == dt.timedelta(hours=8)
    assert (logged_id, user, method, path, status) == (
        request_id, "lihua", "GET", "/admin/demand/", "200")
    assert "13800138000" not in "\n".join(_log_lines(app))  # queries are not logged
    anonymous = app.test_client().get("/login")
    assert _log_lines(app)[-1].split()[2] == "-"
    assert anonymous.headers["X-Request-Id"] != request_id


def test_a_sane_request_id_from_the_proxy_is_kept_and_a_hostile_one_replaced(app, conn):
    client = app.test_client()
    kept = client.get("/login", headers={"X-Request-Id": "nginx-0123456789abcdef"})
    assert kept.headers["X-Request-Id"] == "nginx-0123456789abcdef"
    hostile = client.get("/login", headers={"X-Request-Id": "x\" injected 200 1ms fake"})
    assert re.fullmatch(r"[0-9a-f]{16}", hostile.headers["X-Request-Id"])
    assert all("injected" not in line for line in _log_lines(app))


def test_the_request_log_rotates_by_size(app, conn, tmp_path):
    app.config.update(LOG_DIR=str(tmp_path / "rotating"), LOG_MAX_BYTES=400,
                      LOG_BACKUP_COUNT=2)
    client = app.test_client()
    for _ in range(20):
        client.get("/login")
    names = sorted(p.name for p in (tmp_path / "rotating").iterdir())
    assert names == ["requests.log", "requests.log.1", "requests.log.2"]
    assert all(p.stat().st_size <= 400 for p in (tmp_path / "rotating").iterdir())
