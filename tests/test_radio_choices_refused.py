"""A radio the browser cannot post otherwise is still checked by the step (#12 item 3).

The 回访 of a rectification item and the 完成情况 of a batch unit declare their radios without
WTForms' choice check (the model checks); a hand-made post of another value, or one that leaves a
field out, used to be taken as "not satisfied / not done" with no reason — or answer 500. Now
the step refuses it next to the radio and nothing changes.
"""

from __future__ import annotations

import datetime as dt

from conftest import engineering
from test_office_batches import batch, next_weekday, register
from test_office_batches import staff as batch_staff  # noqa: F401
from test_office_common import at, field_errors, post
from test_rectification import act, registered_on_the_form, staff  # noqa: F401

from models.batches import ServiceBatch, ServiceRegistration
from models.rectification import Rectification


def done_item(login_as, estate) -> tuple[object, Rectification]:
    clerk = login_as("clerk")
    row = registered_on_the_form(clerk)
    assert act(clerk, "assign", row, responsible=str(engineering(estate).id),
               working_days="3").status_code == 302
    engineer = login_as("dept", "fixer", department="engineering")
    assert act(engineer, "complete", row, result="铲除空鼓重新批荡").status_code == 302
    return clerk, Rectification.get_by_id(row.id)


def test_a_rectification_callback_needs_a_real_answer(login_as, staff, estate):  # noqa: F811
    clerk, row = done_item(login_as, estate)
    refused = act(clerk, "callback", row, satisfied="2", channel="phone", reason="",
                  working_days="2")
    assert refused.status_code == 200 and "请选择业主是否满意" in field_errors(refused)
    # The reason left out of the post altogether: the same refusal, not a server error.
    refused = act(clerk, "callback", row, satisfied="2", channel="phone", working_days="2")
    assert refused.status_code == 200 and "请选择业主是否满意" in field_errors(refused)
    row = Rectification.get_by_id(row.id)
    assert row.state == "done" and row.satisfied is None and row.rework_count == 0
    # Not chosen at all: one message by the radio, not two.
    refused = act(clerk, "callback", row, channel="phone", working_days="2")
    assert field_errors(refused).count("请选择业主是否满意") == 1


def test_a_batch_units_result_needs_a_real_answer(login_as, batch_staff, estate):  # noqa: F811
    clerk = login_as("clerk")
    reg = register(estate, batch_staff["desk"])
    saturday = next_weekday(5, after_days=-13)
    row = batch(estate, batch_staff["desk"], day=saturday)
    row.add(batch_staff["desk"], [reg.id])
    ServiceBatch.get_by_id(row.id).record_notice(
        batch_staff["desk"], method="sms",
        at=at(saturday.year, saturday.month, saturday.day) - dt.timedelta(days=4))
    url = f"/admin/service_registration/complete/?id={reg.id}"
    when = f"{saturday:%Y-%m-%d} 11:00"
    for fields in ({"done": "2", "result": ""}, {"done": "2"}):
        version = ServiceRegistration.get_by_id(reg.id).version
        refused = post(clerk, url, {"row_version": version, "at": when, **fields})
        assert refused.status_code == 200 and "请选择结果" in field_errors(refused)
    reg = ServiceRegistration.get_by_id(reg.id)
    assert reg.state == "scheduled" and reg.batch_id == row.id and not reg.result
    done = post(clerk, url, {"row_version": reg.version, "at": when, "done": "1",
                             "result": "已更换"})
    assert done.status_code == 302
    assert ServiceRegistration.get_by_id(reg.id).state == "done"
