"""Attachments on the registers (#16): one mechanism, checked files, guarded reading, backups."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from attachment_support import EXE, GPS_IFD, MAKE, PDF, new_order, photo, png, post_files
from conftest import csrf_token
from PIL import Image

from models.attachments import Attachment, check_file, photos, scans
from models.base import RuleError, utcnow
from models.demands import Demand
from models.permits import HotWorkPermit
from models.register import AuditLog, save_record, void_record
from models.storage import LocalStorage, local_folder
from ops.backup import backup_files, restore_files


def upload(client, endpoint: str, row_id: int, kind: str, *files):
    token = csrf_token(client, f"/admin/{endpoint}/attach/?id={row_id}&kind={kind}")
    return post_files(client, f"/admin/{endpoint}/attach/?id={row_id}",
                      {"csrf_token": token, "kind": kind,
                       "file": [(data, name) for name, data in files]})


def field_error(response) -> list[str]:
    return re.findall(r'invalid-feedback d-block">([^<]*)<', response.get_data(as_text=True))


@pytest.fixture
def demand(conn, estate, make_user):
    clerk = make_user("desk1", "clerk", estate)
    return save_record(Demand(estate=estate.id, category="engineering", description="墙面渗水"),
                       clerk)


# Every register #16 lists keeps its paper and evidence through the one mechanism: endpoint ->
# {kind: sensitive}. ID copies (R-PASS-1, R-PASS-3) are the sensitive ones.
DECLARED = {
    "demand": {"owner": False},
    "work_order": {"before": False, "after": False, "signature": False},
    "emergency": {"scene": False, "register": False},
    "decoration": {"floor_plan": False, "inspection": False, "documents": False},
    "worker_pass": {"id_copy": True, "residence_permit": True},
    "hot_work": {"operator_cert": True, "id_copy": True},
    "goods_release": {"slip": False},
    "move_in": {"receipts": False},
    "rectification": {"problem": False, "fixed": False},
}


def test_every_register_with_paper_declares_its_kinds(app):
    views = {v.endpoint: v for v in app.extensions["admin"][0]._views}
    declared = {endpoint: {k.name: k.sensitive for k in views[endpoint].attachment_kinds}
                for endpoint in DECLARED}
    assert declared == DECLARED


# -- the file rules ----------------------------------------------------------------------------


def test_a_photo_is_reencoded_without_its_location_and_thumbnailed():
    original = photo(3000, 2000)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the phone wrote it
    kept = check_file(photos("p", "照片"), "IMG_0001.JPG", original)
    assert kept.content_type == "image/jpeg" and kept.ext == "jpg"
    image = Image.open(io.BytesIO(kept.data))
    assert dict(image.getexif()) == {} and MAKE not in image.getexif()
    assert b"Exif" not in kept.data and b"TestPhone" not in kept.data
    assert max(image.size) == 2560  # kept at a sensible size
    assert max(Image.open(io.BytesIO(kept.thumb)).size) <= 320


def test_a_signature_keeps_its_transparency_as_png():
    kept = check_file(photos("s", "签字"), "signature.png", png())
    assert kept.content_type == "image/png" and kept.thumb


@pytest.mark.parametrize(("name", "data", "message"), [
    ("photo.jpg", EXE, "不是可接受的文件"),
    ("scan.pdf", PDF, "只能是图片，不能是 PDF"),
    ("half.jpg", photo()[:400], "不是可接受的文件"),
    ("empty.jpg", b"", "空文件"),
])
def test_what_a_photo_kind_refuses(name, data, message):
    with pytest.raises(RuleError) as refused:
        check_file(photos("p", "现场照片"), name, data)
    assert message in refused.value.errors["file"]


def test_pdf_scans_are_parsed_and_active_content_refused():
    kind = scans("s", "扫描件")
    assert check_file(kind, "scan.pdf", PDF).content_type == "application/pdf"
    for bad, message in ((PDF.replace(b"%%EOF", b""), "不是完整的 PDF"),
                         (PDF.replace(b"/Catalog", b"/Catalog /OpenAction << /S /JavaScript >>"),
                          "含有脚本")):
        with pytest.raises(RuleError) as refused:
            check_file(kind, "scan.pdf", bad)
        assert message in refused.value.errors["file"]


def test_size_limit_per_kind():
    small = photos("sig", "业主签字", max_mb=1)
    with pytest.raises(RuleError) as refused:
        check_file(small, "big.jpg", b"\xff\xd8\xff" + b"0" * (1024 * 1024))
    assert "超过 1 MB" in refused.value.errors["file"]


# -- through the admin -------------------------------------------------------------------------


def test_upload_and_serve_through_the_demand_page(login_as, demand, app):
    clerk = login_as("clerk")
    response = upload(clerk, "demand", demand.id, "owner", ("厨房.jpg", photo()))
    assert response.status_code == 302
    kept = Attachment.get(Attachment.row_id == demand.id, Attachment.table == "demand")
    assert kept.kind == "owner" and kept.name == "厨房.jpg" and kept.created_by_id == clerk.user.id
    # Outside the web root, under its content hash.
    assert (local_folder(app) / kept.key).is_file() and "instance" in str(local_folder(app))
    assert AuditLog.get(AuditLog.action == "attach").row_id == demand.id

    page = clerk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert f"/admin/demand/file/?id={demand.id}&amp;file={kept.id}&amp;thumb=1" in page
    served = clerk.get(f"/admin/demand/file/?id={demand.id}&file={kept.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline;")
    assert "no-store" in served.headers["Cache-Control"]
    assert b"TestPhone" not in served.data
    thumb = clerk.get(f"/admin/demand/file/?id={demand.id}&file={kept.id}&thumb=1")
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320


def test_wrong_type_is_refused_next_to_the_field(login_as, demand):
    clerk = login_as("clerk")
    response = upload(clerk, "demand", demand.id, "owner", ("发票.jpg", EXE))
    assert response.status_code == 200
    assert any("不是可接受的文件" in message for message in field_error(response))
    assert Attachment.select().count() == 0


def test_too_large_is_refused_next_to_the_field(login_as, estate, conn):
    engineer = login_as("dept", "engineer", department="engineering")
    order = new_order(engineer.user, estate)
    # The owner's signature is at most 2 MB.
    response = upload(engineer, "work_order", order.id, "signature",
                      ("sign.png", b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024)))
    assert response.status_code == 200
    assert any("超过 2 MB" in message for message in field_error(response))
    assert Attachment.select().count() == 0


def test_another_estates_row_is_not_found(app, login_as, other_estate, make_user, conn):
    outsider = make_user("outsider", "clerk", other_estate)
    theirs = save_record(Demand(estate=other_estate.id, category="engineering",
                                description="别家的需求"), outsider)
    from models.attachments import attach

    with app.app_context():
        kept = attach(theirs, outsider, photos("owner", "业主照片"),
                      check_file(photos("owner", "业主照片"), "a.jpg", photo()))
    clerk = login_as("clerk")
    assert clerk.get(f"/admin/demand/file/?id={theirs.id}&file={kept.id}").status_code == 404
    assert clerk.get(f"/admin/demand/attach/?id={theirs.id}").status_code == 404
    # Nor through a row of one's own estate: the file must belong to the row named.
    mine = save_record(Demand(estate=clerk.user.estate_ids()[0], category="engineering",
                              description="本小区"), clerk.user)
    assert clerk.get(f"/admin/demand/file/?id={mine.id}&file={kept.id}").status_code == 404


def test_roles_that_may_not_attach(login_as, demand):
    viewer = login_as("viewer", "manager")
    assert viewer.get(f"/admin/demand/attach/?id={demand.id}").status_code == 403


def test_id_copies_need_the_reveal_permission_and_each_look_is_audited(login_as, estate, conn):
    clerk = login_as("clerk")
    director = login_as("director")
    start = utcnow() + dt.timedelta(hours=1)
    permit = save_record(HotWorkPermit(
        estate=estate.id, operator_name="焊工老陈", id_number="11010519491231002X",
        certificate_number="T110105194912310", location="1-1-101 阳台", work_from=start,
        work_to=start + dt.timedelta(hours=4), certificate_copy_kept=True, id_copy_kept=True),
        clerk.user)
    assert upload(clerk, "hot_work", permit.id, "operator_cert",
                  ("操作证.jpg", photo())).status_code == 302
    kept = Attachment.get(Attachment.table == HotWorkPermit._meta.table_name)
    assert kept.sensitive  # R-PASS-3
    page = clerk.get(f"/admin/hot_work/details/?id={permit.id}").get_data(as_text=True)
    assert "另有 1 份证件复印件" in page and f"file={kept.id}" not in page
    url = f"/admin/hot_work/file/?id={permit.id}&file={kept.id}"
    assert clerk.get(url).status_code == 403
    assert clerk.get(url + "&thumb=1").status_code == 403
    assert AuditLog.select().where(AuditLog.action == "file_view").count() == 0

    page = director.get(f"/admin/hot_work/details/?id={permit.id}").get_data(as_text=True)
    assert f"file={kept.id}" in page
    assert director.get(url).status_code == 200
    look = AuditLog.get(AuditLog.action == "file_view")
    assert look.user_id == director.user.id and look.row_id == permit.id


def test_voiding_keeps_the_attachments(login_as, demand):
    supervisor = login_as("supervisor")
    upload(supervisor, "demand", demand.id, "owner", ("a.jpg", photo()))
    kept = Attachment.get()
    void_record(Demand.get_by_id(demand.id), supervisor.user, "重复登记")
    assert Attachment.select().count() == 1
    assert supervisor.get(f"/admin/demand/file/?id={demand.id}&file={kept.id}").status_code == 200
    # A voided row takes no new files.
    assert supervisor.get(f"/admin/demand/attach/?id={demand.id}").status_code == 302


def test_backup_copies_the_files_and_restore_puts_them_back(login_as, demand, app):
    clerk = login_as("clerk")
    upload(clerk, "demand", demand.id, "owner", ("a.jpg", photo()))
    kept = Attachment.get()
    live = local_folder(app) / kept.key
    assert backup_files(app) == 2  # the picture and its thumbnail
    assert backup_files(app) == 0  # incremental: nothing new
    live.unlink()
    assert restore_files(app) == 1 and live.is_file()


def test_local_store_refuses_names_it_did_not_make(tmp_path):
    store = LocalStorage(tmp_path)
    for name in ("../secret.jpg", "ab/../../x.jpg", "ab/" + "a" * 64 + ".exe"):
        with pytest.raises(Exception, match="附件名称无效"):
            store.get(name)


# -- S3-compatible storage (moto's server, the real boto3 client) ------------------------------


@pytest.fixture
def s3_app(app):
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    app.config.update(ATTACHMENT_STORAGE="s3", S3_BUCKET="desk-files", S3_PREFIX="test",
                      S3_ENDPOINT_URL=f"http://127.0.0.1:{port}", S3_REGION="us-east-1",
                      S3_ACCESS_KEY_ID="testing", S3_SECRET_ACCESS_KEY="testing")
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="desk-files")
    app.s3, app.s3_server = client, server
    yield app
    server.stop()


def test_s3_storage_keeps_and_serves_the_files(s3_app, login_as, demand):
    clerk = login_as("clerk")
    assert upload(clerk, "demand", demand.id, "owner", ("a.jpg", photo())).status_code == 302
    kept = Attachment.get()
    names = [o["Key"] for o in s3_app.s3.list_objects_v2(Bucket="desk-files")["Contents"]]
    assert f"test/{kept.key}" in names and f"test/{kept.thumb_key}" in names
    assert not local_folder(s3_app).exists()
    served = clerk.get(f"/admin/demand/file/?id={demand.id}&file={kept.id}")
    stored = s3_app.s3.get_object(Bucket="desk-files", Key=f"test/{kept.key}")["Body"].read()
    assert served.status_code == 200 and served.data == stored



# -- the store failing: a Chinese 503, nothing half-saved, the form kept (#16 item 5) -----------


class SlowDown:
    """An S3 endpoint that answers every request 503 SlowDown (the fault an overloaded store
    gives), reached over real HTTP by the real boto3 client."""

    BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")

    def __enter__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        body = self.BODY

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_HEAD = _refuse

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


UNAVAILABLE = "附件存储暂时不可用，请稍后重试"


def assert_storage_page(response):
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and UNAVAILABLE in html
    # Neither a traceback nor the cause (hosts, buckets) reaches the page.
    assert "Traceback" not in html and "SlowDown" not in html and "127.0.0.1" not in html


def test_s3_slowdown_refuses_the_application_and_keeps_what_was_typed(app, login_as, estate):
    """A decoration application whose floor plan the store refuses (503 SlowDown): nothing
    saved (no application, no deposits, no attachment), the form comes back with the typed
    text and the Chinese message, answered 503 (R-DECO-1)."""
    from test_records import form_data

    from models.decoration import Decoration
    from models.deposits import Deposit
    from models.org import Unit

    clerk = login_as("clerk")
    unit = Unit.get(Unit.code == "1-1-101")
    data = form_data(clerk, "/admin/decoration/new/")
    data.update({"unit": str(unit.id), "owner_name": "业主101", "contractor": "美居装饰公司",
                 "plan_summary": "改水电、卫生间防水（已打字的内容）",
                 "works_start": "2026-12-10", "works_end": "2027-01-10",
                 "floor_plan_upload": (photo(), "平面图.jpg")})
    with SlowDown() as store:
        app.config.update(ATTACHMENT_STORAGE="s3", S3_BUCKET="desk-files",
                          S3_ENDPOINT_URL=store.url, S3_ACCESS_KEY_ID="testing",
                          S3_SECRET_ACCESS_KEY="testing")
        response = post_files(clerk, "/admin/decoration/new/", data)
    assert_storage_page(response)
    assert "改水电、卫生间防水（已打字的内容）" in response.get_data(as_text=True)
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0
    assert Attachment.select().count() == 0


def test_s3_slowdown_on_the_phone_keeps_the_order_open(app, login_as, estate, conn):
    """完工 with photos while the store answers 503: the order stays open, the phone page's
    script gets 503 and the message, and retries later with the same key."""
    engineer = login_as("dept", "engineer", department="engineering")
    order = new_order(engineer.user, estate)
    html = engineer.get(f"/m/order/{order.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(engineer, f"/m/order/{order.id}"),
            "key": re.search(r'name="key" value="([^"]+)"', html).group(1),
            "result": "更换接头", "after": [(photo(), "after.jpg")]}
    with SlowDown() as store:
        app.config.update(ATTACHMENT_STORAGE="s3", S3_BUCKET="desk-files",
                          S3_ENDPOINT_URL=store.url, S3_ACCESS_KEY_ID="testing",
                          S3_SECRET_ACCESS_KEY="testing")
        answer = post_files(engineer, f"/m/order/{order.id}/complete", data,
                            headers={"Accept": "application/json"})
        plain = post_files(engineer, f"/m/order/{order.id}/complete", data)
    assert answer.status_code == 503 and answer.json["errors"][""] == [UNAVAILABLE]
    assert_storage_page(plain)
    assert "更换接头" in plain.get_data(as_text=True)  # the typed result is still there
    from models.work_orders import WorkOrder

    assert WorkOrder.get_by_id(order.id).state == "open" and Attachment.select().count() == 0


def test_s3_connection_refused_answers_the_chinese_503(s3_app, login_as, demand):
    """moto's server stops (connection refused): reading a file and adding one answer 503 in
    Chinese; the upload page keeps its form."""
    clerk = login_as("clerk")
    assert upload(clerk, "demand", demand.id, "owner", ("a.jpg", photo())).status_code == 302
    kept = Attachment.get()
    url = f"/admin/demand/attach/?id={demand.id}&kind=owner"
    token = csrf_token(clerk, url)
    s3_app.s3_server.stop()
    assert_storage_page(clerk.get(f"/admin/demand/file/?id={demand.id}&file={kept.id}"))
    refused = post_files(clerk, f"/admin/demand/attach/?id={demand.id}",
                         {"csrf_token": token, "kind": "owner",
                          "file": [(photo(color="red"), "b.jpg")]})
    assert_storage_page(refused)
    assert 'name="file"' in refused.get_data(as_text=True)  # the form, to try again
    assert Attachment.select().count() == 1
    # The row's own page still opens (its thumbnails are separate requests).
    assert clerk.get(f"/admin/demand/details/?id={demand.id}").status_code == 200


def test_the_demo_shows_photos_and_a_signature(app, conn):
    """`flask demo seed` attaches Pillow-drawn photos through the attachment mechanism: the
    owners' photos on engineering demands, before/after photos and the owner's signature on
    finished work orders, every decoration's floor plan — thumbnails a newcomer sees (#16)."""
    from conftest import login

    from demo import DEMO_PASSWORD
    from demo import seed as seed_demo
    from models.work_orders import WorkOrder

    with app.app_context():
        seed_demo(units=60, seed=3)
    kinds = {}
    for attachment in Attachment.select():
        kinds.setdefault((attachment.table, attachment.kind), []).append(attachment)
    assert len(kinds[("demand", "owner")]) >= 3
    for kind in ("before", "after", "signature"):
        assert len(kinds[("work_order", kind)]) >= 2
    assert ("decoration", "floor_plan") in kinds
    assert all(a.thumb_key for group in kinds.values() for a in group if a.is_image)
    order = WorkOrder.get_by_id(kinds[("work_order", "after")][0].row_id)
    assert order.state in ("completed", "closed")
    clerk = app.test_client()
    login(clerk, "clerk", DEMO_PASSWORD)
    page = clerk.get(f"/admin/work_order/details/?id={order.id}").get_data(as_text=True)
    assert page.count("thumb=1") == 3
    thumb = clerk.get(f"/admin/work_order/file/?id={order.id}"
                      f"&file={kinds[('work_order', 'after')][0].id}&thumb=1")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
