"""Where the attachments are kept (#16): backups and restores of the local store, which refuses
names it did not make; S3-compatible storage (moto's server, the real boto3 client); and the
store failing: a Chinese 503, nothing half-saved, the form kept (#16 item 5)."""

from __future__ import annotations

import re

import attachment_support
import pytest
from attachment_support import new_order, photo, post_files, upload
from conftest import csrf_token

from models.attachments import Attachment
from models.storage import LocalStorage, local_folder
from ops.backup import backup_files, restore_files

# A demand of the test estate, a fixture pytest finds here by name (imported, a test taking it
# as a parameter would read as redefining the import).
demand = attachment_support.demand


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

