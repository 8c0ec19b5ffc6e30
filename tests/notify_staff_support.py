"""Shared fixtures and helpers of the staff-notification tests (issue #17, split by #10): a
local WeChat Work server (tests/wecom_fake.py), demands dispatched to engineering, and what the
outbox holds. The SMS provider's fake is conftest's `sms_fake`."""

from __future__ import annotations

import pytest
from conftest import engineering
from test_outbox import received
from wecom_fake import WecomFake

from jobs import wecom
from models.demands import Demand
from models.outbox import OutboxMessage


@pytest.fixture
def wx(app):
    wecom.forget_tokens()
    with WecomFake(users=("zhangsan", "lisi", "huangzong")) as fake:
        app.config.update(WECOM_APP=fake.config(), OUTBOX_BACKOFF_SECONDS=60)
        yield fake
    wecom.forget_tokens()


def engineering_head(make_user, estate):
    """The engineering department's supervisor (部门主管), told with the handler."""
    head = make_user("enghead", "dept", estate)
    head.dept_supervisor = True
    head.save()
    return head


def with_userid(user, userid: str):
    user.wecom_userid = userid
    user.save()
    return user


def messages(**where) -> list[OutboxMessage]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(query)


def dispatched(app, clerk, estate, **fields) -> Demand:
    """A demand received an hour ago and dispatched to engineering, in a request's context."""
    with app.app_context():
        demand = received(clerk, estate, **fields)
        demand.dispatch(clerk, department_id=engineering(estate).id)
    return Demand.get_by_id(demand.id)


def people_told(event: str) -> set[int]:
    return {m.user_id for m in messages(event=event, channel="inapp")}

