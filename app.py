"""物业管理处客服中心 — the application factory.

Configuration is layered: DEFAULTS -> instance/config.py -> FLASK_* environment variables
(plus DATABASE_URL) -> the `config` argument (tests) -> each subsystem's init_app.
`flask --app app …` and `gunicorn 'app:create_app()'` both find the factory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, has_request_context, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

import jobs
import models
import ops
import sync
import views
from models.validators import mask_phone
from views.forms import format_datetime
from views.i18n import DEFAULT_LANGUAGE, LANGUAGES, TRANSLATIONS

DEFAULTS = {
    "OFFICE_TZ": "Asia/Shanghai",
    "BABEL_DEFAULT_LOCALE": DEFAULT_LANGUAGE,
    # Our catalogues (translations/, #12 item 2); Flask-Admin and WTForms add their own.
    "BABEL_TRANSLATION_DIRECTORIES": str(TRANSLATIONS),
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,  # one shift and a half
    # A clerk may keep a form open through a long phone call; the token lives with the session.
    "WTF_CSRF_TIME_LIMIT": None,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCK_MINUTES": 15,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
}


def _load_secret_key(app: Flask) -> str:
    """Use the configured key, or one generated once and kept in instance/secret_key."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _language(app: Flask) -> str:
    """The language this browser chose (中文/English switch), else the office default."""
    # Outside a request (the scheduler, the mirror, a CLI command): the office's language.
    lang = session.get("lang") if has_request_context() else None
    return lang if lang in LANGUAGES else app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config: dict | None = None) -> Flask:
    """Create the customer-service desk application."""
    app = Flask(__name__, instance_relative_config=True, template_folder="views/templates")
    app.config.from_mapping(DEFAULTS)
    app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "desk.db")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if config:
        app.config.from_mapping(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _load_secret_key(app)

    CSRFProtect(app)
    Babel(app, locale_selector=lambda: _language(app))
    app.jinja_env.filters["office_time"] = format_datetime
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.globals.update(dict=dict, list=list)

    models.init_app(app)
    views.init_app(app)
    sync.init_app(app)
    jobs.init_app(app)
    ops.init_app(app)
    views.i18n.init_app(app)  # last: every subsystem's pages are in the menu by now
    return app
