"""deploy/: the systemd units, the nginx example and the config example parse and name what
exists (issue #13 item 2)."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import sys
from pathlib import Path

import click
import flask_admin
import pytest

import app as app_module
from app import create_app
from ops import settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHECKOUT = "/srv/desk"  # where the units and the nginx example expect the checkout


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def local(path: str) -> Path:
    assert path.startswith(CHECKOUT + "/"), path
    return ROOT / path[len(CHECKOUT) + 1:]


@pytest.mark.parametrize("name", ["desk-web.service", "desk-jobs.service"])
def test_units_run_unprivileged_restart_on_failure_in_the_checkout(name):
    service = unit(name)["Service"]
    assert service["User"] == "desk" and service["User"] != "root"
    assert service["Restart"] == "on-failure"
    assert service["WorkingDirectory"] == CHECKOUT
    assert service["ReadWritePaths"] == f"{CHECKOUT}/instance"
    assert service["EnvironmentFile"].lstrip("-") == "/etc/desk/desk.env"
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_the_web_unit_starts_gunicorn_with_the_project_config():
    argv = shlex.split(unit("desk-web.service")["Service"]["ExecStart"])
    assert argv[0] == f"{CHECKOUT}/.venv/bin/gunicorn"
    config = local(argv[argv.index("-c") + 1])
    assert config.name == "gunicorn.conf.py" and config.is_file()
    spec = importlib.util.spec_from_file_location("gunicorn_conf", config)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    module, factory = conf.wsgi_app.split(":")
    assert module == "app" and factory == "create_app()" and callable(app_module.create_app)
    assert conf.timeout > 46  # FINDINGS: a 100k-row export took 46 s
    # A kept-alive connection stays with one worker (one core): each response closes it (#14).
    assert conf.keepalive == 0
    assert conf.bind == f"{settings.load()['WEB_HOST']}:{settings.load()['WEB_PORT']}"


def test_the_jobs_unit_runs_an_existing_flask_command(tmp_path):
    argv = shlex.split(unit("desk-jobs.service")["Service"]["ExecStart"])
    assert argv[:3] == [f"{CHECKOUT}/.venv/bin/flask", "--app", "app"]
    desk = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "x"})
    command: click.Command = desk.cli
    with click.Context(desk.cli) as ctx:
        for word in argv[3:]:
            command = command.get_command(ctx, word)
            assert command is not None, f"no flask command {' '.join(argv[3:])}"
    assert command.name == "run" and "scheduler" in command.help


def test_nginx_example_balances_braces_and_proxies_to_the_configured_port(tmp_path):
    text = (DEPLOY / "nginx-desk.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    depth = 0
    for char in code:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert all(line.rstrip().endswith((";", "{", "}")) for line in code.splitlines()
               if line.strip())
    ports = re.findall(r"proxy_pass http://127\.0\.0\.1:(\d+);", code)
    example = load_example(tmp_path)
    assert ports and set(ports) == {str(example["WEB_PORT"])}
    assert example["WEB_PORT"] == settings.SERVER_DEFAULTS["WEB_PORT"]
    assert "Strict-Transport-Security" in code and "X-Forwarded-Proto" in code
    body = re.search(r"client_max_body_size (\d+)m;", code)
    assert body and int(body.group(1)) * 1024 * 1024 >= app_module.DEFAULTS["MAX_CONTENT_LENGTH"]
    # Flask-Admin's files are served from the virtualenv, at the path this Python uses.
    admin_static = Path(flask_admin.__file__).parent / "static"
    assert admin_static.is_dir()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert f"/.venv/lib/{version}/site-packages/flask_admin/static/" in code


def load_example(instance: Path) -> dict:
    """Run deploy/config.example.py as instance/config.py would be run; its settings."""
    (instance / "secret_key").write_text("0" * 64)
    namespace = {"__file__": str(instance / "config.py")}
    path = DEPLOY / "config.example.py"
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return {k: v for k, v in namespace.items() if k.isupper()}


def known_settings(tmp_path) -> set[str]:
    """Names the app (Flask, its extensions or our code) reads."""
    desk = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "x"})
    names = set(desk.config) | set(settings.SERVER_DEFAULTS)
    sources = [p for folder in ("models", "views", "sync", "jobs", "ops") for p in
               (ROOT / folder).rglob("*.py")] + [ROOT / "app.py", ROOT / "gunicorn.conf.py"]
    import flask_babel
    import flask_login
    import flask_wtf
    for package in (flask_login, flask_wtf, flask_babel):
        sources += Path(package.__file__).parent.rglob("*.py")
    for source in sources:
        names |= set(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", source.read_text()))
    return names


def test_config_example_is_python_naming_only_settings_the_app_reads(tmp_path):
    example = load_example(tmp_path)
    path = DEPLOY / "config.example.py"
    unknown = sorted(set(example) - known_settings(tmp_path))
    assert not unknown, f"settings nobody reads: {unknown}"
    for required in ("SECRET_KEY", "TRUSTED_HOSTS", "SESSION_COOKIE_SECURE", "DATABASE_URL",
                     "SHEETS_CREDENTIALS_FILE", "JOBS_DIGEST_WEBHOOKS", "BACKUP_DIR",
                     "BACKUP_KEEP_DAILY", "WEB_WORKERS", "WEB_TIMEOUT", "LOG_DIR"):
        assert required in example, required
    assert example["SECRET_KEY"] == "0" * 64
    assert example["SESSION_COOKIE_SECURE"] is True
    assert example["DATABASE_URL"].startswith("postgresql://")
    # The example loads as the server's own settings do, with the same layering.
    (tmp_path / "config.py").write_text(path.read_text())
    loaded = settings.load(tmp_path)
    assert loaded["WEB_TIMEOUT"] == example["WEB_TIMEOUT"]
