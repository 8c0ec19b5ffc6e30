"""Exports are data, streamed, and follow who may see what (#12 items 4 and 5, #14 item 4).

Every register exports as CSV and XLSX with no executable cell even when every related name
starts with =1+1 and every text holds a vertical tab; values are the data (full text, real
dates, labels), never the screen's HTML; phone and ID numbers stay masked unless the user may
reveal them; clerks export the registers they keep; rows are read in batches, never all at once.
"""

from __future__ import annotations

import csv as csvlib
import datetime as dt
import io
from urllib.parse import unquote

import openpyxl
import pytest
from conftest import login
from peewee import CharField, TextField

import models
from demo import DEMO_PASSWORD
from models.base import db
from models.demands import Demand
from models.org import Resident
from models.register import AuditLog
from views import exports

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}
# Related rows' names as the grids and exports show them (str() of the row).
NAME_COLUMNS = {"estate": "name", "branch": "name", "cluster": "name", "building": "name",
                "unit": "code", "resident": "name", "department": "name",
                "app_user": "display_name"}
# Tables whose text is bookkeeping, not register text.
SKIP_TABLES = {"app_user", "audit_log", "login_attempt", "migratehistory"}


@pytest.fixture
def demo(app, conn, seed_demo_once):
    seed_demo_once(units=60, seed=11)  # as under `flask demo seed`
    return app


def client_for(app, username: str):
    client = app.test_client()
    assert login(client, username, DEMO_PASSWORD).status_code == 302
    return client


def export_views(app):
    admin = app.extensions["admin"][0]
    return [v for v in admin._views if "csv" in getattr(v, "export_types", ())]


def plant_hostile_text() -> None:
    """=1+1 before every related name; a vertical tab (from Word) in every free text."""
    for table, column in NAME_COLUMNS.items():
        db.execute_sql(f"UPDATE {table} SET {column} = '=1+1' || {column}")
    for model in models.MODELS:
        table = model._meta.table_name
        if table in SKIP_TABLES or table in NAME_COLUMNS:
            continue
        texts = [f.column_name for f in model._meta.sorted_fields
                 if isinstance(f, CharField | TextField) and not f.choices
                 and f.name not in ("number", "search_text")
                 and (isinstance(f, TextField) or (f.max_length or 0) >= 32)]
        for column in texts:
            db.execute_sql(f'UPDATE "{table}" SET "{column}" = "{column}" || {db.param}', ("\x0b",))


def executable_cells(cells) -> list:
    return [c for c in cells if isinstance(c, str) and (c.startswith(TRIGGERS)
                                                        or CONTROL & set(c))]


def csv_cells(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csvlib.reader(io.StringIO(text[1:])))


def test_every_register_exports_clean_csv_and_xlsx(demo, conn):
    plant_hostile_text()
    client = client_for(demo, "admin")
    views = export_views(demo)
    planted_seen, exported = False, 0
    for view in views:
        csv = client.get(f"/admin/{view.endpoint}/export/csv/")
        if csv.status_code == 403:  # a page of the system itself (job runs), not a register
            continue
        assert csv.status_code == 200, view.endpoint
        exported += 1
        assert csv.is_streamed, view.endpoint
        rows = csv_cells(csv)
        cells = [c for row in rows for c in row]
        assert executable_cells(cells) == [], view.endpoint
        assert not any("<span" in c or "<a " in c for c in cells), view.endpoint
        planted_seen |= any(c.startswith("'=1+1") for c in cells)
        xlsx = client.get(f"/admin/{view.endpoint}/export/xlsx/")
        assert xlsx.status_code == 200 and xlsx.is_streamed, view.endpoint
        book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
        sheet = book.active
        values = [cell.value for row in sheet.iter_rows() for cell in row]
        assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
        assert executable_cells(values) == [], view.endpoint
        # The same rows in both formats (the audit log has grown by the CSV export's row).
        assert sheet.max_row == len(rows) + (view.endpoint == "audit"), view.endpoint
    assert planted_seen and exported > 25


def test_demand_export_is_the_data_not_the_screen(demo, conn):
    long_text = "厨房水管漏水，楼下业主反映天花板渗水严重，已经持续三天，请尽快派人上门检查维修。"
    demand = Demand.select().where(Demand.voided == False).first()  # noqa: E712
    Demand.update(description=long_text).where(Demand.id == demand.id).execute()
    client = client_for(demo, "supervisor")
    csv = client.get("/admin/demand/export/csv/")
    rows = csv_cells(csv)
    assert rows[0][:3] == ["编号", "受理时间", "类别"]  # Chinese headers
    assert long_text in [c for row in rows for c in row]  # not the grid's 30 characters
    assert not any("<" in c for row in rows for c in row)
    name = unquote(csv.headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert name.startswith("业户需求-投诉_DEMO_") and name.endswith(".csv")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/admin/demand/export/xlsx/").data))
    sheet = book.active
    assert sheet.title == "业户需求-投诉"
    assert isinstance(sheet.cell(row=2, column=2).value, dt.datetime)  # a real date


def test_phone_numbers_are_masked_unless_the_user_may_reveal(demo, conn):
    phone = "13912345678"
    Resident.update(phone=phone).execute()
    viewer = client_for(demo, "manager").get("/admin/resident/export/csv/").get_data(as_text=True)
    assert phone not in viewer and "139****5678" in viewer
    before = AuditLog.select().where(AuditLog.action == "export").count()
    director = client_for(demo, "director").get("/admin/resident/export/csv/")
    assert phone in director.get_data(as_text=True)
    entry = AuditLog.select().where(AuditLog.action == "export").order_by(AuditLog.id.desc()).get()
    assert AuditLog.select().where(AuditLog.action == "export").count() == before + 1
    assert entry.estate.code == "DEMO" and '"revealed": ["id_number", "phone"]' in entry.changes
    assert "含完整号码" in entry.summary


@pytest.mark.parametrize(("username", "endpoint", "allowed"), [
    ("clerk", "demand", True),       # the registers a clerk keeps
    ("clerk", "key_set", True),
    ("clerk", "resident", False),    # not the list of every owner's phone
    ("clerk", "user", False),
    ("engineer", "demand", False),   # department staff do not export
    ("manager", "resident", True),   # read-only manager, masked
])
def test_who_may_export(demo, conn, username, endpoint, allowed):
    response = client_for(demo, username).get(f"/admin/{endpoint}/export/csv/")
    assert (response.status_code == 200) is allowed, response.status_code


def test_a_row_limit_is_a_setting_and_said_in_the_file(demo, conn):
    demo.config["EXPORT_MAX_ROWS"] = 3
    rows = csv_cells(client_for(demo, "supervisor").get("/admin/demand/export/csv/"))
    assert len(rows) == 1 + 3 + 1
    assert "已达导出上限 3 行" in rows[-1][0]


def test_rows_are_read_and_sent_in_batches(demo, conn, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_ROWS", 4)
    response = client_for(demo, "supervisor").get("/admin/demand/export/csv/", buffered=False)
    chunks = iter(response.response)
    header = next(chunks)
    first = next(chunks)
    if isinstance(first, bytes):
        header, first = header.decode(), first.decode()
    assert header.startswith("\ufeff编号")
    assert len(list(csvlib.reader(io.StringIO(first)))) == 4  # one batch, not the register
    response.close()
