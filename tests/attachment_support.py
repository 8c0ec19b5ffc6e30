"""Files and rows for the attachment and phone-page tests (#16): pictures and scans as phones
and scanners make them, a demand and a dispatched work order, and posting files to a row."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import csrf_token
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from models.demands import Demand
from models.org import Department
from models.register import save_record
from models.work_orders import WorkOrder, dispatch_demand

DATA = Path(__file__).parent / "data"
# GPS IFD and a camera maker: what a phone writes and what must not be kept.
GPS_IFD, MAKE = 0x8825, 0x010F

PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
       b"xref\n0 3\n0000000000 65535 f \ntrailer\n<< /Root 1 0 R /Size 3 >>\n"
       b"startxref\n110\n%%EOF\n")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def photo(width: int = 800, height: int = 600, color: str = "steelblue",
          gps: bool = True) -> bytes:
    """A JPEG as a phone writes it: with its maker and where it was taken in EXIF."""
    image = Image.new("RGB", (width, height), color)
    exif = image.getexif()
    exif[MAKE] = "TestPhone"
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(width: int = 200, height: int = 80) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


def new_order(user, estate, *, kind: str = "engineering", description: str = "厨房水管漏水",
              contact_phone: str = "13800138000") -> WorkOrder:
    """A demand recorded at the desk and dispatched to the estate's `kind` department."""
    department = Department.get_or_none(Department.estate == estate.id, Department.kind == kind)
    if department is None:
        department = Department.create(estate=estate, kind=kind, name=f"{kind}部")
    demand = save_record(Demand(estate=estate.id, category="engineering", description=description,
                                contact_name="业主101", contact_phone=contact_phone), user)
    return dispatch_demand(demand, user, department_id=department.id, location="1-1-101")


def post_files(client, url: str, data: dict, **kwargs):
    """A multipart post built in memory (the test client spools big bodies to a temporary file
    it never closes, which the warnings-as-errors setting turns into a failure)."""
    fields = MultiDict()
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                content, filename = item
                item = FileStorage(io.BytesIO(content), filename=filename)
            fields.add(name, item)
    boundary, body = encode_multipart(fields)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       **kwargs)


@pytest.fixture
def demand(conn, estate, make_user):
    clerk = make_user("desk1", "clerk", estate)
    return save_record(Demand(estate=estate.id, category="engineering", description="墙面渗水"),
                       clerk)


def upload(client, endpoint: str, row_id: int, kind: str, *files):
    """Files of one kind added to a row through its admin attach form."""
    token = csrf_token(client, f"/admin/{endpoint}/attach/?id={row_id}&kind={kind}")
    return post_files(client, f"/admin/{endpoint}/attach/?id={row_id}",
                      {"csrf_token": token, "kind": kind,
                       "file": [(data, name) for name, data in files]})


def page_key(html: str) -> str:
    """The idempotency key of the page's first form (what the phone's script posts back)."""
    return re.search(r'name="key" value="([^"]+)"', html).group(1)
