"""Photos on the owner's H5 report (issue #17 item 1): up to 4, through the attachment
mechanism of the demand register (checked, re-encoded, EXIF stripped), seen by the desk as
业主照片 and by the owner on 我的报修 — and by no other owner."""

from __future__ import annotations

import io

import test_h5
from attachment_support import EXE, GPS_IFD, MAKE, PDF, photo, post_files
from conftest import csrf_token
from PIL import Image
from test_h5 import OWNER_A, OWNER_B, sign_in

from models.attachments import Attachment
from models.demands import Demand
from models.org import Unit
from models.storage import storage

# The H5 tests' fixtures: the SMS fake and two owners of two units.
fake, owners = test_h5.fake, test_h5.owners


def report(client, unit_code="1-1-101", photos=(), **fields):
    unit = Unit.get(Unit.code == unit_code)
    data = {"csrf_token": csrf_token(client, "/h5/new"), "unit": str(unit.id), "kind": "help",
            "category": "engineering", "description": "卫生间天花板漏水", **fields}
    if photos:
        data["photos"] = list(photos)
    return post_files(client, "/h5/new", data)


def owner_files():
    return list(Attachment.select().where(Attachment.table == "demand"))


def test_photos_are_kept_with_the_demand_stripped_and_seen_by_desk_and_owner(
        app, fake, owners, login_as):
    client = sign_in(app, fake, OWNER_A)
    response = report(client, photos=[(photo(), "IMG_0001.jpg"),
                                      (photo(color="tomato"), "IMG_0002.jpg")])
    assert response.status_code == 302, response.get_data(as_text=True)
    demand = Demand.get(Demand.channel == "owner_self")
    files = owner_files()
    assert [(f.row_id, f.kind, f.created_by_id) for f in files] == [(demand.id, "owner", None)] * 2
    # Re-encoded without the phone's EXIF (where it was taken, which phone).
    with app.app_context():
        kept = Image.open(io.BytesIO(storage().get(files[0].key)))
    assert MAKE not in kept.getexif() and not kept.getexif().get_ifd(GPS_IFD)
    # The owner sees them on 我的报修 and can open each, full size and thumbnail.
    page = client.get(response.location).get_data(as_text=True)
    url = f"/h5/demands/{demand.id}/photos/{files[0].id}"
    assert f'href="{url}"' in page and 'id="photos"' in page
    full = client.get(url)
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in full.headers["Cache-Control"]
    thumb = client.get(url + "?thumb=1")
    assert thumb.status_code == 200 and len(thumb.data) < len(full.data)
    # The desk sees the thumbnails on the demand, as the register's 业主照片.
    desk = login_as("clerk")
    html = desk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert html.count(f"/admin/demand/file/?id={demand.id}&amp;file=") >= 2
    assert "业主照片" in html
    assert desk.get(f"/admin/demand/file/?id={demand.id}&file={files[1].id}").status_code == 200


def test_a_fifth_photo_refuses_the_report_and_saves_nothing(app, fake, owners):
    client = sign_in(app, fake, OWNER_A)
    response = report(client, photos=[(photo(), f"IMG_{n}.jpg") for n in range(5)])
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "最多上传 4 张照片，您选择了 5 张" in html
    assert 'id="photos-error"' in html
    assert Demand.select().where(Demand.channel == "owner_self").count() == 0
    assert owner_files() == []
    # Four are fine.
    response = report(client, photos=[(photo(), f"IMG_{n}.jpg") for n in range(4)])
    assert response.status_code == 302 and len(owner_files()) == 4


def test_a_file_that_is_not_a_picture_is_refused_next_to_the_field(app, fake, owners):
    client = sign_in(app, fake, OWNER_A)
    for content, name, words in ((EXE, "leak.jpg", "不是可接受的文件"),
                                 (PDF, "scan.pdf", "只能是图片，不能是 PDF")):
        response = report(client, photos=[(photo(), "ok.jpg"), (content, name)])
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and words in html and "照片需重新选择" in html
        # The description typed is kept for the second try.
        assert "卫生间天花板漏水" in html
    assert Demand.select().where(Demand.channel == "owner_self").count() == 0
    assert owner_files() == []


def test_a_photo_over_the_size_limit_is_refused(app, fake, owners):
    client = sign_in(app, fake, OWNER_A)
    big = photo() + b"\0" * (10 * 1024 * 1024)
    response = report(client, photos=[(big, "huge.jpg")])
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "超过 10 MB" in html
    assert Demand.select().where(Demand.channel == "owner_self").count() == 0
    assert owner_files() == []


def test_another_owners_photo_is_404(app, fake, owners):
    owner_a = sign_in(app, fake, OWNER_A)
    assert report(owner_a, photos=[(photo(), "a.jpg")]).status_code == 302
    app.config["H5_CODE_INTERVAL_SECONDS"] = 0
    owner_b = sign_in(app, fake, OWNER_B)
    assert report(owner_b, "1-1-102", photos=[(photo(), "b.jpg")]).status_code == 302
    mine_a = Demand.get(Demand.contact_phone == OWNER_A)
    mine_b = Demand.get(Demand.contact_phone == OWNER_B)
    (file_a,) = Attachment.select().where(Attachment.row_id == mine_a.id)
    (file_b,) = Attachment.select().where(Attachment.row_id == mine_b.id)
    # B asks for A's photo: by A's demand, or under B's own demand with A's file id.
    assert owner_b.get(f"/h5/demands/{mine_a.id}/photos/{file_a.id}").status_code == 404
    assert owner_b.get(f"/h5/demands/{mine_b.id}/photos/{file_a.id}").status_code == 404
    assert owner_b.get(f"/h5/demands/{mine_b.id}/photos/{file_b.id}").status_code == 200
    # Signed out (or a staff login): back to the H5 sign-in, never the file.
    anonymous = app.test_client()
    answer = anonymous.get(f"/h5/demands/{mine_a.id}/photos/{file_a.id}")
    assert answer.status_code == 302 and answer.location.endswith("/h5/login")
