"""A grid's relation filter offers the newest rows of a growing register, not 500 (#14).

bench/pages_bench.py (SQLite, a supervisor of ten estates, 100k → 1M): the committee-item grid's
first page 33 → 62 ms and the service-registration grid's 44 → 64 ms while both registers were
empty: the 沟通 / 批次 filters' drop-downs were built on every page view from the user's
meetings (100 → 1,000) and service batches (200 → 2,000), up to 500 of them, unordered — two
thirds of the page. Those related registers declare `filter_recent_options` beside their
models (views.scoping.RelationFilter): the newest 50, newest first, read backwards along the
primary key. Counted as SQLite's virtual-machine instructions for one request
(tests/page_rows_support.py), before and after the meetings and batches grow fivefold.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD, PG_URL, login
from page_rows_support import GROWTH, vm_steps

from models.base import utcnow
from models.batches import ServiceBatch
from models.committee import CommitteeContact

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's instruction counter")

PAGES = ("/admin/committee_item/", "/admin/service_registration/")


def _meetings_and_batches(estates, n: int, start: int) -> None:
    """n committee meetings and n service batches per estate, `start` days ago and earlier."""
    now = utcnow()
    for estate in estates:
        CommitteeContact.insert_many([{
            "estate": estate, "held_at": now - dt.timedelta(days=start + i),
            "attendees": "主任、客服", "topics": "停车位", "committee_opinions": "同意"}
            for i in range(n)]).execute()
        ServiceBatch.insert_many([{
            "estate": estate, "number": f"PC-T-{estate.id}-{start + i:05d}", "kind": "lock",
            "day": (now - dt.timedelta(days=start + i)).date()}
            for i in range(n)]).execute()


def test_relation_filters_offer_the_newest_rows_only(app, conn, estate, other_estate,
                                                      make_user):
    make_user("chief", "supervisor", estate, other_estate)
    client = app.test_client()
    assert login(client, "chief", PASSWORD).status_code == 302
    estates = [estate, other_estate]
    _meetings_and_batches(estates, 60, 0)
    for url in PAGES:
        vm_steps(client, url)  # warm-up: the process's caches
    before = {url: vm_steps(client, url) for url in PAGES}
    _meetings_and_batches(estates, 60 * (GROWTH - 1), 60)
    after = {url: vm_steps(client, url) for url in PAGES}
    grown = {url: round(after[url] / before[url], 2) for url in PAGES
             if after[url] > 1.3 * before[url]}
    assert not grown, (grown, before, after)
    # The batch registered last (the highest id) is offered, the first one registered is not.
    page = client.get("/admin/service_registration/").get_data(as_text=True)
    assert f"PC-T-{other_estate.id}-00299" in page
    assert f"PC-T-{estate.id}-00000" not in page
