"""Labels declared at import time, shown in the reader's language (#12 item 2).

Field labels (`verbose_name`, `help_text`), choice labels, roles and rule names are declared once,
in Chinese, where the module is imported — before anyone's language is known. `L_("名称")` marks
such a string for the catalogue and returns a lazy string that looks itself up each time it is
shown: Chinese for the Chinese interface (the msgid itself, so that interface is unchanged), the
English of translations/en for the English switch.

What the office keeps must stay Chinese whoever triggered it: audit rows, exports, the Sheets
mirror. `office_text(value)` gives the Chinese of a lazy string (its msgid), and
`office_language()` makes every lazy string inside it Chinese (an export being written).
"""

from __future__ import annotations

from contextlib import contextmanager

from flask.globals import _cv_app
from flask_babel import LazyString, force_locale, gettext
from markupsafe import escape

from models import deadlines
from models.validators import text as validator_text

# The office's language: the source language of every string, what stored texts are in.
OFFICE_LANGUAGE = "zh_Hans_CN"


# (language, Chinese label) -> the label in that language, for the life of the process: the
# catalogues do not change while it runs (#14 throughput: a 50-row grid shows ~280 labels, and
# each lookup through Flask-Babel walked its contexts three times).
_shown: dict[tuple, str] = {}


class LazyText(LazyString):
    """A string looked up when shown; escaped like any string (LazyString passes as markup)."""

    def __str__(self):
        # The language this request (or office_language) set; none yet: the long way. The
        # app context is read once, not through `g`'s proxy twice, and the key is the locale's
        # parts: a babel Locale's own hash and == compare six attributes each (a 50-row grid
        # shows ~250 labels; #14 throughput).
        app_ctx = _cv_app.get(None)
        locale = getattr(getattr(app_ctx.g, "_flask_babel", None), "babel_locale", None) \
            if app_ctx is not None else None
        if locale is None or self._func is not gettext or self._kwargs or len(self._args) != 1:
            return super().__str__()
        key = (locale.language, locale.territory, locale.script, locale.variant, self._args[0])
        text = _shown.get(key)
        if text is None:
            text = _shown[key] = super().__str__()
        return text

    def __html__(self):
        return escape(str(self))


def N_(text: str) -> str:  # noqa: N802 (gettext's name for "mark only")
    """Mark a string for the catalogue where it is declared; it is translated where shown."""
    return text


def L_(text: str, **variables) -> LazyText:  # noqa: N802 (gettext's family of short names)
    """Mark a string declared at import time; it is translated each time it is shown (with
    `variables` put into its %(name)s places then, themselves translated if lazy)."""
    return LazyText(gettext, text, **variables)


def office_text(value):
    """A label as the office keeps it (Chinese, the msgid), whatever the reader's language."""
    if isinstance(value, LazyString):
        return value._args[0] if value._func is gettext and value._args else str(value)
    return value


@contextmanager
def office_language():
    """Every label shown inside is in the office's language (exports, the mirror)."""
    with force_locale(OFFICE_LANGUAGE):
        yield


def office_str(value) -> str:
    """`str(value)` in the office's language: a row's name or a label going into an audit row."""
    with office_language():
        return str(value)


# The validators' messages (standard-library code) through the same catalogue.
validator_text.translator = gettext
# The working-day calendar's warning too (models/deadlines.py stays Flask-free).
deadlines.translator = gettext
