"""Decoration patrols (装修巡查, #16): recorded from the phone with photos, once per key; the
follow-ups' rules; the decoration's page lists them; the sweep flags works not patrolled in
JOBS_DECORATION_PATROL_DAYS days."""

from __future__ import annotations

import datetime as dt

import pytest
from attachment_support import EXE, page_key, photo, post_files
from conftest import csrf_token
from decoration_support import apply, make_staff, to_permit

from jobs.models import OverdueFlag
from jobs.overdue import mark_overdue
from models.attachments import Attachment
from models.base import RuleError, utcnow
from models.decoration import Decoration
from models.patrols import DecorationPatrol, record_patrol

JSON = {"Accept": "application/json"}


@pytest.fixture
def works(conn, estate, tmp_path):
    """A decoration of 1-1-101 under works (permit issued), and the staff who got it there."""
    staff = make_staff(estate)
    return to_permit(apply(estate, staff["clerk"], tmp_path), staff), staff


def post_patrol(client, decoration, **fields):
    html = client.get(f"/m/patrols/{decoration.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, f"/m/patrols/{decoration.id}"),
            "key": page_key(html), "findings": "卫生间墙体开槽", "follow_up": "none", **fields}
    return post_files(client, f"/m/patrols/{decoration.id}", data, headers=JSON)


def test_a_patrol_from_the_phone_with_violations_and_photos(login_as, works):
    decoration, _ = works
    guard = login_as("dept", "guard", department="security")
    listing = guard.get("/m/patrols/").get_data(as_text=True)
    assert decoration.number in listing and "装修巡查（1）" in listing
    html = guard.get(f"/m/patrols/{decoration.id}").get_data(as_text=True)
    key = page_key(html)
    fields = {"key": key, "violations": ["noise", "hot_work"], "follow_up": "rectify",
              "rectify_by": (utcnow() + dt.timedelta(days=3)).date().isoformat(),
              "photos": [(photo(), "现场.jpg"), (photo(color="red"), "现场2.jpg")]}
    for _ in range(2):  # a retry of the same submission saves nothing more
        response = post_patrol(guard, decoration, **fields)
        assert response.status_code == 200 and response.json["ok"], response.json
    patrol = DecorationPatrol.get()
    assert DecorationPatrol.select().count() == 1
    assert patrol.violation_labels == ["噪音超时", "违规动火"]
    assert patrol.patrolled_by_id == guard.user.id and patrol.follow_up == "rectify"
    assert Attachment.of(patrol).count() == 2

    clerk = login_as("clerk", "desk1")
    page = clerk.get(f"/admin/decoration/details/?id={decoration.id}").get_data(as_text=True)
    assert "卫生间墙体开槽" in page and "噪音超时" in page and "限期整改" in page
    details = clerk.get(f"/admin/decoration_patrol/details/?id={patrol.id}")
    assert details.get_data(as_text=True).count("thumb=1") == 2


def test_follow_ups_are_checked_next_to_their_fields(login_as, works):
    decoration, _ = works
    guard = login_as("dept", "guard", department="security")
    cases = [({"findings": " "}, "findings", "必填"),
             ({"follow_up": "rectify"}, "follow_up", "没有违规行为"),
             ({"violations": ["noise"], "follow_up": "rectify"}, "rectify_by", "整改期限"),
             ({"violations": ["load_wall"], "follow_up": "deduction"}, "deduction_amount",
              "须填写金额"),
             ({"violations": ["load_wall"], "follow_up": "deduction",
               "deduction_amount": "5000"}, "deduction_amount", "不能超过装修押金 3000.00 元"),
             ({"photos": [(EXE, "a.jpg")]}, "photos", "不是可接受的文件")]
    for fields, name, message in cases:
        response = post_patrol(guard, decoration, **fields)
        assert response.status_code == 400
        assert message in response.json["errors"][name][0], (fields, response.json)
    assert DecorationPatrol.select().count() == 0
    assert not Attachment.select().where(Attachment.table == "decoration_patrol").exists()
    response = post_patrol(guard, decoration, violations=["load_wall"], follow_up="deduction",
                           deduction_amount="500")
    assert response.status_code == 200
    assert str(DecorationPatrol.get().deduction_amount) == "500.00"


def test_who_may_patrol_what(login_as, works, other_estate, conn):
    decoration, _ = works
    cleaner = login_as("dept", "cleaner", department="cleaning")
    assert post_patrol(cleaner, decoration).json["errors"][""] == ["装修巡查由保安或工程人员登记"]
    guard = login_as("dept", "guard", department="security")
    Decoration.update(estate=other_estate.id).where(Decoration.id == decoration.id).execute()
    assert guard.get(f"/m/patrols/{decoration.id}").status_code == 404
    assert decoration.number not in guard.get("/m/patrols/").get_data(as_text=True)


def test_the_sweep_flags_works_not_patrolled_in_seven_days(works):
    decoration, staff = works
    issued = decoration.permit_issued_at
    day = dt.timedelta(days=1)

    def flagged(now):
        mark_overdue(now)
        return {row for (row,) in OverdueFlag.select(OverdueFlag.row_id).where(
            OverdueFlag.rule == "decoration_patrol", OverdueFlag.cleared_at.is_null()).tuples()}

    assert flagged(issued + 7 * day - dt.timedelta(seconds=1)) == set()
    assert flagged(issued + 7 * day + dt.timedelta(seconds=1)) == {decoration.id}
    patrol = record_patrol(staff["engineer"], decoration, findings="正常施工")
    DecorationPatrol.update(patrolled_at=issued + 8 * day).where(
        DecorationPatrol.id == patrol.id).execute()
    assert flagged(issued + 9 * day) == set()  # patrolled: cleared, the flag stays on record
    assert flagged(issued + 15 * day + dt.timedelta(seconds=1)) == {decoration.id}


def test_only_works_under_way_are_patrolled(works):
    decoration, staff = works
    Decoration.update(state="accepted").where(Decoration.id == decoration.id).execute()
    with pytest.raises(RuleError) as refused:
        record_patrol(staff["engineer"], Decoration.get_by_id(decoration.id), findings="看看")
    assert "施工中" in refused.value.errors["decoration"]
