"""Small things that add up (#12 item 9): a conflict on save that can be resolved, the
worker-pass card on one card, compact grids, office language on the mirror and jobs pages."""

from __future__ import annotations

import re
from pathlib import Path

from test_records import form_data

from models.org import Resident


def test_a_conflict_links_the_newer_version_marks_what_changed_and_can_be_saved(login_as,
                                                                                estate):
    first = login_as("clerk")
    second = login_as("supervisor")
    resident = Resident.get(Resident.name == "业主101")
    url = f"/admin/resident/edit/?id={resident.id}"
    mine, theirs = form_data(first, url), form_data(second, url)
    theirs["phone"] = "13700137000"
    assert second.post(url, data=theirs).status_code == 302
    mine["notes"] = "业主来电：下午在家"
    response = first.post(url, data=mine)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"[^>]*id="newer-version"', html)
    assert link and link.group(1).endswith(f"/admin/resident/details/?id={resident.id}")
    assert "业主来电：下午在家" in html  # the typed input is kept
    # What the other person changed is said next to its field; what they did not, is not.
    assert re.search(r'id="phone".*?他人已改为：13700137000', html, re.S)
    assert not re.search(r'id="name".{0,400}他人已改为', html, re.S)
    assert Resident.get_by_id(resident.id).notes == ""
    # Having checked, the clerk takes the new phone and saves again: it goes through.
    version = re.search(r'name="row_version"[^>]*value="(\d+)"'
                        r'|value="(\d+)"[^>]*name="row_version"', html)
    mine["row_version"] = next(v for v in version.groups() if v)
    mine["phone"] = "13700137000"
    assert first.post(url, data=mine).status_code == 302
    fresh = Resident.get_by_id(resident.id)
    assert (fresh.phone, fresh.notes) == ("13700137000", "业主来电：下午在家")


def test_the_jobs_and_mirror_pages_speak_the_office_language(app, login_as, estate):
    """No shell command, job id or process id on the 定时任务 and 镜像状态 pages (#12 item 9);
    the commands are in README."""
    from jobs.registry import JOBS

    client = login_as("admin")
    for url in ("/admin/jobs/", "/admin/sheets/"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        assert "立即运行" in html or "尚未配置镜像表格" in html, url
        assert "flask --app" not in html and "--estate" not in html, url
        assert "SHEETS_EMULATOR_HOST" not in html and "进程" not in html, url
    jobs_page = client.get("/admin/jobs/").get_data(as_text=True)
    for job in JOBS:
        assert f">{job.id}<" not in jobs_page and str(job.label) in jobs_page
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "jobs run" in readme and "sheets configure" in readme and "db restore" in readme


def test_the_audit_grid_has_a_time_column_in_office_time(login_as, estate):
    """Who did what — and when (#12 item 9): the first column is 时间, in office wall time."""
    from models.base import to_office
    from models.register import AuditLog

    client = login_as("supervisor")
    resident = Resident.get(Resident.name == "业主102")
    url = f"/admin/resident/edit/?id={resident.id}"
    data = {**form_data(client, url), "notes": "改一下"}
    assert client.post(url, data=data).status_code == 302
    entry = AuditLog.select().order_by(AuditLog.id.desc()).get()
    html = client.get("/admin/audit/").get_data(as_text=True)
    headers = re.findall(r'<th class="column-header[^"]*">\s*(?:<a[^>]*>)?\s*([^<\s]+)', html)
    assert headers[0] == "时间", headers
    assert f"{to_office(entry.created_at):%Y-%m-%d %H:%M}" in html
