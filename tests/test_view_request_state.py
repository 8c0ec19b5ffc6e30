"""One admin view object serves every request and every thread of a worker (gunicorn's gthread
workers run 4 at once): a view that kept a request's values on itself would hand one admin's
typed password or estates to another's save. Saving through the admin leaves no view changed."""

from __future__ import annotations

from test_records import form_data

from models.users import User


def _view_state(app) -> dict:
    return {view.endpoint: dict(vars(view)) for view in app.extensions["admin"][0]._views}


def test_saving_users_leaves_no_request_values_on_the_views(app, login_as, conn, other_estate):
    admin = login_as("admin")
    data = form_data(admin, "/admin/user/new/")
    before = _view_state(app)
    data.update({"username": "wangwu", "display_name": "王五", "role": "clerk",
                 "new_password": "desk-pass-1", "estate_ids": [str(other_estate.id)]})
    assert admin.post("/admin/user/new/", data=data).status_code == 302
    user = User.get(User.username == "wangwu")
    edit = form_data(admin, f"/admin/user/edit/?id={user.id}")
    edit.update({"new_password": "desk-pass-2"})
    assert admin.post(f"/admin/user/edit/?id={user.id}", data=edit).status_code == 302
    assert User.get_by_id(user.id).check_password("desk-pass-2")
    after = _view_state(app)
    changed = {endpoint: sorted(set(after[endpoint].items()) ^ set(before[endpoint].items()),
                                key=str)
               for endpoint in before if after[endpoint] != before[endpoint]}
    assert not changed
