"""What every response and every request passes through: headers, return URLs, hostile ids.

#13 items 5–7: a strict Content-Security-Policy with a per-request nonce on every page (our
templates have no inline script; Flask-Admin's few inline scripts carry the nonce through its
`csp_nonce_generator`), pages never cached while versioned static files are, return URLs
(`next`, `url`) only ever same-site relative paths, and ids or page numbers no column can hold
answered with a 404 instead of reaching the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, request, url_for
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from wtforms.validators import ValidationError

from models.validators import INT_RANGES, check_plain_text

# Settings this module reads, with their defaults (instance/config.py or FLASK_* override them).
SETTINGS = {
    # Per address: many failures from one machine refuse that machine only (password spraying),
    # never the accounts it tried; per name: LOGIN_MAX_FAILURES / LOGIN_LOCK_MINUTES in app.py.
    "LOGIN_ADDRESS_MAX_FAILURES": 50,
    "LOGIN_ADDRESS_LOCK_MINUTES": 15,
    # Off for the plain-HTTP `make run`; on in production behind HTTPS (see the README).
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
    # Versioned static URLs (?v=…) are cached this long; pages are never cached.
    "STATIC_MAX_AGE": 365 * 24 * 3600,
}

STATIC = Path(__file__).parent / "static"
assets = Blueprint("desk", __name__, static_folder="static", static_url_path="/desk-static")

# Query arguments that name a row or a page: an integer no column can hold is a 404 (never an
# OverflowError from SQLite or "integer out of range" from PostgreSQL). Ids are INTEGER columns.
ID_ARGS = {"id", "page", "page_size", "estate", "sort", "row_id"}
INTEGER_RE = re.compile(r"\s*[+-]?\d+\s*")
RETURN_ARGS = ("url", "next")


def safe_return_url(target: str | None) -> str | None:
    """`target` when it is a same-site relative path, else None (no open redirect).

    Refused: anything with a scheme or host (`https://…`, `//host`), backslashes (browsers read
    them as slashes), and any whitespace or control character — browsers drop a tab or newline,
    which turns `/\\t/evil.example` into `//evil.example`.
    """
    if not target or not isinstance(target, str) or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


class PlainText:
    """Refuse text holding NUL or another control character (tab and newline aside)."""

    def __call__(self, form, field):
        message = check_plain_text(field.data)
        if message:
            raise ValidationError(message)


def csp_nonce() -> str:
    """This request's nonce for the few inline scripts Flask-Admin itself writes."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


@cache
def _asset_version(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """The URL of one of our static files, versioned by its content (cacheable for a year)."""
    return url_for("desk.static", filename=filename, v=_asset_version(filename))


def content_security_policy(nonce: str) -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _is_static() -> bool:
    return bool(request.endpoint) and request.endpoint.rsplit(".", 1)[-1] == "static"


class RowId(IntegerConverter):
    """`<int:…>` in a route (the phone pages' and the H5's rows): an id a column can hold;
    a larger one matches no page (404) instead of reaching the database (#12 item 7)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_RANGES["int"][1])
        super().__init__(url_map, *args, **kwargs)


def _refuse_hostile_args():
    """404 for ids/pages out of range, 400 for NUL; forget a return URL that leaves the site."""
    low, high = INT_RANGES["int"]
    if any("\x00" in value for value in request.args.values()):
        # No search, filter or lookup can hold NUL (PostgreSQL refuses it in any string).
        abort(400)
    for name, value in request.args.items(multi=True):
        if (name in ID_ARGS or name.endswith("_id")) and INTEGER_RE.fullmatch(value) \
                and not low <= int(value) <= high:
            abort(404)
    foreign = [name for name in RETURN_ARGS
               if name in request.args and safe_return_url(request.args[name]) is None]
    if foreign:
        # Forget a foreign return address before any view reads it (Flask-Admin's own
        # get_redirect_target, the void page, login): each then falls back to its own page.
        request.args = ImmutableMultiDict(
            [(k, v) for k, v in request.args.items(multi=True) if k not in foreign])
    return None


def _headers(response):
    if _is_static():
        if request.args.get("v"):
            max_age = current_app.config["STATIC_MAX_AGE"]
            response.headers["Cache-Control"] = f"public, max-age={max_age}, immutable"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
    # Pages hold residents' personal data: never cached, never framed, no inline script.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    # A view that set its own policy (the sandboxed floor-plan PDF) keeps it.
    response.headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    app.url_map.converters["int"] = RowId  # before any route is added
    app.register_blueprint(assets)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, asset_url=asset_url)
    app.before_request(_refuse_hostile_args)
    app.after_request(_headers)
