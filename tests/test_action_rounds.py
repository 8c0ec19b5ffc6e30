"""One round of errors on every row action's form (#12 item 3).

A row action's form (派工, 借出, 退款, 审批通过, 交办整改…) used to stop at its own checks: while
a required field was empty, a bad moment, reversed dates, negative money or a rule of the step
(a refund's date, a permit's window) were not reported until the next submit.

The cases are the views' declared row actions (`RegisterView.row_actions`), so a new action
joins by being declared. For each, on a demo row it applies to and as a demo account that may
take it, every field is tried bad on its own on the form a diligent clerk fills in (the first of
a few generic bad values the page refuses next to that field); then all of them are bad at once,
with every required field empty. That one response must show each of those messages' fields
and every required field, beside the field (no message of a field in the banner), the typed
input kept, nothing written, and no rule left unevaluated (the check the page runs on a refused
form must not fail).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import test_role_matrix
from conftest import PG_URL
from test_form_rounds import banners, field_errors
from test_office_batches import batch, next_weekday, register
from test_office_common import at, make_staff
from test_office_printing import approve, job
from test_role_matrix import (
    FILLS,
    ROLES,
    _expected,
    _form_values,
    _register_views,
    _target,
    _trace,
    _view_of,
)
from wtforms import fields as wtf_fields
from wtforms.validators import Length

import views
from models.base import RuleError, utcnow
from models.batches import ServiceBatch, ServiceRegistration
from models.printing import PrintJob
from models.users import User
from views.actions import DESK_FIELDS
from views.forms import LocalDateTimeField
from views.i18n import FORM_META

demo_site = test_role_matrix.demo_site  # the demo estate seeded once, restored after a write

# A few generic bad values per kind of field, tried in order: the first the page refuses
# beside the field (with every other field as a diligent clerk fills it) is that field's.
FUTURE, PAST = "2099-12-31 23:00", "2000-01-01 08:00"
MOMENTS = (FUTURE, PAST, "2026-13-45 25:61")
DAYS = ("1901-01-02", "2099-12-31", "2026-02-30")
NUMBERS = ("-5", "abc", "99999999999")


def _candidates(field) -> tuple[str, ...]:
    name = field.name
    if isinstance(field, LocalDateTimeField):
        return MOMENTS
    if isinstance(field, wtf_fields.DateField):
        return DAYS
    if isinstance(field, wtf_fields.BooleanField):
        return ("",)  # left unticked
    if isinstance(field, wtf_fields.SelectMultipleField):
        return ("999999",)
    if isinstance(field, (wtf_fields.SelectField, wtf_fields.RadioField)):
        return ("999999", "")
    if "phone" in name:
        return ("12345", "1380013800x")
    if any(word in name for word in ("amount", "cost", "fee", "fund", "days", "count")):
        return NUMBERS
    longest = min((v.max for v in field.validators if isinstance(v, Length) and v.max > 0),
                  default=None)
    return (("x" * (longest + 1)) if longest else "x" * 5000, "\x0b")


def _cases():
    assert views
    for cls in sorted(_register_views(), key=lambda c: c.__name__):
        for action in cls.row_actions:
            if action.target or action.form is None:
                continue
            yield pytest.param(cls, action.name, id=f"{cls.__name__}-{action.name}")


def _form_fields(app, action, row):
    form_class = action.form_class(row)
    with app.test_request_context():
        form = form_class(meta=FORM_META)
        return [field for field in form if field.name not in DESK_FIELDS
                and not isinstance(field, (wtf_fields.HiddenField, wtf_fields.FileField))]


def _post(client, url, data):
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get(url).get_data(as_text=True)).group(1)
    payload = {k: v for k, v in data.items() if v is not None}
    return client.post(url, data={**payload, "csrf_token": token})


@pytest.mark.skipif(bool(PG_URL), reason="the demo site is a seeded SQLite file restored "
                    "between cases, as test_role_matrix's; the mechanism is database-independent")
@pytest.mark.parametrize("view_class, action_name", list(_cases()))
def test_every_problem_of_an_action_form_at_once(demo_site, caplog, view_class, action_name):
    app, restore, client_for = demo_site
    view = _view_of(app, view_class)
    action = next(a for a in view.row_actions if a.name == action_name)
    row = person = None
    for role in ROLES:
        user = User.get(User.username == role)
        row = _target(view, action, user)
        if row is not None and _expected(app, view, action, user, row):
            person = role
            break
    if person is None:
        pytest.skip(f"no demo account may {action.name} a demo {view.endpoint} row now")
    client = client_for(person)
    url = f"/admin/{view.endpoint}/{action.url or action.name}/?id={row.id}"
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    diligent = _form_values(page.get_data(as_text=True))
    fill = FILLS.get((view.endpoint, action.name))
    diligent.update(fill(row) if fill else {})
    diligent["row_version"] = str(row.version)
    fields = _form_fields(app, action, row)
    required = [f.name for f in fields if f.flags.required]

    # Each field bad on its own: the first candidate refused beside it.
    bad, said = {}, {}
    for field in fields:
        if field.name in required:
            continue
        for value in _candidates(field):
            before = _trace()
            response = _post(client, url, {**diligent, field.name: value})
            if _trace() != before:
                restore()  # that value was fine: the step was taken
            if response.status_code == 302:
                continue  # taken, or asked of its approver
            assert response.status_code == 200, (url, field.name, value, response.status_code)
            alone = field_errors(response.get_data(as_text=True))
            if field.name in alone:
                bad[field.name], said[field.name] = value, alone[field.name]
                break
    if not bad and len(required) < 2:
        pytest.skip(f"{view.endpoint}.{action.name}: one thing to get wrong at most")

    # Everything wrong at once.
    before, version = _trace(), row.version
    caplog.set_level(logging.WARNING)
    everything = {**diligent, **bad, **{name: "" for name in required}}
    response = _post(client, url, everything)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, (url, response.status_code)
    assert _trace() == before and type(row).get_by_id(row.id).version == version
    errors = field_errors(html)
    missing = sorted((set(bad) | set(required)) - set(errors))
    assert not missing, (f"{view.endpoint}.{action.name}: one submit left out {missing}; "
                         f"it said {errors} and {banners(html)}")
    # A field's message stands beside it, never in the banner on top.
    assert not {m for messages in said.values() for m in messages} & set(banners(html)), (
        view.endpoint, action.name, banners(html))
    assert not [r for r in caplog.records if "rules of a refused form" in r.getMessage()]
    typed = {f.name for f in fields if isinstance(f, (wtf_fields.StringField,
                                                      wtf_fields.DateTimeField,
                                                      wtf_fields.DateField))
             and not isinstance(f, wtf_fields.TextAreaField)}
    for name, value in bad.items():
        if name in typed and value and "\x0b" not in value and len(value) < 100:
            assert f'value="{value}"' in html, (view.endpoint, action.name, name, "input lost")


# The demo has no approved print job and no unit of a noticed batch whose day has come: their
# steps gather every refusal too (the walk above covers the rest).


def test_printed_and_a_batch_units_result_gather_every_refusal(conn, estate):
    staff = make_staff(estate, ("clerk", "clerk", "cs"), ("director", "director", None))
    printed = job(estate, staff["clerk"])
    approve(printed, staff["director"])
    with pytest.raises(RuleError) as refused:
        PrintJob.get_by_id(printed.id).mark_printed(
            staff["clerk"], signed_name="", confirmed=False,
            printed_at=utcnow() + dt.timedelta(days=1))
    assert set(refused.value.errors) == {"signed_name", "confirmed", "printed_at"}

    day = next_weekday(5, after_days=-13)
    unit = register(estate, staff["clerk"])
    row = batch(estate, staff["clerk"], day=day)
    row.add(staff["clerk"], [unit.id])
    ServiceBatch.get_by_id(row.id).record_notice(
        staff["clerk"], method="sms", at=at(day.year, day.month, day.day) - dt.timedelta(days=4))
    with pytest.raises(RuleError) as refused:
        ServiceRegistration.get_by_id(unit.id).complete(
            staff["clerk"], done=False, result="", at=at(day.year, day.month, day.day)
            - dt.timedelta(days=1))
    assert set(refused.value.errors) == {"result", "at"}
