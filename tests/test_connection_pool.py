"""DATABASE_POOL: a worker keeps its database connections open and hands them from request to
request (#14 throughput: a fresh SQLite connection rereads the schema and checkpoints the WAL on
close). Reused across requests, closed when the app is bound to another database, none left
checked out, and the suite's per-test database untouched (pool off unless asked)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import PG_URL, _config
from playhouse.pool import PooledDatabase

import models
from app import create_app
from models.base import db

POOL = 3
ROOT = Path(__file__).resolve().parent.parent


def pooled_app(url: str, seen: list):
    """An app of its own with a pool of POOL, noting the raw connection each request used."""
    app = create_app({**_config(url), "DATABASE_POOL": POOL})

    @app.after_request
    def _note(response):
        seen.append(db.connection())  # kept: an id is not reused while the object lives
        return response

    return app


@pytest.fixture
def database_url(app, tmp_path, template_db):
    """A database for an app of the test's own: a copy of the empty schema (SQLite), or the
    suite's PostgreSQL database."""
    if PG_URL:
        return PG_URL
    path = tmp_path / "pooled.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


def closed(connection) -> bool:
    if isinstance(connection, sqlite3.Connection):
        try:
            connection.total_changes  # noqa: B018 (raises once closed)
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(connection.closed)  # psycopg


def test_the_suite_and_the_default_open_a_connection_per_request(app):
    assert not isinstance(db.obj, PooledDatabase)


def test_requests_reuse_the_pooled_connection(database_url):
    seen = []
    app = pooled_app(database_url, seen)
    assert isinstance(db.obj, PooledDatabase)
    client = app.test_client()
    for _ in range(5):
        assert client.get("/login").status_code == 200
    assert len(seen) == 5
    assert len({id(c) for c in seen}) == 1  # one connection, five requests
    assert not closed(seen[0])
    assert db.obj._in_use == {}  # given back after each request, none leaked


def test_concurrent_requests_share_at_most_the_pool(database_url):
    seen = []
    app = pooled_app(database_url, seen)
    start, errors = threading.Barrier(6), []

    def clerk():
        client = app.test_client()
        start.wait()
        for _ in range(4):
            status = client.get("/login").status_code
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=clerk) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []  # more threads than connections: they wait their turn, none fails
    assert len(seen) == 24
    assert len({id(c) for c in seen}) <= POOL
    assert db.obj._in_use == {}


def test_binding_another_database_closes_the_pool(database_url, tmp_path, template_db):
    seen = []
    app = pooled_app(database_url, seen)
    client = app.test_client()
    client.get("/login")
    old = db.obj
    other = dict(app.config)
    if not PG_URL:
        path = tmp_path / "other.db"
        shutil.copy(template_db, path)
        other["DATABASE_URL"] = f"sqlite:///{path}"
    app.config.update(other)
    models.bind(app)
    assert closed(seen[0])  # the old pool's idle connection does not hold the file open
    assert old._connections == [] and old._in_use == {}
    client.get("/login")
    assert seen[-1] is not seen[0] and not closed(seen[-1])
    if not PG_URL:
        # The next request reads the newly bound file, not the one the old pool had open.
        with app.app_context(), db.connection_context():
            files = [row[2] for row in db.execute_sql("PRAGMA database_list")]
        assert files == [str(path)]


def test_gunicorn_pools_one_connection_per_thread_without_touching_the_environment(monkeypatch):
    """gunicorn.conf.py asks for the pool through raw_env, which gunicorn sets in its workers:
    reading the file (as a test does) changes nothing in the reader's environment."""
    monkeypatch.delenv("FLASK_DATABASE_POOL", raising=False)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert conf.raw_env == [f"FLASK_DATABASE_POOL={conf.threads}"]
    assert "FLASK_DATABASE_POOL" not in os.environ
    monkeypatch.setenv("FLASK_DATABASE_POOL", "0")  # an explicit setting wins
    spec.loader.exec_module(conf)
    assert conf.raw_env == []
