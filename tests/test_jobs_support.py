"""Helpers shared by the jobs tests (no tests here): office times, demands, a local group robot."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from jobs.models import OverdueFlag
from jobs.overdue import RULES
from models.demands import Demand
from models.org import Department
from models.register import save_record
from models.work_orders import WorkOrder

OFFICE = ZoneInfo("Asia/Shanghai")


def at(*parts: int) -> dt.datetime:
    """An office wall-clock moment, aware: at(2026, 10, 9, 23, 59)."""
    return dt.datetime(*parts, tzinfo=OFFICE)


def new_demand(user, estate, received_at: dt.datetime, **fields) -> Demand:
    """A demand recorded at the desk through the register's own save (numbers, deadlines, audit)."""
    fields.setdefault("category", "engineering")
    fields.setdefault("description", "厨房水管漏水")
    return save_record(Demand(estate=estate.id, received_at=received_at, **fields), user)


def new_work_order(user, estate, dispatched_at: dt.datetime,
                   completed_at: dt.datetime | None = None) -> WorkOrder:
    """A stand-alone work order (no demand), completed at `completed_at` if given."""
    department = Department.get(Department.estate == estate.id,
                                Department.kind == "engineering")
    order = save_record(WorkOrder(estate=estate.id, department=department.id, what="更换门锁",
                                  dispatched_at=dispatched_at), user)
    if completed_at is not None:
        order.complete(user, result="已更换", completed_at=completed_at)
    return WorkOrder.get_by_id(order.id)


def all_flags() -> list[tuple]:
    """Every flag row, every column, in a stable order (to compare before and after)."""
    return list(OverdueFlag.select().order_by(OverdueFlag.id).tuples())


def active_flags() -> set[tuple[str, int]]:
    return {(rule, row_id) for rule, row_id in OverdueFlag.select(
        OverdueFlag.rule, OverdueFlag.row_id).where(OverdueFlag.cleared_at.is_null()).tuples()}


def expected_flags(now: dt.datetime, rules=RULES) -> set[tuple[str, int]]:
    """What a clean sweep at `now` must leave active: each rule's own query, row by row."""
    return {(rule.id, row_id) for rule in rules
            for (row_id,) in rule.query(now).select(rule.model.id).tuples()}


class Robot:
    """A WeChat Work / DingTalk group robot on 127.0.0.1.

    behaviour: "ok" answers errcode 0; "fail" answers HTTP 500; "errcode" answers 200 with a
    non-zero errcode; "hang" holds every request until `release` is set, then answers ok.
    """

    def __init__(self, behaviour: str = "ok"):
        self.behaviour = behaviour
        self.requests: list[tuple[str, dict]] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                robot.requests.append((self.path, json.loads(body)))
                robot.arrived.set()
                if robot.behaviour == "hang":
                    robot.release.wait(60)
                status, answer = 200, {"errcode": 0, "errmsg": "ok"}
                if robot.behaviour == "fail":
                    status, answer = 500, {"errcode": -1, "errmsg": "system busy"}
                elif robot.behaviour == "errcode":
                    answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (the timeout under test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/cgi-bin/webhook/send?key=SECRET-KEY-123"

    def __enter__(self) -> Robot:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
