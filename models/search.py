"""Chinese substring search that an index can serve, on SQLite and PostgreSQL.

FINDINGS ("Search over Chinese text"): trigram indexes miss the two-character words staff type
most (漏水, 停电, 噪音). So each searchable row keeps, beside its text, the overlapping character
bigrams of every run of Chinese characters ("厨房漏水" → "厨房 房漏 漏水"), plus whole Latin/digit
tokens (unit codes, phone numbers). SQLite indexes that column with FTS5 (unicode61 tokenizer),
PostgreSQL with a GIN index on a `simple` tsvector (DDL: models/migrations/003_demands.py).
A query term becomes the phrase of its bigrams, so "漏水严重" must appear as written.
One-character terms fall back to a scan.

Register numbers (WX-2026-00123 work orders, JY- key loans, LS- passes, SJ- receipts, ZX-
decorations) are not words of a text: searched as a substring across every searchable column
they scanned the register (0.3–2.2 s at 1,000,000 rows, #14). A search word that is one of a
register's numbers, or the start of one, is looked up on its number column instead
(`split_number_search`, `number_clause`), where an index finds it. So is a word of 5–8 digits
alone, what a clerk types from a number's serial (00123 of WX-2026-00123): it is each of the
register's numbers with that serial (`serial_clause`), not a substring of every column.
"""

from __future__ import annotations

import re

from peewee import Expression, Field, Model, SqliteDatabase, TextField, fn
from playhouse.sqlite_ext import RowIDField

from models.base import db

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9A-Za-z]+(?:[-_.][0-9A-Za-z]+)*")
_CJK_RUN = re.compile(rf"[{_CJK}]+")


def bigrams(text: str | None) -> str:
    """The index text: CJK runs as overlapping bigrams, other tokens whole (lower-cased)."""
    out: list[str] = []
    for token in _TOKEN.findall(text or ""):
        if _CJK_RUN.fullmatch(token):
            if len(token) == 1:
                out.append(token)
            else:
                out.extend(token[i:i + 2] for i in range(len(token) - 1))
        else:
            out.append(token.lower())
    return " ".join(out)


def needs_scan(term: str) -> bool:
    """True when the term has no token the index can serve (e.g. one Chinese character)."""
    tokens = _TOKEN.findall(term)
    return not tokens or all(_CJK_RUN.fullmatch(t) and len(t) == 1 for t in tokens)


def _fts_phrase(term: str) -> str:
    # unicode61 splits 3-1-502 into 3, 1, 502; a phrase keeps them adjacent and in order.
    words = re.split(r"[\s\-_.]+", bigrams(term))
    return '"' + " ".join(w for w in words if w).replace('"', "") + '"'


def apply_search(query, model, fts_model, term: str, *, scan_field):
    """Narrow `query` on `model` to rows whose search_text contains `term`.

    Returns (query, ordered): ordered when the query is already in the index's order (newest
    registered first), which a grid keeps unless a column is chosen. On SQLite the FTS table
    is joined on rowid and the query ordered by it, newest first: FTS5 yields rowids in that
    order, so a page stops after 50 matches instead of sorting every match (measured in
    bench/demands_bench.py: 126–560 ms → ~1 ms at 1M rows).
    A one-character term has no bigram and is scanned on `scan_field`.
    """
    if needs_scan(term):
        return query.where(scan_field.contains(term)), False
    database = model._meta.database
    if isinstance(getattr(database, "obj", database), SqliteDatabase):
        query = query.join_from(model, fts_model, on=(fts_model.rowid == model.id)).where(
            Expression(fts_model.search_text, "MATCH", _fts_phrase(term)))
        return query.order_by(fts_model.rowid.desc()), True
    # PostgreSQL: the same order as SQLite (newest registered first), so a common term walks
    # the primary key backwards and stops after a page of matches instead of collecting and
    # sorting every match (#14 item 5: 85,567 matches for 电梯 at 1M); a rare term is still
    # found through the GIN index — the planner chooses by the term's frequency.
    query = query.where(Expression(fn.to_tsvector("simple", model.search_text), "@@",
                                   fn.phraseto_tsquery("simple", bigrams(term))))
    return query.order_by(model.id.desc()), True


# A register number as next_number issues it: the register's two letters, the year (or another
# middle part), the serial: WX-2026-00123. Upper case and ASCII only, so no LIKE wildcard.
_FULL_NUMBER = re.compile(r"[A-Z]{2}-[0-9A-Z]+-[0-9]{5,8}")
_NUMBER_START = re.compile(r"[A-Z]{2}-[0-9A-Z-]*")


# A number's serial as a clerk reads it off a slip: 00123 of WX-2026-00123 (next_number writes
# five digits or more; the bench's and imported registers eight).
_SERIAL = re.compile(r"[0-9]{5,8}")
_STEM = re.compile(r"([A-Z]{2}-[0-9A-Z]+-)[0-9]+")


def split_number_search(search: str, prefixes, *, serials: bool = True
                        ) -> tuple[list[str], str]:
    """(the words of `search` that are a register number with one of `prefixes` (two letters; a
    view's {prefix: column} will do), or the start of one, upper-cased, or a serial (5–8 digits
    alone, see serial_clause); the other words, joined by spaces as Flask-Admin's search splits
    them).

    "wx-2026-00123 漏水" with prefixes {"WX"} -> (["WX-2026-00123"], "漏水"); "00123 漏水" ->
    (["00123"], "漏水") (with serials=False: ([], "00123 漏水")). Shorter digits (502, 0123)
    keep the substring search of every column."""
    numbers, rest = [], []
    for word in search.split(" "):
        upper = word.upper()
        if ((_NUMBER_START.fullmatch(upper) and upper[:2] in prefixes)
                or (serials and _SERIAL.fullmatch(word))):
            numbers.append(upper)
        elif word:
            rest.append(word)
    return numbers, " ".join(rest)


def number_clause(field: Field, word: str):
    """Rows whose number is `word` (a whole number: equality), or begins with it (a prefix such
    as WX-2026-001), as a condition the number column's index serves on both engines."""
    if _FULL_NUMBER.fullmatch(word):
        return field == word
    # The start of a number: a range the index reads, from the word to the next prefix
    # ("WX-2026-009" <= n < "WX-2026-01"), and startswith (ILIKE 'WX-2026-009%') to keep
    # exactly the numbers that begin with it. The bound ends in a letter or digit raised by
    # one (never "9" -> ":" or a "-"): a collation that ignores punctuation (PostgreSQL under
    # en_US) would sort a bound ending in one elsewhere. No index serves SQLite's LIKE, nor
    # PostgreSQL's under a collation other than C: hence the range.
    condition = (field >= word) & field.startswith(word)
    bound = _past(word)
    return condition if bound is None else condition & (field < bound)


def _past(word: str) -> str | None:
    """The least string after every string that begins with `word`, ending in a letter or digit
    (see number_clause): "WX-2026" -> "WX-2027", "WX-2029" -> "WX-203", "WX" -> "WY"; None when
    there is none of that kind ("WX-Z")."""
    stem = word.rstrip("-9Z")
    if not stem or stem[-1] == "-":
        return None
    return stem[:-1] + chr(ord(stem[-1]) + 1)


# Steps per estate and prefix: the years a register is kept, with room for numbers of another
# form; a bound that does not follow the rows.
MAX_STEM_STEPS = 100


def number_stems(field: Field, prefix: str, estate_ids) -> list[str]:
    """The stems of the register's numbers that begin with `prefix` ("WX-2025-", "WX-2026-"),
    in the estates: one statement per stem and estate, each the first number past the stems
    already found, read from the (estate, number) index. Their count follows the years the
    register has been kept, not its rows. (A middle that begins with another, 2026 and 20260,
    would be stepped over with it; next_number writes years.)"""
    model, high = field.model, _past(prefix)
    stems = set()
    for estate_id in estate_ids:
        past, steps = field >= prefix, 0  # where the next stem's first number is
        while past is not None and steps < MAX_STEM_STEPS:
            steps += 1
            query = model.select(field).where(model.estate == estate_id, past)
            if high is not None:
                query = query.where(field < high)
            first = query.order_by(field).limit(1).scalar()
            if first is None:
                break
            stem = _STEM.fullmatch(first)
            if stem and first.startswith(prefix + "-"):
                stems.add(stem.group(1))
                following = _past(stem.group(1)[:-1])  # past every number of this stem
                past = None if following is None else field >= following
            else:  # not a number of this form (typed in by hand?): step past it alone
                past = field > first
    return sorted(stems)


def serial_clause(columns, serial: str, estate_ids):
    """Rows whose number has this serial (the digits after its last hyphen): what a clerk means
    by 5–8 digits typed into a register's search box (#14). `columns`: {prefix: field}. Each of
    the register's stems with the serial is looked up as that whole number (number_clause) on
    its column's index. It used to be a substring of every searchable column (LIKE '%00123%',
    the whole register read: 1.4–2.7 s at 1M); digits inside a longer serial (00123 of
    WX-B-00000123: type the whole serial) or in the texts (a phone number in a work order's
    wording) are not found this way. None when no number has a stem in these estates."""
    condition = None
    for prefix, field in columns.items():
        for stem in number_stems(field, prefix, estate_ids):
            found = number_clause(field, stem + serial)
            condition = found if condition is None else condition | found
    return condition


class DemandSearchIndex(Model):
    """The FTS5 table over demand.search_text (SQLite only; made by migration 003, kept by
    triggers). Declared so queries can join it; it is not in MODELS."""

    rowid = RowIDField()
    search_text = TextField()

    class Meta:
        database = db
        table_name = "demand_fts"
        primary_key = False
