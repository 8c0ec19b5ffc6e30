"""Temporary passes, hot-work permits and goods releases (R-PASS-3, 6): validity at its
boundaries, copies kept and the window stamped, release only after the owner's confirmation,
and unique numbers when eight desks issue at once (#4)."""

from __future__ import annotations

import datetime as dt
import threading

import passes_support as support
import pytest
from conftest import PG_URL
from decoration_support import SHANGHAI
from passes_support import ID

from models.base import RuleError, db, utcnow
from models.org import Unit
from models.passes import TemporaryPass
from models.permits import GoodsLine, GoodsRelease, HotWorkPermit, parse_goods
from models.register import save_record

# The staff, a fixture pytest finds here by name (imported, a test taking it as a parameter
# would read as redefining the import).
staff = support.staff


# -- temporary passes --------------------------------------------------------------------------


def test_temporary_pass_is_valid_three_days_counting_the_issue_day(conn, estate, staff):
    monday = dt.datetime(2026, 11, 23, 21, 30, tzinfo=SHANGHAI)
    temporary = save_record(TemporaryPass(estate=estate.id, holder_name="快递员", id_number=ID,
                                          purpose="送货", issued_at=monday,
                                          valid_to=dt.date(2027, 1, 1)), staff["clerk"])
    assert temporary.number.startswith("LS-2026-")
    assert (temporary.valid_from, temporary.valid_to) == (dt.date(2026, 11, 23),
                                                          dt.date(2026, 11, 25))
    wednesday_night = dt.datetime(2026, 11, 25, 23, 59, 59, tzinfo=SHANGHAI)
    assert not TemporaryPass.expired_not_returned(wednesday_night).exists()
    assert TemporaryPass.expired_not_returned(wednesday_night + dt.timedelta(seconds=1)).exists()
    with pytest.raises(RuleError) as refused:
        save_record(TemporaryPass(estate=estate.id, holder_name="无证", purpose="探访",
                                  id_number=""), staff["clerk"])
    assert refused.value.errors["id_number"] == "此项必填"


# -- hot work -----------------------------------------------------------------------------------


def test_hot_work_permit_needs_copies_a_window_and_gets_stamped(conn, estate, staff):
    start = utcnow() + dt.timedelta(hours=1)
    values = {"estate": estate.id, "operator_name": "焊工老陈", "id_number": ID,
              "certificate_number": "T110105194912310", "location": "1-1-101 阳台",
              "work_from": start, "work_to": start - dt.timedelta(minutes=1)}
    with pytest.raises(RuleError) as refused:
        save_record(HotWorkPermit(**values), staff["clerk"])
    assert set(refused.value.errors) == {"certificate_copy_kept", "id_copy_kept", "work_to"}
    values.update(certificate_copy_kept=True, id_copy_kept=True,
                  work_to=start + dt.timedelta(hours=4))
    permit = save_record(HotWorkPermit(**values), staff["clerk"])
    assert permit.number.startswith("DH-") and permit.stamped_by_id == staff["clerk"].id
    assert not HotWorkPermit.expired_not_closed(start + dt.timedelta(hours=4)).exists()
    assert HotWorkPermit.expired_not_closed(start + dt.timedelta(hours=4, seconds=1)).exists()
    with pytest.raises(RuleError, match="完工时间不能早于动火开始时间"):
        permit.close(staff["clerk"], closed_at=utcnow())


# -- goods release ------------------------------------------------------------------------------


def test_goods_lines_are_parsed_with_line_numbers():
    assert parse_goods("沙发 1\n\n纸箱 × 5 个\n冰箱，1台\n电视机x2") == [
        ("沙发", 1, ""), ("纸箱", 5, "个"), ("冰箱", 1, "台"), ("电视机", 2, "")]
    with pytest.raises(ValueError, match="第 2 行“一些杂物”没有数量"):
        parse_goods("沙发 1\n一些杂物")
    with pytest.raises(ValueError, match="第 1 行的数量应在 1 到 9999 之间"):
        parse_goods("沙发 0")


def test_goods_leave_only_after_the_owner_confirmed(conn, estate, staff):
    unit = Unit.get(Unit.code == "1-1-101")
    slip = GoodsRelease(estate=estate.id, unit=unit.id, bearer_name="搬家公司小李",
                        id_number=ID, goods_text="")
    with pytest.raises(RuleError) as refused:
        save_record(slip, staff["clerk"])
    assert "请填写放行物品" in refused.value.errors["goods_text"]
    slip.goods_text = "沙发 1\n纸箱 12 个"
    save_record(slip, staff["clerk"])
    assert [str(line) for line in slip.lines.order_by(GoodsLine.position)] == ["沙发 1",
                                                                                "纸箱 12个"]
    with pytest.raises(RuleError, match="业主尚未确认物品内容和数量，不能放行"):
        slip.release(staff["clerk"])
    with pytest.raises(RuleError) as refused:
        slip.confirm(staff["clerk"], confirmed=True, owner_name="", method="fax")
    assert set(refused.value.errors) == {"owner_name", "method"}
    slip.confirm(staff["clerk"], confirmed=True, owner_name="业主101", method="phone")
    slip = GoodsRelease.get_by_id(slip.id)
    assert slip.state == "confirmed" and slip.confirmed_by_id == staff["clerk"].id
    slip.release(staff["clerk"])
    assert GoodsRelease.get_by_id(slip.id).state == "released"
    refused_slip = GoodsRelease(estate=estate.id, unit=unit.id, bearer_name="陌生人",
                                id_number=ID, goods_text="电脑 1")
    save_record(refused_slip, staff["clerk"])
    refused_slip.confirm(staff["clerk"], confirmed=False, owner_name="业主101", method="phone",
                         note="业主不知情")
    with pytest.raises(RuleError, match="不能放行"):
        GoodsRelease.get_by_id(refused_slip.id).release(staff["clerk"])


# -- numbers under concurrent issuing -------------------------------------------------------------


def test_numbers_stay_unique_when_desks_issue_at_once(conn, estate, staff):
    """Eight desks issue passes and slips at the same moment on the real database."""
    threads, per_thread, errors = 8, 6, []
    unit = Unit.get(Unit.code == "1-1-101").id
    barrier = threading.Barrier(threads)

    def desk(n: int) -> None:
        try:
            db.connect(reuse_if_open=True)
            barrier.wait()
            for i in range(per_thread):
                save_record(TemporaryPass(estate=estate.id, holder_name=f"访客{n}-{i}",
                                          id_number=ID, purpose="探访"), staff["clerk"])
                save_record(GoodsRelease(estate=estate.id, unit=unit, bearer_name=f"搬运{n}",
                                         id_number=ID, goods_text="纸箱 1"), staff["clerk"])
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's number
            errors.append((n, repr(exc)))
        finally:
            db.close()

    workers = [threading.Thread(target=desk, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    year = utcnow().astimezone(SHANGHAI).year
    total = threads * per_thread
    for model, prefix in ((TemporaryPass, "LS"), (GoodsRelease, "FX")):
        numbers = [row.number for row in model.select(model.number)]
        assert sorted(numbers) == [f"{prefix}-{year}-{i:05d}" for i in range(1, total + 1)]
    assert GoodsLine.select().count() == total
    assert PG_URL or db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"


