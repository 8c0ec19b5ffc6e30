"""The database: SQLite settings, PostgreSQL selection, and schema upgrades keeping data (#2)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PG_URL, insert_old_estate
from peewee import IntegrityError
from peewee_migrate import Router

import models
from app import create_app
from models.base import AwareDateTimeField, db, open_database, write_transaction
from models.estate import Branch, Estate
from models.org import Resident

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite-specific (suite runs on PostgreSQL)")


@sqlite_only
def test_sqlite_pragmas(app, conn):
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


@sqlite_only
def test_foreign_keys_are_enforced(app, conn):
    with pytest.raises(IntegrityError):
        Estate.create(branch=999, code="X", name="孤儿")


def test_database_url_selects_the_engine(tmp_path):
    assert type(open_database(f"sqlite:///{tmp_path}/a.db")).__name__ == "SqliteDatabase"
    pg = open_database("postgresql://postgres@127.0.0.1:5432/test")
    assert type(pg).__name__ == "PostgresqlDatabase"
    with pytest.raises(ValueError, match="不支持的数据库"):
        open_database("mysql://root@localhost/test")


def test_times_are_stored_as_utc_and_read_back_aware(app, conn, estate):
    local = dt.datetime(2026, 10, 1, 8, 30)  # office wall time (Asia/Shanghai)
    Resident.update(updated_at=local).where(Resident.id == 1).execute()
    raw = db.execute_sql("SELECT updated_at FROM resident WHERE id = 1").fetchone()[0]
    assert str(raw).startswith("2026-10-01 00:30")
    value = Resident.get_by_id(1).updated_at
    assert value.tzinfo is not None and value == dt.datetime(2026, 10, 1, 0, 30, tzinfo=dt.UTC)
    field = AwareDateTimeField()
    assert field.db_value(dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)) == \
        dt.datetime(2026, 1, 1, 0, 0)


def test_write_transaction_rolls_back_as_a_whole(app, conn, estate):
    before = Branch.select().count()
    with pytest.raises(RuntimeError):
        with write_transaction():
            Branch.create(name="半途")
            raise RuntimeError("boom")
    assert Branch.select().count() == before


def test_upgrade_keeps_the_data_of_an_older_schema(tmp_path):
    """A database made by schema 001 is upgraded to the latest with its rows intact."""
    url = PG_URL or f"sqlite:///{tmp_path}/old.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    with app.app_context(), db.connection_context():
        if PG_URL:  # start from an empty schema; the test leaves it at the latest version
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
        router = Router(db.obj, migrate_dir=models.MIGRATIONS_DIR)
        first = router.todo[0]
        router.run(first)
        assert router.done == [first]
        assert "audit_log" not in db.get_tables()
        # Rows written with the old schema (raw SQL: today's models know newer columns).
        insert_old_estate()
    db.close()

    applied = models.upgrade()
    assert applied and first not in applied
    with db.connection_context():
        estate = Estate.get(Estate.code == "OLD")
        assert estate.name == "老小区" and estate.branch.name == "老分公司"
        assert estate.created_at == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        assert "notes" in {c.name for c in db.get_columns("resident")}
        assert "audit_log" in db.get_tables()
    assert models.upgrade() == []  # idempotent


def test_cli_upgrade_is_idempotent(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "SECRET_KEY": "x"})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0 and "已升级数据库" in first.output
    second = runner.invoke(args=["db", "upgrade"])
    assert second.exit_code == 0 and "已是最新版本" in second.output
    status = runner.invoke(args=["db", "status"])
    assert "待应用：无" in status.output
