"""The outbox grid (通知发送记录) names each in-app message's recipient without a query per row
(#14: bench/pages_bench.py found 26 user lookups on a 50-row page)."""

from __future__ import annotations

from sql_support import page_statements

from models.outbox import OutboxMessage


def _page(client) -> tuple[str, list[str]]:
    return page_statements(client, "/admin/outbox/")


def _messages(estate, users, start: int) -> None:
    for i, user in enumerate(users, start):
        OutboxMessage.create(estate=estate, key=f"test-{i}", event="work_order_new",
                             channel="inapp", audience="staff", user=user, text="新维修单")


def _user_lookups(sql: list[str]) -> int:
    return sum(1 for s in sql if 'FROM "app_user"' in s)


def test_recipients_are_named_without_a_query_per_row(login_as, make_user, conn, estate):
    client = login_as("supervisor")
    _messages(estate, [make_user("worker0", "dept", estate)], 0)
    html, sql = _page(client)
    one = _user_lookups(sql)
    workers = [make_user(f"worker{i}", "dept", estate) for i in range(1, 6)]
    _messages(estate, workers, 1)
    html, sql = _page(client)
    assert all(f"worker{i}" in html for i in range(6))  # display_name = username here
    assert _user_lookups(sql) == one
