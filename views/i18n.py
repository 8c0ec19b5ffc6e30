"""The desk's own message catalogues (#12 item 2): Chinese in the source, English beside it.

Three gettext domains, all under translations/ (built by `make translations`, see the Makefile):

* ``messages`` — our own strings. The source language is Chinese (what the office reads), so
  the Chinese interface needs no catalogue; ``en/LC_MESSAGES/messages.po`` holds the English
  of every string, and a test fails on any left untranslated.
* ``admin`` — Flask-Admin's strings its shipped zh catalogue lacks ("Failed to create
  record.", FINDINGS). Flask-Admin reads our folder before its own (`translations_path`).
* ``wtforms`` — WTForms and wtf-peewee messages missing from WTForms' zh catalogue. Every form
  (Flask-Admin's and our action forms) translates through `FormTranslations`, which reads ours
  and then WTForms' own.

Menu names and categories are declared as plain Chinese strings (`N_` marks the ones built
here); `translate_menu` makes each one look itself up when a page is drawn, and
`extract_views` finds them for `pybabel extract`.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

from flask import Flask, session
from flask_admin.form import BaseForm
from flask_babel import Domain, LazyString, gettext
from wtforms.i18n import messages_path

from models.i18n import (  # noqa: F401 (re-exported)
    L_,
    N_,
    LazyText,
    office_language,
    office_text,
)

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
# The interface languages (the session's choice, the 中文/English switch).
LANGUAGES = ("zh_Hans_CN", "en")
DEFAULT_LANGUAGE = "zh_Hans_CN"

# WTForms' own first, then ours: a merge lets the later win, so ours fills its gaps and words
# a few of its messages the way the office says them (请从列表中选择).
_wtforms_domain = Domain([messages_path(), str(TRANSLATIONS)], domain="wtforms")


class FormTranslations:
    """WTForms' gettext/ngettext through our wtforms catalogue and WTForms' own."""

    def gettext(self, string: str) -> str:
        return _wtforms_domain.get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_domain.get_translations().ungettext(singular, plural, n)


def form_translations(_form=None) -> FormTranslations:
    """A wtforms Meta.get_translations for a plain Form (the row actions' forms)."""
    return FormTranslations()


# Passed as `meta=` when a plain wtforms Form is built, so its messages are translated too.
FORM_META = {"get_translations": form_translations}


class DeskForm(BaseForm):
    """Flask-Admin's form base with our WTForms messages (SecureModelView.form_base_class)."""

    class Meta:
        def get_translations(self, form):
            return FormTranslations()


def translate_menu(admin) -> None:
    """Make every menu name, category and page title look itself up in the catalogue."""
    admin.name = _lazy(admin.name)
    for view in admin._views:
        view.name = _lazy(view.name)
        view.category = _lazy(view.category)
    for item in admin.menu():
        item.name = _lazy(item.name)
        # Every child, not only those the current user may see (get_children filters).
        for child in getattr(item, "_children", ()):
            child.name = _lazy(child.name)


# A name looked up when drawn (models.i18n: the one lazy string of the desk).
MenuName = LazyText


def _lazy(text):
    if not text or isinstance(text, LazyString):
        return text
    return MenuName(gettext, text)


def page_language() -> str:
    """The page's `lang`: "en" under the English switch, else the office's "zh-CN"."""
    return "en" if session.get("lang") == "en" else "zh-CN"


def init_app(app: Flask) -> None:
    """After every subsystem added its pages: the menu goes through the catalogue; every page
    (admin, login, errors, prints, the phone pages, the owners' H5) says its language."""
    translate_menu(app.extensions["admin"][0])
    app.jinja_env.globals["page_language"] = page_language


# -- extraction (babel.cfg) -----------------------------------------------------------------

CJK = re.compile(r"[\u3400-\u9fff]")


def extract_views(fileobj, keywords, comment_tags, options):
    """`pybabel extract` for view modules: gettext calls, and the menu's names.

    Besides the usual calls (`_`, `N_`, …) it yields each Chinese string given as `name=` or
    `category=` to a call (a view added to the menu) and each name in an `add_views` tuple.
    """
    from babel.messages.extract import extract_python

    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        values = [kw.value for kw in node.keywords if kw.arg in ("name", "category")]
        if getattr(node.func, "id", "") == "add_views":
            values += [arg.elts[2] for arg in node.args[2:]
                       if isinstance(arg, ast.Tuple) and len(arg.elts) > 2]
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                    and CJK.search(value.value):
                yield value.lineno, None, value.value, ["menu"]
