"""A grid that declares what its cells read (`column_list_reads`) selects only those columns and
draws the same rows as with the whole row read (#14 throughput: the demand grid read 48 columns
of every row, its bigram search text and reply texts among them, to show 10)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import login
from sql_support import page_statements

from demo import DEMO_PASSWORD
from models.demands import Demand


@pytest.fixture
def demo(app, conn, seed_demo_once):
    seed_demo_once(units=120, seed=7)
    # Rows whose deadline cell reads more than the shown columns: a revised deadline (the
    # original shown beside it), a late reply (its minutes), an answered one.
    first = list(Demand.select().order_by(Demand.received_at.desc()).limit(6))
    assert len(first) == 6
    revised, late, answered = first[:3]
    Demand.update(original_reply_due=revised.reply_due - dt.timedelta(hours=5)).where(
        Demand.id == revised.id).execute()
    Demand.update(missed_replies=1, late_minutes=95).where(Demand.id == late.id).execute()
    Demand.update(replied_at=answered.reply_due + dt.timedelta(hours=1), missed_replies=1,
                  late_minutes=60).where(Demand.id == answered.id).execute()
    return app


def grid_table(html: str) -> str:
    """The grid's table, the rows' HTML (not the page's tokens or menu)."""
    return html.split("model-list", 1)[1].split("</table>", 1)[0]


def demand_select(sql: list[str]) -> str:
    return next(s for s in sql if s.startswith("('SELECT") and 'FROM "demand" AS "t1"' in s
                and "LIMIT" in s)


def test_demand_grid_reads_only_the_columns_it_shows(demo):
    view = next(v for v in demo.extensions["admin"][0]._views if v.endpoint == "demand")
    client = demo.test_client()
    assert login(client, "supervisor", DEMO_PASSWORD).status_code == 302
    client.get("/admin/demand/")  # warm-up: the process's caches

    html, sql = page_statements(client, "/admin/demand/")
    select = demand_select(sql)
    read = set(re.findall(r'"t1"\."(\w+)"', select.split(" FROM ", 1)[0]))
    assert read == {Demand._meta.fields[name].column_name for name in view.list_fields()}
    assert not read & {"search_text", "reply_content", "measures", "cause", "result"}
    assert len(read) < len(Demand._meta.fields) / 2
    assert "已修订" in html and "曾超时 95 分钟" in html  # the cells that read more were drawn

    # The same rows, drawn from the whole row.
    declared = view.column_list_reads
    view.column_list_reads = None
    try:
        whole_html, whole_sql = page_statements(client, "/admin/demand/")
    finally:
        view.column_list_reads = declared
    assert '"t1"."search_text"' in demand_select(whole_sql)
    assert grid_table(whole_html) == grid_table(html)
