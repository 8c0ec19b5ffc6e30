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
    from models.base import db

    calls = [0]

    def count():
        calls[0] += 1
        return 0

    connection = db.connection()
    connection.set_progress_handler(count, STEP)
    try:
        response = client.get(url)
    finally:
        connection.set_progress_handler(None, STEP)
    assert response.status_code == 200, (url, response.status_code)
    return calls[0]
