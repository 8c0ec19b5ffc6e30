"""The one way a schema step that only adds indexes writes them (#14: 011, 023–026).

Not a migration itself: peewee-migrate runs only the files named like `026_queue_indexes.py`
(Router.filemask, three digits first), and imports this one when a step does.

A step lists its indexes as (name, table, columns) or (name, table, columns, where) and takes
its migrate and rollback from `index_migration`:

    migrate, rollback = index_migration(INDEXES)

Applied steps are never run again, but every fresh database runs them all: what this module
issues must stay the same to the byte. A step that needs other DDL writes it itself, or is a new
step; it does not change what this module issues for the steps already written. A step whose
DDL differs by engine (triggers, the search index) issues it through `engine_sql`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import peewee as pw


class Index(NamedTuple):
    """An index as a step names it; `where` makes it a partial index (both engines have them)."""

    name: str
    table: str
    columns: tuple[str, ...]  # columns, expressions in parentheses, `col DESC`
    where: str | None = None

    def create_sql(self) -> str:
        columns = ", ".join(self.columns)
        where = f" WHERE {self.where}" if self.where else ""
        return f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} ({columns}){where}"


class Statistics(NamedTuple):
    """Extended statistics (PostgreSQL's CREATE STATISTICS; SQLite has none and skips them)."""

    name: str
    kinds: tuple[str, ...]  # ndistinct, dependencies, mcv
    columns: tuple[str, ...]
    table: str

    def create_sql(self) -> str:
        return (f"CREATE STATISTICS IF NOT EXISTS {self.name} ({', '.join(self.kinds)})"
                f" ON {', '.join(self.columns)} FROM {self.table}")


def index_migration(indexes: Iterable[tuple], statistics: Iterable[tuple] = ()):
    """The migrate and rollback of a step that adds these indexes (and PostgreSQL statistics)."""
    indexes = tuple(Index(*entry) for entry in indexes)
    statistics = tuple(Statistics(*entry) for entry in statistics)

    def migrate(migrator, database: pw.Database, *, fake=False):
        """Apply this schema step."""
        for index in indexes:
            migrator.sql(index.create_sql())
        if statistics and isinstance(database, pw.PostgresqlDatabase):
            for stats in statistics:
                migrator.sql(stats.create_sql())

    def rollback(migrator, database: pw.Database, *, fake=False):
        """Undo this schema step."""
        for index in indexes:
            migrator.sql(f"DROP INDEX IF EXISTS {index.name}")
        if statistics and isinstance(database, pw.PostgresqlDatabase):
            for stats in statistics:
                migrator.sql(f"DROP STATISTICS IF EXISTS {stats.name}")

    return migrate, rollback


def engine_sql(migrator, database: pw.Database, *, sqlite: Iterable[str],
               postgres: Iterable[str]) -> None:
    """Issue the statements written for the database's engine (a step's triggers, FTS …): the
    one place a step chooses between its SQLite and PostgreSQL DDL."""
    for statement in postgres if isinstance(database, pw.PostgresqlDatabase) else sqlite:
        migrator.sql(statement)
