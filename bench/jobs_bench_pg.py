"""The overdue sweep at scale on PostgreSQL (bench/jobs_bench.py with BENCH_PG_URL set).

The rows are those of the SQLite database jobs_bench.py built (same data, same NOW), copied
table by table with COPY into a PostgreSQL database migrated by the product's own migrations:
the secondary indexes are dropped during the copy and rebuilt after, foreign keys are not
checked during it (session_replication_role = replica; the rows come from a consistent
database), the id sequences are moved past the copied ids, then VACUUM ANALYZE. The database
is kept: a table `bench_jobs_stamp` says which data it holds, and a later run only empties what
the sweep writes (flags, messages, job runs and leases) instead of copying again.

Use a database of its own (e.g. BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/wt_c_bench):
the test suite empties every table of the database it runs on.
"""

from __future__ import annotations

import io
import os
import sqlite3
import time
from pathlib import Path

# What the sweep writes: emptied before each measured run, so the first sweep is a first sweep.
SWEEP_WRITES = ("overdue_flag", "outbox_message", "delivery_attempt", "job_run", "job_lease",
                "overdue_digest")
# SQLite-only tables (the search index) and the migrations' own record are not copied.
SKIP = ("migratehistory", "sqlite_", "demand_fts")
COPY_ROWS = 50_000  # rows per COPY buffer


def _escape(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    text = str(value)
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _copy_table(source: sqlite3.Connection, cursor, table: str, columns: list[str]) -> int:
    quoted = ", ".join(f'"{c}"' for c in columns)
    rows = source.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid')
    copied = 0
    while True:
        chunk = rows.fetchmany(COPY_ROWS)
        if not chunk:
            return copied
        buffer = io.StringIO("".join("\t".join(_escape(v) for v in row) + "\n" for row in chunk))
        cursor.copy_expert(f'COPY "{table}" ({quoted}) FROM STDIN', buffer)
        copied += len(chunk)


def load_postgres(url: str, sqlite_path: Path, stamp: str) -> None:
    """Migrate the database at `url` and copy every row of the SQLite database into it (or
    reuse it when it already holds this data)."""
    import models
    from app import create_app
    from models.base import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        models.upgrade()
    with db.connection_context():
        db.execute_sql("CREATE TABLE IF NOT EXISTS bench_jobs_stamp (stamp TEXT)")
        held = db.execute_sql("SELECT stamp FROM bench_jobs_stamp").fetchone()
        if held and held[0] == stamp:
            print("   PostgreSQL: reusing the copied rows; emptying what the sweep writes",
                  flush=True)
            db.execute_sql(f"TRUNCATE {', '.join(SWEEP_WRITES)}")
            return
        started = time.perf_counter()
        source = sqlite3.connect(sqlite_path)
        tables = [name for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(SKIP) and name in db.get_tables()]
        # Indexes that back no constraint are dropped for the copy and rebuilt after it.
        indexes = db.execute_sql(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public'"
            " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)", (tables,)).fetchall()
        with db.atomic():
            db.execute_sql("SET LOCAL session_replication_role = replica")
            db.execute_sql(f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)}"
                           " RESTART IDENTITY CASCADE")
            db.execute_sql("DELETE FROM bench_jobs_stamp")
            for name, _ in indexes:
                db.execute_sql(f'DROP INDEX "{name}"')
            cursor = db.cursor()
            counts = {}
            for table in tables:
                mine = {c.name for c in db.get_columns(table)}
                columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')
                           if row[1] in mine]
                counts[table] = _copy_table(source, cursor, table, columns)
                if "id" in columns and counts[table]:
                    db.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                                   f' (SELECT MAX(id) FROM "{table}"))')
            copied = time.perf_counter() - started
            for _, definition in indexes:
                db.execute_sql(definition)
            db.execute_sql("INSERT INTO bench_jobs_stamp VALUES (%s)", (stamp,))
        source.close()
        # As autovacuum leaves a table in production: visibility map set (index-only scans
        # read no rows), statistics taken.
        db.execute_sql("VACUUM ANALYZE")
        print(f"   PostgreSQL: copied {sum(counts.values()):,} rows of {len(tables)} tables in"
              f" {copied:.0f} s, indexes rebuilt, vacuumed and analysed in"
              f" {time.perf_counter() - started - copied:.0f} s", flush=True)


def run_postgres(url: str, scale: float, sqlite_path: Path, stamp: str) -> None:
    """The full sweep (first run) and an unchanged sweep on PostgreSQL, as on SQLite."""
    from app import create_app
    from bench.jobs_bench import sweep
    from bench.jobs_data import timed
    from models.base import db

    load_postgres(url, sqlite_path, stamp)
    db.close()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        with db.connection_context():
            version = db.execute_sql("SHOW server_version").fetchone()[0]
        print(f"   PostgreSQL {version}, scale {scale:g}; load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        (first, first_s) = timed("PostgreSQL: full sweep (first run)", lambda: sweep(app))
        (again, again_s) = timed("PostgreSQL: unchanged sweep (re-run)", lambda: sweep(app))
        print(f"   PostgreSQL flags raised/cleared: first {first}, re-run {again}")
        print(f"   PostgreSQL: full sweep {first_s:.2f} s (goal 10 s), unchanged sweep "
              f"{again_s:.2f} s (goal 2 s); load average {os.getloadavg()[0]:.2f}", flush=True)
    db.close()
