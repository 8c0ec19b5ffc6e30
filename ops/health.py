"""`/healthz` for the proxy and the monitoring, and the scheduler's heartbeat it reads.

No login and no data: the body says only whether the database answers and how old the
scheduler's newest heartbeat is, so it is safe to expose to a monitoring host.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from flask import Blueprint, current_app, jsonify

from jobs.models import SchedulerHeartbeat
from jobs.runner import own_connection
from models.base import db, utcnow

bp = Blueprint("ops", __name__)
log = logging.getLogger("ops.health")

HEARTBEAT_SECONDS = 60
# Three missed beats: a busy minute is not an outage.
DEFAULT_HEARTBEAT_MAX_AGE = 3 * HEARTBEAT_SECONDS


def heartbeat_holder() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def record_heartbeat(now: dt.datetime | None = None) -> None:
    """Touch this scheduler process's heartbeat row (the scheduler calls it every minute)."""
    now = now or utcnow()
    holder = heartbeat_holder()
    with own_connection():
        updated = (SchedulerHeartbeat.update(beat_at=now, updated_at=now)
                   .where(SchedulerHeartbeat.holder == holder).execute())
        if not updated:
            SchedulerHeartbeat.create(holder=holder, started_at=now, beat_at=now)


def check(now: dt.datetime | None = None) -> tuple[bool, dict]:
    """(healthy, body): the database answers and a scheduler beat within the allowed age."""
    now = now or utcnow()
    max_age = int(current_app.config.get("HEALTH_HEARTBEAT_MAX_AGE", DEFAULT_HEARTBEAT_MAX_AGE))
    body: dict = {"database": "ok", "scheduler": "ok"}
    problems = []
    try:
        with own_connection():
            db.execute_sql("SELECT 1")
            last = (SchedulerHeartbeat.select(SchedulerHeartbeat.beat_at)
                    .order_by(SchedulerHeartbeat.beat_at.desc()).first())
    except Exception:  # any failure to answer is "down"; the details go to the log only
        log.exception("健康检查：数据库无应答")
        body.update(database="error", scheduler="unknown")
        problems.append("数据库无应答")
    else:
        if last is None:
            body["scheduler"] = "never"
            problems.append("调度器从未运行（心跳为空）")
        else:
            age = int((now - last.beat_at).total_seconds())
            body["heartbeat_age_seconds"] = age
            if age > max_age:
                body["scheduler"] = "stale"
                problems.append(f"调度器心跳已 {age} 秒未更新（上限 {max_age} 秒）")
    body["status"] = "ok" if not problems else "error"
    if problems:
        body["problems"] = problems
    return not problems, body


@bp.route("/healthz")
def healthz():
    """Answer 200 when the database answers and the scheduler's heartbeat is recent, else 503."""
    healthy, body = check()
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
