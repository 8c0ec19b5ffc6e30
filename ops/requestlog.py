"""One line per request — office time, request id, user, method, path, status, duration — in a
rotating file (LOG_DIR, default instance/logs/requests.log), and the id in `X-Request-Id`.

The id comes from the proxy when it sent a sane one (nginx's $request_id), so a line in the
nginx log, in ours and a clerk's screenshot of an error page can be matched; otherwise we make one.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import Flask, current_app, g, request

from models.base import to_office, utcnow
from ops.settings import log_dir

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 10
# One handler per log file, shared by every app of the process (tests build several apps):
# a handler per app would leave open files behind. The few most recent stay open.
_HANDLERS: OrderedDict[Path, RotatingFileHandler] = OrderedDict()
_HANDLERS_LOCK = threading.Lock()
MAX_OPEN_HANDLERS = 4


def _handler(path: Path, max_bytes: int, backup_count: int) -> RotatingFileHandler:
    with _HANDLERS_LOCK:
        handler = _HANDLERS.get(path)
        if handler is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count,
                                          encoding="utf-8", delay=True)
            handler.setFormatter(logging.Formatter("%(message)s"))
            _HANDLERS[path] = handler
            while len(_HANDLERS) > MAX_OPEN_HANDLERS:
                _HANDLERS.popitem(last=False)[1].close()
        else:
            _HANDLERS.move_to_end(path)
        return handler


def request_log_path(app: Flask) -> Path:
    return log_dir(app.config, app.instance_path) / "requests.log"


def _user() -> str:
    # Only a user the request already loaded: logging never costs a query of its own.
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return "-"
    return getattr(user, "username", "-")


def format_line(request_id: str, user: str, method: str, path: str, status: int,
                millis: float) -> str:
    stamp = to_office(utcnow()).isoformat(timespec="milliseconds")
    return f"{stamp} {request_id} {user} {method} {path} {status} {millis:.0f}ms"


def init_app(app: Flask) -> None:
    """Give every request an id and log it when the response leaves."""

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response):
        request_id = g.get("request_id") or secrets.token_hex(8)
        response.headers["X-Request-Id"] = request_id
        started = g.get("request_started")
        millis = (time.perf_counter() - started) * 1000 if started else 0.0
        # The path without its query: searches can hold a resident's name or phone number.
        line = format_line(request_id, _user(), request.method, request.path,
                           response.status_code, millis)
        config = current_app.config
        handler = _handler(request_log_path(current_app),
                           int(config.get("LOG_MAX_BYTES", DEFAULT_MAX_BYTES)),
                           int(config.get("LOG_BACKUP_COUNT", DEFAULT_BACKUP_COUNT)))
        handler.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO,
                                              "levelname": "INFO", "name": "requests"}))
        return response
