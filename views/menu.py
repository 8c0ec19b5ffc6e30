"""The admin menu bar, drawn once per role, language and open page, then reused (#14 throughput).

Flask-Admin draws the menu on every page: it asks each of about 70 views whether the user may
see it and runs its Jinja loop over them, about a tenth of a grid page's CPU. What it draws
depends only on the user's role (SecureMixin.is_accessible and is_visible ask nothing else),
the language, the page that is open (its item is marked active) and where the app is mounted,
so the drawn HTML is kept per those (master.html's main_menu block).
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import get_locale
from markupsafe import Markup

from views.base import current_role

# Roles × languages × pages stay well under this; a bound all the same.
MAX_KEPT = 2048


def menu_key(admin_view) -> tuple:
    return (id(admin_view.admin), current_role(), str(get_locale()), admin_view.endpoint,
            request.script_root)


def init_app(app: Flask) -> None:
    kept: dict[tuple, Markup] = {}

    def menu_kept(key: tuple) -> Markup | None:
        return kept.get(key)

    def menu_keep(key: tuple, html: str) -> Markup:
        if len(kept) >= MAX_KEPT:
            kept.clear()
        kept[key] = markup = Markup(html)
        return markup  # not read back: another thread may have cleared the dict meanwhile

    app.jinja_env.globals.update(menu_key=menu_key, menu_kept=menu_kept, menu_keep=menu_keep)
