"""The settings the server processes read before any app exists (gunicorn.conf.py, the launcher).

Same layering as the app (app.py): these defaults -> instance/config.py -> FLASK_* environment
variables; on top of those the plain WEB_* variables, which `make run` sets from PORT/HOST
(`PORT=8080 make run`) and a systemd EnvironmentFile may set.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Flask's default instance folder for the top-level module `app` (app.py).
INSTANCE_PATH = PROJECT_ROOT / "instance"


def default_workers() -> int:
    """One worker per core plus one: 3 on the office's 2-core PC (each with WEB_THREADS threads)."""
    return (os.cpu_count() or 1) + 1


SERVER_DEFAULTS = {
    "WEB_HOST": "127.0.0.1",
    "WEB_PORT": 5000,
    "WEB_WORKERS": None,  # None: default_workers()
    "WEB_THREADS": 4,
    # gunicorn restarts a worker whose main thread stops reporting for this long. gthread runs
    # requests in other threads, so a streamed export longer than this is not killed
    # (bench/export_bench.py: 154 s under 30 s); it guards against a wedged worker.
    "WEB_TIMEOUT": 120,
    "LOG_DIR": None,  # None: instance/logs
}

# Plain environment names the server honours besides FLASK_<NAME>.
ENV_ALIASES = {
    "WEB_HOST": ("WEB_HOST",),
    "WEB_PORT": ("WEB_PORT",),
    "WEB_WORKERS": ("WEB_WORKERS",),
    "WEB_THREADS": ("WEB_THREADS",),
    "WEB_TIMEOUT": ("WEB_TIMEOUT",),
}
INTEGER_SETTINGS = ("WEB_PORT", "WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT")


def load(instance_path: Path = INSTANCE_PATH) -> Config:
    """The server settings, layered like the app's, with integers checked."""
    config = Config(str(PROJECT_ROOT))
    config.from_mapping(SERVER_DEFAULTS)
    config.from_pyfile(str(instance_path / "config.py"), silent=True)
    config.from_prefixed_env()
    for name, variables in ENV_ALIASES.items():
        for variable in variables:
            if os.environ.get(variable):
                config[name] = os.environ[variable]
                break
    if config.get("WEB_WORKERS") in (None, ""):
        config["WEB_WORKERS"] = default_workers()
    for name in INTEGER_SETTINGS:
        try:
            config[name] = int(config[name])
        except (TypeError, ValueError):
            raise SystemExit(f"设置 {name} 应为整数，现为 {config[name]!r}") from None
    return config


def log_dir(config, instance_path: Path | str = INSTANCE_PATH) -> Path:
    """The log folder: LOG_DIR, or instance/logs."""
    return Path(config.get("LOG_DIR") or Path(instance_path) / "logs")
