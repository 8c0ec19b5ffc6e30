"""Exports stream in bounded memory and decide once per export (#14 item 4).

Counted, never timed: the rows alive while an export is being sent (one batch, whatever the
register holds); the first bytes leave before any row is read; the masking decision (who may
see full numbers, how each column is read) is made once per export, not once per row or cell;
an export reads only the columns it shows and still writes exactly what reading whole rows
wrote, for every register; a row cap, when set, is said on the grid before the download.
"""

from __future__ import annotations

import weakref

import pytest
import test_exports
from sql_support import statements_of

from models.demands import Demand
from models.org import Resident
from views import display, exports
from views.base import SecureModelView
from views.display import DisplayMixin

# The demo site and a logged-in client, as the export tests have them (pytest finds the
# fixture here by name).
demo, client_for = test_exports.demo, test_exports.client_for


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_holds_one_batch_of_rows_at_a_time(demo, conn, monkeypatch, kind):
    monkeypatch.setattr(exports, "BATCH_ROWS", 10)
    visible = Demand.select().where(Demand.voided == False).count()  # noqa: E712
    assert visible > 3 * 10  # several batches, so holding them all would show
    alive = weakref.WeakSet()  # every demand row object made while the export is sent
    made = Demand.__init__

    def counted_init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        alive.add(self)

    monkeypatch.setattr(Demand, "__init__", counted_init)
    client = client_for(demo, "supervisor")
    response = client.get(f"/admin/demand/export/{kind}/", buffered=False)
    held, chunks = [], 0
    for _chunk in response.response:
        chunks += 1  # (reference counting frees a batch as soon as it is dropped)
        held.append(len(alive))
    response.close()
    assert chunks > visible // 10  # sent batch by batch, not at the end
    assert 0 < max(held) <= 10


def test_first_bytes_leave_before_any_row_is_read(demo, conn, monkeypatch):
    reads = []
    real = exports.row_batches

    def counted(query, size=None):
        reads.append(1)
        yield from real(query, size)

    monkeypatch.setattr(display, "row_batches", counted)
    client = client_for(demo, "supervisor")
    for kind, start in (("csv", "\ufeff编号".encode()), ("xlsx", b"PK")):
        reads.clear()
        response = client.get(f"/admin/demand/export/{kind}/", buffered=False)
        first = next(iter(response.response))
        first = first.encode() if isinstance(first, str) else first
        assert first.startswith(start) and reads == [], kind
        response.close()


def test_masking_is_decided_once_per_export_whatever_the_rows(demo, conn, monkeypatch):
    decisions = {"readers": 0, "reveal": 0}
    real_reader, real_allowed = DisplayMixin._export_reader, SecureModelView.allowed

    def reader(self, *args):
        decisions["readers"] += 1
        return real_reader(self, *args)

    def allowed(self, action):
        decisions["reveal"] += action == "reveal"
        return real_allowed(self, action)

    monkeypatch.setattr(DisplayMixin, "_export_reader", reader)
    monkeypatch.setattr(SecureModelView, "allowed", allowed)
    client = client_for(demo, "manager")  # may export, may not reveal: phones masked
    made = []
    for _round in range(2):
        decisions.update(readers=0, reveal=0)
        text = client.get("/admin/resident/export/csv/").get_data(as_text=True)
        made.append((len(text.splitlines()) - 1, dict(decisions)))
        assert "****" in text  # the masking itself is done, cell by cell
        for resident in list(Resident.select()):  # triple the residents
            for n in (1, 2):
                values = {k: v for k, v in resident.__data__.items() if k != "id"}
                Resident.insert({**values, "name": f"{resident.name}{n}"}).execute()
    (rows_1, made_1), (rows_3, made_3) = made
    assert rows_3 >= 3 * rows_1 > 0
    view = next(v for v in demo.extensions["admin"][0]._views if v.endpoint == "resident")
    assert made_1 == made_3 == {"readers": len(view._export_columns), "reveal": 1}


def test_an_export_reads_only_the_columns_it_shows(demo, conn):
    statements, _response = statements_of(
        lambda: client_for(demo, "supervisor").get("/admin/demand/export/csv/").get_data())
    export_select = next(s for s in statements if 'FROM "demand"' in s and "LIMIT" not in s
                         and '"description"' in s)
    assert '"search_text"' not in export_select
    assert '"reply_content"' not in export_select


def test_reading_fewer_columns_writes_the_same_file_for_every_register(demo, conn, monkeypatch):
    client = client_for(demo, "admin")
    admin = demo.extensions["admin"][0]
    narrowed = 0
    for view in admin._views:
        if "csv" not in getattr(view, "export_types", ()) or view.endpoint == "audit":
            continue  # the audit log grows with every export
        url = f"/admin/{view.endpoint}/export/csv/"
        lean = client.get(url)
        if lean.status_code == 403:
            continue
        lean = lean.get_data(as_text=True)  # read it whole before the next request
        narrowed += view.export_fields() is not None
        with monkeypatch.context() as m:
            m.setattr(type(view), "export_fields", lambda self: None)
            whole = client.get(url).get_data(as_text=True)
        assert lean == whole, view.endpoint
    assert narrowed > 10


def test_a_row_cap_is_said_on_the_grid_before_downloading(demo, conn):
    client = client_for(demo, "supervisor")
    assert "每次最多导出" not in client.get("/admin/demand/").get_data(as_text=True)
    demo.config["EXPORT_MAX_ROWS"] = 3
    page = client.get("/admin/demand/").get_data(as_text=True)
    assert "每次最多导出 3 行" in page
