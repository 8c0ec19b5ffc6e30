"""The register side of the mirror: what each tab should hold, read from committed rows.

One query per register (its own fields plus the joined ones, LEFT OUTER so a row never goes
missing for an empty foreign key), scoped to one estate, voided rows left out, in id order.
Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from peewee import JOIN

from models.i18n import office_language
from sync.mapping import Mirror, formatter, resolve, year_of
from sync.plan import TabTarget

# A tab is split by year before it would pass this many cells (header and key column included).
# Google's limit is 10 million cells per spreadsheet, for all tabs together.
DEFAULT_TAB_CELL_LIMIT = 2_000_000


@dataclass(frozen=True)
class Row:
    key: int
    cells: tuple[str, ...]
    year: int | None
    # Latest updated_at of the row and of the rows its columns are joined from: tells a change
    # made in the register from a hand edit in the sheet.
    changed_at: dt.datetime | None


# What the office keeps is in its language, whoever asked (#12 item 2).
@office_language()
def project(mirror: Mirror, estate_id: int) -> list[Row]:
    """The register's rows for one estate as the sheet shows them, in key order."""
    model = mirror.model
    aliases: dict[tuple[str, ...], object] = {}
    joins = []
    selected = []
    cells = []  # per column: (first selected index, how many, how to write the cell)
    for column in mirror.columns:
        first = len(selected)
        for path in column.paths:
            hops, last = resolve(model, path)
            source = model
            prefix: tuple[str, ...] = ()
            for fk in hops:
                prefix += (fk.name,)
                if prefix not in aliases:
                    alias = fk.rel_model.alias()
                    on = getattr(source, fk.name) == getattr(alias, fk.rel_field.name)
                    joins.append((source, alias, on))
                    aliases[prefix] = alias
                source = aliases[prefix]
            selected.append(getattr(source, last.name))
        hops, last = resolve(model, column.path)
        cells.append((first, len(column.paths), column.render or formatter(last)))
    stamps = [model.updated_at, *(alias.updated_at for alias in aliases.values())]
    year_column = getattr(model, mirror.year_field)
    query = model.select(model.id, year_column, *stamps, *selected)
    for source, alias, on in joins:
        query = query.join_from(source, alias, JOIN.LEFT_OUTER, on=on)
    query = query.where(model.estate == estate_id)
    if "voided" in model._meta.fields:  # the deposit ledger has no void: nothing leaves it
        query = query.where(model.voided == False)  # noqa: E712
    if mirror.where is not None:
        query = query.where(mirror.where(model))
    n_stamps = len(stamps)
    rows = []
    for record in query.order_by(model.id).tuples().iterator():
        key, year_value = record[0], record[1]
        stamps_of_row = [s for s in record[2:2 + n_stamps] if s is not None]
        values = record[2 + n_stamps:]
        rows.append(Row(
            key=key,
            cells=tuple(write(*values[first:first + n]) for first, n, write in cells),
            year=year_of(year_value),
            changed_at=max(stamps_of_row) if stamps_of_row else None,
        ))
    return rows


def split_by_year(mirror: Mirror, rows: list[Row], cell_limit: int) -> dict[str, list[Row]]:
    """Tab title -> rows: one tab, or one per year once one tab would pass `cell_limit` cells."""
    width = 1 + len(mirror.columns)
    if (1 + len(rows)) * width <= cell_limit:
        return {mirror.title: rows}
    tabs: dict[str, list[Row]] = {}
    for row in rows:
        title = f"{mirror.title} {row.year}" if row.year else f"{mirror.title} 未知年份"
        tabs.setdefault(title, []).append(row)
    return dict(sorted(tabs.items()))


def tab_targets(mirror: Mirror, rows: list[Row], *, cell_limit: int = DEFAULT_TAB_CELL_LIMIT,
                synced_since: Mapping[str, dt.datetime | None] | None = None) -> list[TabTarget]:
    """What each of the register's tabs should hold.

    `synced_since` maps a tab title to the start of its last successful sync: rows changed after
    it are the register's own changes; any other difference on the sheet is a hand edit.
    """
    synced_since = synced_since or {}
    targets = []
    for title, tab_rows in split_by_year(mirror, rows, cell_limit).items():
        since = synced_since.get(title)
        fresh = None
        if since is not None:
            fresh = frozenset(r.key for r in tab_rows
                              if r.changed_at is None or r.changed_at > since)
        targets.append(TabTarget(
            title=title,
            register=mirror.name,
            header=mirror.headers,
            rows=[(r.key, r.cells) for r in tab_rows],
            fresh=fresh,
            changed_at={r.key: r.changed_at for r in tab_rows if r.changed_at is not None},
        ))
    return targets
