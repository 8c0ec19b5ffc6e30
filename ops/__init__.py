"""Running the desk for real (issue #13): health check, request log, backups, server settings.

The server launcher (ops/server.py) and gunicorn.conf.py read ops/settings.py before any app
exists; `init_app` wires the rest into each app.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Register /healthz, the request log and the `db backup | backups | restore` commands."""
    # ops.cli adds its commands to the `db` group when imported.
    from ops import cli, health, requestlog  # noqa: F401

    app.register_blueprint(health.bp)
    requestlog.init_app(app)
    # Behind nginx (deploy/nginx-desk.conf) the client's address and scheme arrive in
    # X-Forwarded-*; trust exactly one proxy hop, and only when told there is one.
    if app.config.get("BEHIND_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
