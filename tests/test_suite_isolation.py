"""The suite's own plumbing (conftest.py): one app for the session, put back before every test.

The tests in pairs below run in file order: the first changes what a test can change on the
shared app, the second checks that it finds the app as built. Each pair fails if AppState
stops restoring that part. The PostgreSQL reset is checked against what TRUNCATE … RESTART
IDENTITY CASCADE of every table would leave.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PG_URL, empty_postgresql

import models.users
from models import deadlines
from models.base import db
from models.estate import Branch, Estate
from models.org import Building, Cluster, Unit
from models.users import User, UserEstate

BUILT = {}


def _grid(app):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == "demand")


def test_a_test_changes_the_shared_app(app, conn, estate, tmp_path):
    BUILT.update(app=app, page_size=_grid(app).page_size, db=db.obj, instance=app.instance_path,
                 tz=deadlines.office_timezone())
    assert app.instance_path == str(tmp_path / "instance")
    app.config["LOGIN_MAX_FAILURES"] = 1
    app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": "http://127.0.0.1:1/robot"}
    app.extensions["attachment_storage"] = object()
    app.jinja_env.globals["leftover"] = "from an earlier test"
    app.wsgi_app = lambda environ, start_response: None
    _grid(app).page_size = 1
    _grid(app).leftover = "form data"
    deadlines.set_office_timezone("Europe/London")
    models.users.set_password_method("scrypt", testing=True)
    deadlines.set_overrides({dt.date(2026, 3, 11): False})
    assert Estate.select().count() == 1


def test_the_next_test_finds_it_as_built(app, conn, tmp_path):
    assert app is BUILT["app"]  # the same app object: the build is shared
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    assert "JOBS_DIGEST_WEBHOOKS" not in app.config
    assert app.config["TESTING"] and app.config["PASSWORD_HASH_METHOD"] == "scrypt:1024:8:1"
    assert "attachment_storage" not in app.extensions
    assert "leftover" not in app.jinja_env.globals
    assert _grid(app).page_size == BUILT["page_size"]
    assert not hasattr(_grid(app), "leftover")
    assert deadlines.office_timezone() == BUILT["tz"]
    assert models.users.password_method() == "scrypt:1024:8:1"
    assert deadlines.get_overrides() == {}
    assert app.instance_path == str(tmp_path / "instance") != BUILT["instance"]
    assert Estate.select().count() == 0  # a fresh database
    if not PG_URL:
        assert db.obj is not BUILT["db"] and db.obj.database == str(tmp_path / "desk.db")
    # And it answers requests (the WSGI app is Flask's again).
    assert app.test_client().get("/login").status_code == 200


@pytest.mark.skipif(not PG_URL, reason="the PostgreSQL reset")
def test_the_postgresql_reset_leaves_what_truncating_every_table_would(app, conn):
    branch = Branch.create(name="分公司")
    estate = Estate.create(branch=branch, code="A", name="甲")
    cluster = Cluster.create(estate=estate, name="组团")
    building = Building.create(estate=estate, cluster=cluster, name="1栋")
    Unit.create(estate=estate, building=building, room="101", code="1-101")
    user = User.create(username="u", display_name="u", role="clerk", password_hash="x")
    UserEstate.create(user=user, estate=estate)
    # A table used and emptied again still has its sequence moved on.
    Unit.delete().execute()
    Unit.create(estate=estate, building=building, room="102", code="1-102")

    empty_postgresql()

    tables = [t for t in db.get_tables() if t != "migratehistory"]
    holding = [t for t in tables
               if db.execute_sql(f'SELECT EXISTS (SELECT 1 FROM "{t}")').fetchone()[0]]
    assert holding == []
    assert db.execute_sql("SELECT count(*) FROM migratehistory").fetchone()[0] > 0
    moved = db.execute_sql("SELECT sequencename FROM pg_sequences WHERE schemaname ="
                           " current_schema() AND last_value IS NOT NULL").fetchall()
    # migratehistory keeps its rows and its sequence (a backup's restore adds to it).
    assert [name for (name,) in moved if not name.startswith("migratehistory")] == []
    assert ("migratehistory_id_seq",) in moved
    branch = Branch.create(name="分公司")
    assert branch.id == 1
    estate = Estate.create(branch=branch, code="A", name="甲")
    building = Building.create(estate=estate, cluster=Cluster.create(estate=estate, name="组团"),
                               name="1栋")
    assert Unit.create(estate=estate, building=building, room="101", code="1-101").id == 1
