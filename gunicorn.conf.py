"""gunicorn's settings for the desk: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Workers, threads, address, port and timeout come from ops/settings.py (defaults for a 2-core
office PC, overridden by instance/config.py and the WEB_* environment variables).
The scheduler is never started here: it is its own process (`flask --app app jobs run`).
"""

import os

from ops import settings

_config = settings.load()

wsgi_app = "app:create_app()"
bind = f"{_config['WEB_HOST']}:{_config['WEB_PORT']}"
workers = _config["WEB_WORKERS"]
threads = _config["WEB_THREADS"]
# Each worker keeps one database connection per thread open between requests (DATABASE_POOL,
# models/base.py: a fresh SQLite connection rereads the schema, #14 throughput). An explicit
# FLASK_DATABASE_POOL (0: a connection per request) wins. raw_env, not os.environ: reading
# this file (a test does) changes nothing; gunicorn sets it for its workers.
raw_env = [] if "FLASK_DATABASE_POOL" in os.environ else [f"FLASK_DATABASE_POOL={threads}"]
# gthread even for one thread: a slow export does not hold the worker's only connection slot.
worker_class = "gthread"
timeout = _config["WEB_TIMEOUT"]
graceful_timeout = 30
# No keep-alive: a connection kept open stays with the worker that accepted it, and a gthread
# worker runs Python on one core at a time. In the load bench all 50 clerks' connections once
# landed on one worker of three (73 requests/s, one core busy); closed after each response,
# every request goes to whichever worker is free (148/s, the three alike). nginx in front
# (deploy/) opens a connection per request anyway; browsers keep theirs to nginx (#14 item 6).
keepalive = 0
# The app writes its own request log (user, request id, office time); gunicorn's errors go to
# stderr (the terminal, or the journal under systemd).
accesslog = None
errorlog = "-"
loglevel = "info"
# The app trusts X-Forwarded-* only from the reverse proxy on this machine.
forwarded_allow_ips = "127.0.0.1,::1"
proc_name = "estate-desk"
# gunicorn >= 25 opens a control socket at one fixed path per user ($HOME/.gunicorn): a second
# instance on the machine (a test, the load bench, a staging copy) would fight over it.
control_socket_disable = True
