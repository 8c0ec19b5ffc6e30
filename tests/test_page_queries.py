"""A page's SQL statements do not grow with its rows (#14 item 4, "Done when").

Every register grid is opened with N and with 3N rows a page (page_size), and the front desk,
its queue links, the callback queue and the monthly review before and after the demands are
tripled: the number of statements must not grow with the rows. A per-row lookup (a related
name, a badge, a formatter asking the database) shows up as statements that grow with them.
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import PG_URL, _config, login
from sql_support import statements_of

from app import create_app
from demo import DEMO_PASSWORD
from demo import seed as seed_demo
from models.base import db
from models.demands import Demand


def _grid_endpoints() -> list[str]:
    """The endpoints of every register grid, from an app built only to list them."""
    app = create_app({"DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x"})
    return sorted(v.endpoint for v in app.extensions["admin"][0]._views
                  if hasattr(v, "get_list") and hasattr(v, "page_size_options"))


GRIDS = _grid_endpoints()


@pytest.fixture(scope="module")
def demo(template_db, tmp_path_factory):
    """The demo estate, seeded once for the module (grids need rows to page through)."""
    if PG_URL:
        app = create_app(_config(PG_URL))
        with db.connection_context():
            tables = [t for t in db.get_tables() if t != "migratehistory"]
            db.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                           + " RESTART IDENTITY CASCADE")
    else:
        path = tmp_path_factory.mktemp("pages") / "desk.db"
        shutil.copy(template_db, path)
        app = create_app(_config(f"sqlite:///{path}"))
    with app.app_context(), db.connection_context():
        seed_demo(units=60, seed=5)
    yield app
    if not db.is_closed():
        db.close()


def statements(client, url: str) -> tuple[list[str], str]:
    """The SQL statements one page view runs, and its HTML."""
    sql, response = statements_of(lambda: client.get(url))
    assert response.status_code == 200, (url, response.status_code)
    return sql, response.get_data(as_text=True)


def rows_shown(html: str) -> int:
    """The grid's rows: the <tr> after its header, up to the end of its table."""
    grid = html.split("model-list", 1)[-1]
    body = grid.split("</thead>", 1)[-1].split("</table>", 1)[0]
    return len(re.findall(r"<tr[\s>]", body))  # an empty grid's one message row: < 3N


N = 1


@pytest.mark.parametrize("endpoint", GRIDS)
def test_grid_statements_do_not_grow_with_its_rows(demo, endpoint):
    view = next(v for v in demo.extensions["admin"][0]._views if v.endpoint == endpoint)
    view.page_size_options = (N, 3 * N, 20, 50, 100)
    client = demo.test_client()
    assert login(client, "admin", DEMO_PASSWORD).status_code == 302
    url = f"/admin/{endpoint}/"
    statements(client, url)  # warm-up: caches of the process (calendar, filter options)
    few, html_few = statements(client, url + f"?page_size={N}")
    more, html_more = statements(client, url + f"?page_size={3 * N}")
    if rows_shown(html_more) < 3 * N:
        pytest.skip(f"the demo has fewer than {3 * N} rows in {endpoint}")
    assert rows_shown(html_few) == N
    # A lookup per row adds at least one statement per added row (2N here). The only other
    # difference allowed: a related column empty in all of the first N rows and filled in a
    # later one costs its one per-page query on the bigger page only.
    assert len(more) - len(few) < 2 * N, "\n".join(more)


def test_grid_count_stops_at_its_cap(demo):
    """#14 item 2: a grid counts its rows up to count_cap and shows "1000+" style beyond it,
    with the previous/next pager; the count's statement stops after cap + 1 rows."""
    view = next(v for v in demo.extensions["admin"][0]._views if v.endpoint == "resident")
    client = demo.test_client()
    assert login(client, "admin", DEMO_PASSWORD).status_code == 302
    _sql, html = statements(client, "/admin/resident/?page_size=20")
    exact = int(re.search(r"\((\d+)\)</a>", html).group(1))
    assert exact > 25, "the demo needs more residents than two pages of 20"
    assert "(25+)" not in html
    view.count_cap = 25
    try:
        sql, html = statements(client, "/admin/resident/?page_size=20")
        sql_next, html_next = statements(client, "/admin/resident/?page_size=20&page=1")
    finally:
        del view.count_cap
    assert "(25+)" in html and f"({exact})" not in html
    counts = [s for s in sql if re.search(r"\bCOUNT\s*\(", s, re.I) and '"resident"' in s]
    assert len(counts) == 1 and re.search(r"LIMIT (\?|%s)\) AS", counts[0]), counts
    assert "26" in counts[0].rsplit("[", 1)[-1], counts  # the cap + 1 rows, no more
    # Past the cap the numbered pager (which would end at the cap's page) gives way to
    # previous/next: page 2 links back to page 1 and on to page 3.
    assert "page=1" in html and "page=2" in html_next
    assert rows_shown(html) == rows_shown(html_next) == 20


def test_grid_under_its_cap_shows_the_exact_count(demo):
    client = demo.test_client()
    assert login(client, "admin", DEMO_PASSWORD).status_code == 302
    _sql, html = statements(client, "/admin/survey_round/")
    shown = int(re.search(r"\((\d+)\)</a>", html).group(1))
    assert shown == rows_shown(html) > 0


def _triple_demands() -> None:
    """Two more copies of every demand (numbers made distinct), in every state of the loop."""
    rows = [dict(d.__data__) for d in Demand.select()]
    for copy in (1, 2):
        batch = []
        for row in rows:
            row = {k: v for k, v in row.items() if k != "id"}
            row["number"] = f"{row['number']}-{copy}"
            batch.append(row)
        for start in range(0, len(batch), 100):
            Demand.insert_many(batch[start:start + 100]).execute()


def test_front_desk_queues_and_review_do_not_grow_with_the_demands(demo):
    client = demo.test_client()
    assert login(client, "supervisor", DEMO_PASSWORD).status_code == 302
    home = client.get("/admin/").get_data(as_text=True)
    queue_links = sorted(set(re.findall(r'href="(/admin/demand/\?flt[^"]+)"', home)))
    assert queue_links  # 已超期, 待派工 … each links to the filtered grid
    pages = ["/admin/", "/admin/callback_queue/", "/admin/review/",
             *(link.replace("&amp;", "&") for link in queue_links)]
    for url in pages:
        statements(client, url)  # warm-up
    before = {url: len(statements(client, url)[0]) for url in pages}
    with db.connection_context():
        _triple_demands()
    after = {url: len(statements(client, url)[0]) for url in pages}
    assert after == before


INDEXES_011 = {
    "demand": {"demand_estate_id_voided_closed_at", "demand_estate_id_voided_missed_replies",
               "demand_status_replied_at_invalid_notice_due"},
    "work_order": {"work_order_estate_id_voided_completed_at",
                   "work_order_estate_id_needs_callback"},
    "callback": {"callback_estate_id_voided_called_at"},
}


def test_front_desk_counts_are_answered_from_migration_011_indexes(app, conn, estate):
    """#14 item 3: closed_at >= shift start and missed_replies > 0 read an index, not the table
    (on PostgreSQL the plans at size are printed by `make bench BENCH=pages`)."""
    from models.base import is_sqlite, utcnow
    from views.home import shift_start

    for table, names in INDEXES_011.items():
        assert names <= {index.name for index in db.get_indexes(table)}, table
    if not is_sqlite():
        return
    mine = Demand.live().where(Demand.estate.in_([estate.id]))
    for query, index in (
            (mine.where(Demand.closed_at >= shift_start(utcnow())),
             "demand_estate_id_voided_closed_at"),
            (Demand.answered_late().where(Demand.estate.in_([estate.id])),
             "demand_estate_id_voided_missed_replies")):
        sql, params = query.select(Demand.id).sql()
        plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert index in plan, plan

