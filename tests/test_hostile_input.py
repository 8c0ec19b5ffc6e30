"""Hostile input never reaches the database or a 500 (#13 item 7).

Every create form of the admin (discovered from the app's Flask-Admin instance, so a new
register is covered without touching this file) is posted with values no column can hold:
integers beyond 2^63 and ±2^31, years 1 and 9999, NUL and other control characters. Each post
answers with the form again (a Chinese message next to the field) or a redirect — never a 500 —
and no stored text holds a control character.
"""

from __future__ import annotations

import re

import pytest
from peewee import CharField, TextField
from test_records import form_data

import models
from models.base import RuleError
from models.calendar import CalendarOverride
from models.org import Cluster
from models.validators import CONTROL_CHARS_RE
from views.base import SecureModelView

HUGE = str(2**63)
HOSTILE_VALUES = [HUGE, "-" + HUGE, str(2**31), str(-(2**31)), "9" * 40, "0001-01-01",
                  "9999-12-31 23:59", "a\x00b", "\x0b", "1e309", "NaN", ""]


def _list_urls(app) -> list[str]:
    admin = app.extensions["admin"][0]
    return sorted(view.url for view in admin._views if isinstance(view, SecureModelView))


def _no_control_characters_stored() -> None:
    for model in models.MODELS:
        text_fields = [f for f in model._meta.sorted_fields if isinstance(f, CharField | TextField)]
        for row in model.select(*text_fields).dicts():
            dirty = {k: v for k, v in row.items() if isinstance(v, str)
                     and CONTROL_CHARS_RE.search(v)}
            assert not dirty, (model.__name__, dirty)


@pytest.fixture
def admin_client(login_as, conn):
    return login_as("admin")


def _create_forms(app, clients) -> list[tuple[str, object]]:
    """Each grid's create form with the first client whose role may open it."""
    forms = []
    for url in _list_urls(app):
        for client in clients:
            if client.get(f"{url}/new/").status_code == 200:
                forms.append((url, client))
                break
    return forms


@pytest.fixture
def creators(login_as, admin_client):
    """Who may create what: the admin, and finance for the money registers (R-DEP-1)."""
    return [admin_client, login_as("dept", "finance", department="finance")]


def test_hostile_posts_to_every_create_form_never_answer_500(app, creators, estate):
    forms = _create_forms(app, creators)
    urls = [url for url, _client in forms]
    assert "/admin/cluster" in urls and "/admin/deposit" in urls and len(forms) >= 20
    for url, client in forms:
        base = form_data(client, f"{url}/new/")
        token = base["csrf_token"]
        fields = [name for name in base if name not in ("csrf_token", "row_version")]
        for value in HOSTILE_VALUES:
            # Every field at once (form-level bounds) ...
            data = {name: value for name in fields}
            data["csrf_token"] = token
            response = client.post(f"{url}/new/", data=data)
            assert response.status_code in (200, 302), (url, value, response.status_code)
        for name in fields:
            # ... and one field at a time, the rest as the form offers them (model level).
            for value in ("正常\x00文字", HUGE, "0001-01-01"):
                data = {**base, name: value}
                response = client.post(f"{url}/new/", data=data)
                assert response.status_code in (200, 302), (url, name, value,
                                                             response.status_code)
    _no_control_characters_stored()


def test_hostile_ids_pages_and_sorts_on_every_grid(app, admin_client, estate):
    for url in _list_urls(app):
        for query in (f"?page={HUGE}", "?page=abc", f"?page=-{HUGE}", f"?sort={2**31}",
                      "?sort=-1", f"?page_size={HUGE}", "?flt0_0=" + HUGE):
            response = admin_client.get(f"{url}/{query}")
            assert response.status_code in (200, 302, 404), (url, query, response.status_code)
        # PostgreSQL refuses NUL in any string: a search or filter holding one is refused first.
        for query in ("?search=%00", "?flt0_0=a%00b"):
            response = admin_client.get(f"{url}/{query}")
            assert response.status_code == 400, (url, query, response.status_code)
            assert "请求无效" in response.get_data(as_text=True)
        for page in ("edit", "details", "void"):
            for pk in (HUGE, "9" * 40, "-1", "abc", "%00"):
                response = admin_client.get(f"{url}/{page}/?id={pk}")
                assert response.status_code in (302, 400, 403, 404), (url, page, pk,
                                                                 response.status_code)


def test_row_version_beyond_2_63_is_a_stale_form_not_a_500(admin_client, estate):
    cluster = Cluster.get(Cluster.estate == estate)
    url = f"/admin/cluster/edit/?id={cluster.id}"
    data = form_data(admin_client, url)
    data.update({"name": "改名", "row_version": HUGE})
    page = admin_client.post(url, data=data)
    assert page.status_code == 200
    assert "已被其他人修改" in page.get_data(as_text=True)
    assert Cluster.get_by_id(cluster.id).name == "第一组团"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("sort_order", str(2**31), "数值超出范围"),
    ("sort_order", str(-(2**31)), "数值超出范围"),
    ("name", "组团\x00一", "不能包含控制字符"),
    ("name", "组团\x0b一", "不能包含控制字符"),
])
def test_a_bad_value_gets_a_chinese_message_next_to_its_field(admin_client, estate, field,
                                                              value, message):
    data = form_data(admin_client, "/admin/cluster/new/")
    data.update({"estate": str(estate.id), "name": "新组团", "sort_order": "1", field: value})
    page = admin_client.post("/admin/cluster/new/", data=data).get_data(as_text=True)
    assert re.search(rf'id="{field}".*?{message}', page, re.S), page
    assert not Cluster.select().where(Cluster.name.startswith("新组团")).exists()


def test_tab_and_newline_are_kept(admin_client, estate):
    data = form_data(admin_client, "/admin/cluster/new/")
    data.update({"estate": str(estate.id), "name": "新\t组团", "sort_order": "1"})
    assert admin_client.post("/admin/cluster/new/", data=data).status_code == 302
    assert Cluster.get(Cluster.name == "新\t组团")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_dates_outside_the_sane_range_are_refused(admin_client, day):
    data = form_data(admin_client, "/admin/calendar/new/")
    data.update({"day": day, "is_workday": "y", "note": "测试"})
    page = admin_client.post("/admin/calendar/new/", data=data)
    assert page.status_code == 200
    assert "日期应在 1900-01-01 至 2100-12-31 之间" in page.get_data(as_text=True)
    assert not CalendarOverride.select().exists()


def test_a_survey_month_is_within_two_years(admin_client, estate):
    from models.surveys import SurveyRound

    for month in ("2020-01-01", "2035-06-01"):
        data = form_data(admin_client, "/admin/survey_round/new/")
        data.update({"estate": str(estate.id), "month": month})
        page = admin_client.post("/admin/survey_round/new/", data=data)
        assert page.status_code == 200 and "日期应在" in page.get_data(as_text=True)
    assert not SurveyRound.select().exists()


def test_duplicates_get_a_message_next_to_the_field(admin_client, estate, conn):
    cases = [
        ("/admin/cluster/new/", {"estate": str(estate.id), "name": "第一组团", "sort_order": "1"},
         "name"),
        ("/admin/department/new/", {"estate": str(estate.id), "kind": "cs", "name": "又一个客服部"},
         "kind"),
        ("/admin/user/new/", {"username": "admin", "display_name": "重名", "role": "admin",
                              "new_password": "long-enough-1"}, "username"),
    ]
    for url, values, field in cases:
        data = {**form_data(admin_client, url), **values}
        data.pop("estate_ids", None)  # an admin works for every estate
        page = admin_client.post(url, data=data)
        assert page.status_code == 200, (url, page.status_code)
        assert re.search(rf'id="{field}".*?已存在', page.get_data(as_text=True), re.S), url
    data = {**form_data(admin_client, "/admin/calendar/new/"),
            "day": "2026-10-01", "is_workday": "", "note": "国庆"}
    assert admin_client.post("/admin/calendar/new/", data=data).status_code == 302
    page = admin_client.post("/admin/calendar/new/", data=data)
    assert page.status_code == 200 and "已存在" in page.get_data(as_text=True)
    assert CalendarOverride.select().count() == 1


def test_the_model_refuses_what_the_form_would(conn, estate):
    from models.register import save_record

    for values in ({"name": "x\x00"}, {"sort_order": 2**31}, {"sort_order": 2**63}):
        cluster = Cluster(estate=estate, **{"name": "模型层", "sort_order": 0, **values})
        with pytest.raises(RuleError) as caught:
            save_record(cluster, None)
        assert set(caught.value.errors) == set(values)
