"""The SQL statements an action runs, read from peewee's debug log (to pin that a page's or a
job's statements do not grow with the rows in the database; never a timing)."""

from __future__ import annotations

import logging

STEP = 10  # SQLite VM instructions per progress-handler call


class _Statements(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record):
        if record.name == "peewee":  # the statements, not a pool's "returning to pool"
            self.sql.append(record.getMessage())


def statements_of(action) -> tuple[list[str], object]:
    """(the statements `action()` ran, what it returned)."""
    logger = logging.getLogger("peewee")
    handler, saved = _Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        result = action()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
    return handler.sql, result


def page_statements(client, url: str) -> tuple[str, list[str]]:
    """(the HTML of a page view, which must answer 200; the statements it ran)."""
    sql, response = statements_of(lambda: client.get(url))
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True), sql


def vm_steps(client, url: str) -> int:
    """SQLite VM instructions (in STEPs) one request runs, on the connection it borrows: the
    work inside a page's statements, which grows when one reads and sorts every match."""
    steps, response = vm_steps_of(lambda: client.get(url))
    assert response.status_code == 200, (url, response.status_code)
    return steps


def vm_steps_of(action) -> tuple[int, object]:
    """(SQLite VM instructions in STEPs on the current connection while `action()` runs, its
    result): the same counter for a model function called outside a request."""
    from models.base import db

    calls = [0]

    def count():
        calls[0] += 1
        return 0

    connection = db.connection()
    connection.set_progress_handler(count, STEP)
    try:
        result = action()
    finally:
        connection.set_progress_handler(None, STEP)
    return calls[0], result


class _Queries(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries: list[tuple[str, tuple]] = []

    def emit(self, record):
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            self.queries.append((record.msg[0], tuple(record.msg[1] or ())))


def page_plans(client, url: str, table: str) -> list[str]:
    """The plans of a page view's SELECTs of one page of `table` (LIMIT, no COUNT), as text:
    SQLite's EXPLAIN QUERY PLAN lines, PostgreSQL's EXPLAIN with sequential scans priced out
    (`enable_seqscan = off`), so a plan still scanning the table has no index it could use."""
    from models.base import db

    logger = logging.getLogger("peewee")
    handler, saved = _Queries(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        response = client.get(url)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
    assert response.status_code == 200, (url, response.status_code)
    pages = [(sql, params) for sql, params in handler.queries
             if sql.startswith("SELECT") and f'FROM "{table}"' in sql and "LIMIT" in sql
             and "COUNT(" not in sql]
    postgres = "postgres" in type(getattr(db, "obj", db)).__name__.lower()
    plans = []
    for sql, params in pages:
        if postgres:
            db.execute_sql("SET enable_seqscan = off")
            try:
                rows = db.execute_sql("EXPLAIN " + sql, params).fetchall()
            finally:
                db.execute_sql("RESET enable_seqscan")
            plans.append("\n".join(row[0] for row in rows))
        else:
            rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            plans.append("\n".join(row[-1] for row in rows))
    assert plans, (url, handler.queries)
    return plans
