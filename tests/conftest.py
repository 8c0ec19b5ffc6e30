"""One app for the session, put back as built on a fresh database for every test: a real
SQLite file, or PostgreSQL.

TEST_DATABASE_URL=postgresql://… runs the whole suite on PostgreSQL: the schema is migrated once
per session and every table emptied before each test. On SQLite the migrated database file is
built once and copied for each test (a copy is much cheaper than migrating). The app is built
once (building one costs about a second) and its config, extensions, Flask-Admin views and the
data layer's process-wide settings are restored before each test (AppState).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

import pytest

import jobs.runner
import models
from app import create_app
from models import deadlines
from models.base import db
from models.estate import Branch, Estate
from models.org import Building, Cluster, Department, Resident, Unit
from models.users import User, UserEstate

PASSWORD = "correct-horse-1"
PG_URL = os.environ.get("TEST_DATABASE_URL")


def _config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        # Tests post forms with the token they read from the page, as a browser does.
        "WTF_CSRF_ENABLED": True,
        # scrypt with a small work factor: the suite makes hundreds of users and logins.
        # Production hashes with werkzeug's scrypt:32768:8:1 (test_auth proves it).
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory):
    """The one app the `app` fixture hands every test, with the state it had when built.

    Building an app registers ~740 URL rules and compiles each (about a second); one build per
    session keeps that cost out of every test. What a test may change is put back before the
    next (AppState.restore); tests that need other settings build their own with create_app.
    """
    folder = tmp_path_factory.mktemp("shared")
    app = create_app(_config(PG_URL or f"sqlite:///{folder / 'template.db'}"))
    return app, AppState(app)


class AppState:
    """What a test can change on the shared app, as built: config, extensions, views, WSGI."""

    def __init__(self, app):
        self.app = app
        self.config = copy.deepcopy(dict(app.config))
        self.extensions = dict(app.extensions)
        self.wsgi_app = app.wsgi_app
        self.jinja_globals = dict(app.jinja_env.globals)
        # Flask-Admin's view objects: a test may set page sizes and the like on one; the
        # views keep their per-request form data on themselves too (views/users.py).
        self.views = [(view, dict(view.__dict__)) for view in app.extensions["admin"][0]._views]

    def restore(self, database_url: str, instance_path: str) -> None:
        app = self.app
        app.config.clear()
        app.config.update(copy.deepcopy(self.config))
        app.config["DATABASE_URL"] = database_url
        app.instance_path = instance_path
        # Clients made on first use (attachment store, Sheets clients) follow the test's config.
        app.extensions.clear()
        app.extensions.update(self.extensions)
        app.wsgi_app = self.wsgi_app
        app.jinja_env.globals.clear()
        app.jinja_env.globals.update(self.jinja_globals)
        for view, attributes in self.views:
            view.__dict__.clear()
            view.__dict__.update(attributes)
        # The process-wide state the app's settings drive: database, office zone, hashing;
        # the calendar overrides are reloaded from the (empty) database by each request.
        models.bind(app)
        deadlines.set_overrides({})
        deadlines.set_estate_overrides({})
        # A job start that met "database is locked" is written by the next run (#15): not by
        # a run of the next test, on another database.
        jobs.runner._PENDING.clear()


@pytest.fixture(scope="session")
def template_db(shared_app, tmp_path_factory):
    """A migrated, empty database: a file to copy (SQLite) or the URL itself (PostgreSQL)."""
    app, _state = shared_app
    if PG_URL:
        with app.app_context(), db.connection_context():
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
        models.upgrade()
        db.close()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "desk.db"
    app.config["DATABASE_URL"] = f"sqlite:///{path}"
    models.bind(app)
    with app.app_context():
        models.upgrade()
    db.close()
    return path


# A table's foreign keys: (referencing table, referenced table), within our schema.
PG_FOREIGN_KEYS = """
    SELECT child.relname, parent.relname FROM pg_constraint c
    JOIN pg_class child ON child.oid = c.conrelid JOIN pg_class parent ON parent.oid = c.confrelid
    WHERE c.contype = 'f' AND child.relnamespace = current_schema()::regnamespace
"""


# Sequences read since their last restart, owned by a column of a table other than migratehistory.
PG_USED_SEQUENCES = """
    SELECT q.sequencename FROM pg_sequences q
    JOIN pg_class s
      ON s.relname = q.sequencename AND s.relnamespace = current_schema()::regnamespace
    JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    WHERE q.schemaname = current_schema() AND q.last_value IS NOT NULL
      AND t.relname <> 'migratehistory'
"""


def empty_postgresql() -> None:
    """Empty every table the migrations made (registers, the mirror's and the jobs' state too)
    and restart every sequence, as `TRUNCATE … RESTART IDENTITY CASCADE` of them all would.

    A test writes to a handful of the ~80 tables, and TRUNCATE makes new files for every table
    and index named (measured in README, "The suite's time"): only the tables holding rows are
    emptied, with DELETE, referencing tables before the tables they reference, and only the
    sequences used since their last restart are restarted. The table list and keys are read
    each time: a test may migrate or restore the schema.
    """
    tables = [t for t in db.get_tables() if t != "migratehistory"]
    if not tables:
        return
    holding = {row[0] for row in db.execute_sql(" UNION ALL ".join(
        f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables))}
    referenced_by: dict[str, set[str]] = {t: set() for t in holding}
    for child, parent in db.execute_sql(PG_FOREIGN_KEYS):
        if parent in holding and child in holding and child != parent:
            referenced_by[parent].add(child)
    statements = []
    while referenced_by:
        free = sorted(t for t, children in referenced_by.items() if not children)
        if not free:  # a cycle of keys between tables holding rows: empty them in one go
            statements.append("TRUNCATE " + ", ".join(f'"{t}"' for t in sorted(referenced_by))
                              + " CASCADE")
            break
        for table in free:
            statements.append(f'DELETE FROM "{table}"')
            del referenced_by[table]
        for children in referenced_by.values():
            children.difference_update(free)
    # The sequences of those tables' columns (as RESTART IDENTITY), never migratehistory's.
    statements += [f'ALTER SEQUENCE "{name}" RESTART'
                   for (name,) in db.execute_sql(PG_USED_SEQUENCES)]
    if statements:
        with db.atomic():
            db.execute_sql("; ".join(statements))


@pytest.fixture
def app(shared_app, template_db, tmp_path):
    """The shared app, put back as built and bound to a fresh, empty database."""
    app, state = shared_app
    if PG_URL:
        state.restore(PG_URL, str(tmp_path / "instance"))
        with db.connection_context():
            empty_postgresql()
    else:
        path = tmp_path / "desk.db"
        shutil.copy(template_db, path)
        state.restore(f"sqlite:///{path}", str(tmp_path / "instance"))
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def sms_fake(app):
    """The SMS providers' local fake, the app sending owners' SMS through Aliyun to it."""
    from sms_fake import SmsFake

    with SmsFake() as fake:
        app.config.update(SMS_PROVIDER="aliyun", SMS_ALIYUN=fake.aliyun_config())
        yield fake


@pytest.fixture(scope="session")
def _seeded_files(tmp_path_factory):
    return {}, tmp_path_factory.mktemp("seeded")


@pytest.fixture
def seed_demo_once(request, app, conn, _seeded_files):
    """Seed the demo estate (`demo.seed(**kwargs)`, as `flask demo seed`) into this test's database.

    On SQLite the first test of a module seeds and the file is kept: the module's next tests
    get a copy of it (seeding takes seconds of CPU and many commits; a copy, milliseconds). A
    test that already wrote rows, and PostgreSQL, seed in place.
    """
    from demo import seed

    cache, folder = _seeded_files

    def seed_once(**kwargs):
        key = (request.module.__name__, tuple(sorted(kwargs.items())))
        path = None if PG_URL else Path(db.obj.database)
        if path is None or Estate.select().exists() or User.select().exists():
            with app.app_context():
                return seed(**kwargs)
        kept = cache.get(key)
        if kept is None:
            with app.app_context():
                seed(**kwargs)
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            kept = folder / f"{len(cache)}.db"
            shutil.copy(path, kept)
            cache[key] = kept
            return None
        db.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(kept, path)
        db.connect()
        return None

    return seed_once


@pytest.fixture
def conn(app):
    """An open database connection for test setup and assertions.

    No app context is pushed here: requests must each get their own, as in production
    (a shared one would carry `g`, and the logged-in user, from request to request).
    """
    db.connect(reuse_if_open=True)
    yield db
    if not db.is_closed():
        db.close()


@pytest.fixture
def estate(conn):
    """A small estate (code TEST): one cluster, one building, a few units and residents."""
    branch = Branch.create(name="测试分公司")
    estate = Estate.create(branch=branch, code="TEST", name="测试花园")
    for kind, name in (("cs", "客服部"), ("engineering", "工程维修部")):
        Department.create(estate=estate, kind=kind, name=name)
    cluster = Cluster.create(estate=estate, name="第一组团")
    building = Building.create(estate=estate, cluster=cluster, name="1栋", floors=6)
    for room in ("101", "102", "201"):
        unit = Unit.create(estate=estate, building=building, room=room, code=f"1-1-{room}")
        Resident.create(estate=estate, unit=unit, name=f"业主{room}", phone="13800138000",
                        id_number="11010519491231002X")
    return estate


@pytest.fixture
def other_estate(conn):
    """A second estate whose rows users of TEST must never see."""
    branch = Branch.create(name="另一分公司")
    estate = Estate.create(branch=branch, code="OTHER", name="别家小区")
    cluster = Cluster.create(estate=estate, name="甲组团")
    building = Building.create(estate=estate, cluster=cluster, name="9栋")
    unit = Unit.create(estate=estate, building=building, room="901", code="9-1-901")
    Resident.create(estate=estate, unit=unit, name="外区住户", phone="13900139000")
    return estate


@pytest.fixture
def make_user(conn):
    """Create a user with a role (and estates); the password is PASSWORD."""

    def make(username: str, role: str, *estates, department: str | None = None) -> User:
        user = User(username=username, display_name=username, role=role,
                    department=department or ("engineering" if role == "dept" else None))
        user.set_password(PASSWORD)
        user.save()
        for estate in estates:
            UserEstate.create(user=user, estate=estate)
        return user

    return make


@pytest.fixture
def clerk(make_user, estate):
    """A clerk of estate TEST (clerk1) for tests that act as one without logging in."""
    return make_user("clerk1", "clerk", estate)


def engineering(estate) -> Department:
    """The estate's 工程维修部 (every test estate has one, see the estate fixture)."""
    return Department.get(Department.estate == estate.id, Department.kind == "engineering")


def insert_old_estate() -> None:
    """Branch 老分公司 and its estate OLD written in raw SQL, as an older schema stored them
    (today's models know newer columns): the rows the upgrade tests carry over."""
    db.execute_sql("INSERT INTO branch (created_at, updated_at, version, name,"
                   " general_manager, phone) VALUES ('2025-01-01 00:00:00',"
                   " '2025-01-01 00:00:00', 1, '老分公司', '', '')")
    db.execute_sql("INSERT INTO estate (created_at, updated_at, version, branch_id, code,"
                   " name, address, office_phone, active) VALUES ('2025-01-01 00:00:00',"
                   " '2025-01-01 00:00:00', 1, (SELECT id FROM branch), 'OLD', '老小区',"
                   " '', '', TRUE)")


CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client, url: str = "/login") -> str:
    """Read a CSRF token from a page, as a browser would."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html) or re.search(r'id="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture
def login_as(app, make_user, estate):
    """Return a logged-in test client for a new user of the given role in estate TEST."""

    def make(role: str, username: str | None = None, **kwargs):
        user = make_user(username or role, role, estate, **kwargs)
        client = app.test_client()
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.user = user
        return client

    return make
